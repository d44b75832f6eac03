// Line splitting alone: node:readline against the connector's LineSplitter, on the same file.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { LineSplitter } from "../dist/src/input/lines.js";

const file = process.argv[2];
async function time(name, fn) {
  const t = process.hrtime.bigint();
  const n = await fn();
  console.log(JSON.stringify({ splitter: name, lines: n, seconds: Number(process.hrtime.bigint() - t) / 1e9 }));
}
await time("readline", async () => {
  let n = 0;
  for await (const _ of createInterface({ input: createReadStream(file, { highWaterMark: 1 << 16 }), crlfDelay: Infinity })) n++;
  return n;
});
await time("LineSplitter", async () => {
  let n = 0;
  const s = new LineSplitter();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16 })) s.push(chunk, () => n++);
  s.end(() => n++);
  return n;
});
