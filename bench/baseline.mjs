// The baseline: a bare pass that reads the input and JSON.parses every line (what no loader can beat).
// Reads with readSync into one reused buffer, the cheapest way Node has, so the baseline is not slowed
// by stream allocations the connector avoids.
import { openSync, readSync } from "node:fs";

const fd = openSync(process.argv[2], "r");
const buf = Buffer.allocUnsafe(1 << 20);
let carry = "";
let lines = 0;
let n;
while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) {
  const text = carry + buf.toString("utf8", 0, n);
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
if (carry.trim()) {
  JSON.parse(carry);
  lines++;
}
const u = process.resourceUsage();
process.stdout.write(JSON.stringify({ lines, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, peakRssMiB: u.maxRSS / 1024 }) + "\n");
