// Loaded with `node --import` into the connector's process by the bench: at exit it writes the process's
// own CPU (user + sys, every thread: main, encode workers, gzip, GC) and peak RSS as one stderr line, so
// any build of either door is measured the same way, without a change to the connector.
import { writeSync } from "node:fs";

process.on("exit", () => {
  const u = process.resourceUsage();
  writeSync(2, `BENCH_USAGE ${JSON.stringify({ cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, peakRssMiB: u.maxRSS / 1024 })}\n`);
});
