import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { PartWriter } from "../../../src/stage/part-writer.js";

/** Rows of 100 bytes (with the newline) whose hex digits compress about 2:1, like real mixed data. */
function row(i: number): string {
  let x = (i + 1) * 2654435761;
  let s = `${String(i).padStart(9, "0")},`;
  while (s.length < 99) {
    x = (x ^ (x << 13) ^ (x >>> 17) ^ (x << 5)) >>> 0;
    s += x.toString(16);
  }
  return s.slice(0, 99);
}

describe("PartWriter: even parts (rule 17)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const writer = () => {
    const dir = mkdtempSync(join(tmpdir(), "pw-"));
    dirs.push(dir);
    return new PartWriter(dir, 4);
  };
  const read = (path: string) => gunzipSync(readFileSync(path)).toString();

  it("a batch within its first 1 MiB chunk is one part", async () => {
    const w = writer();
    for (let i = 0; i < 10_000; i++) await w.write(row(i)); // 1,000,000 bytes
    const parts = await w.finish();
    expect(parts.map((p) => p.rows)).toEqual([10_000]);
    expect(read(parts[0]!.path).length).toBe(1_000_000);
  });

  it("an 11 MB batch on 4 slices is 4 parts of equal size: uncompressed to within one row, compressed within ±10%", async () => {
    const w = writer();
    const n = 110_000; // 11,000,000 bytes, ~5.8 MB compressed
    for (let i = 0; i < n; i++) await w.write(row(i));
    const parts = await w.finish();
    expect(parts).toHaveLength(4);
    const texts = parts.map((p) => read(p.path));
    const sizes = texts.map((t) => t.length);
    expect(sizes.reduce((a, b) => a + b)).toBe(11_000_000);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(100);
    expect(parts.map((p) => p.rows)).toEqual(texts.map((t) => t.split("\n").length - 1));
    expect(parts.reduce((a, p) => a + p.rows, 0)).toBe(n);
    const compressed = parts.map((p) => p.bytes);
    const mean = compressed.reduce((a, b) => a + b) / 4;
    expect(mean * 4).toBeGreaterThan(4_000_000);
    for (const c of compressed) expect(Math.abs(c - mean) / mean).toBeLessThan(0.1);
    // Every row once, whole.
    const all = texts.join("").split("\n").filter(Boolean).sort();
    expect(all).toHaveLength(n);
    expect(all[0]).toBe(row(0));
    expect(all[n - 1]).toBe(row(n - 1));
  });

  it("encoded blocks from the workers spread the same way, large blocks included", async () => {
    const w = writer();
    const rowsPerBlock = [300, 25_000, 7, 40_000, 1_000, 43_693];
    let i = 0;
    for (const count of rowsPerBlock) {
      let text = "";
      for (let k = 0; k < count; k++) text += `${row(i++)}\n`;
      await w.writeBlock(Buffer.from(text), count);
    }
    const parts = await w.finish();
    expect(parts).toHaveLength(4);
    const sizes = parts.map((p) => read(p.path).length);
    expect(sizes.reduce((a, b) => a + b)).toBe(i * 100);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(100);
    expect(parts.reduce((a, p) => a + p.rows, 0)).toBe(i);
  });

  it("a block is copied: the caller may overwrite it at once (encode workers reuse their output buffers)", async () => {
    const w = writer();
    let expected = "";
    let i = 0;
    // One reused buffer, refilled for every block, as the pipeline refills a recycled unit output;
    // blocks of 2.5 MB are larger than a chunk, so they take the path that once handed the block to zlib.
    const shared = Buffer.alloc(2_500_000);
    for (let b = 0; b < 6; b++) {
      let text = "";
      for (let k = 0; k < 25_000; k++) text += `${row(i++)}\n`;
      expected += text;
      shared.write(text, 0, "latin1");
      await w.writeBlock(shared.subarray(0, text.length), 25_000);
      shared.fill(0x78); // what the next unit would write into it
    }
    const parts = await w.finish();
    // Every row staged once, as written (parts interleave pieces of blocks, so rows are compared as sets).
    const staged = parts.flatMap((p) => read(p.path).split("\n").filter(Boolean)).sort();
    const written = expected.split("\n").filter(Boolean).sort();
    expect(staged.length).toBe(written.length);
    expect(staged.filter((r, k) => r !== written[k]).slice(0, 3)).toEqual([]);
  });

  it("chunks reused across batches (spared after compression) never mix two batches' rows", async () => {
    // Several writers one after another and side by side, each with its own rows: with chunks taken back
    // too early, one batch's part would hold another's bytes.
    const batches = await Promise.all(
      [0, 1, 2].map(async (b) => {
        const out: string[] = [];
        for (let round = 0; round < 2; round++) {
          const w = writer();
          let text = "";
          for (let k = 0; k < 40_000; k++) {
            const r = `${b}${round}${row(k).slice(2)}`;
            text += `${r}\n`;
            await w.write(r);
          }
          const parts = await w.finish();
          const staged = parts.flatMap((p) => read(p.path).split("\n").filter(Boolean)).sort();
          out.push(staged.join("\n") === text.split("\n").filter(Boolean).sort().join("\n") ? "ok" : "mixed");
        }
        return out;
      }),
    );
    expect(batches.flat()).toEqual(["ok", "ok", "ok", "ok", "ok", "ok"]);
  });

  it("one slice: one part, however large", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pw-"));
    dirs.push(dir);
    const w = new PartWriter(dir, 1);
    for (let i = 0; i < 30_000; i++) await w.write(row(i));
    const parts = await w.finish();
    expect(parts.map((p) => p.rows)).toEqual([30_000]);
  });
});
