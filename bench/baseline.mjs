// The baseline: a bare pass that reads the input and JSON.parses every line (what no loader can beat).
import { createReadStream } from "node:fs";

let carry = "";
let lines = 0;
for await (const chunk of createReadStream(process.argv[2], { encoding: "utf8", highWaterMark: 1 << 20 })) {
  const text = carry + chunk;
  let start = 0;
  let nl;
  while ((nl = text.indexOf("\n", start)) !== -1) {
    if (nl > start) {
      JSON.parse(text.slice(start, nl));
      lines++;
    }
    start = nl + 1;
  }
  carry = text.slice(start);
}
const u = process.resourceUsage();
process.stdout.write(JSON.stringify({ lines, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, peakRssMiB: u.maxRSS / 1024 }) + "\n");
