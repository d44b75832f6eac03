import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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

  it("a 3 MB batch on 4 slices (below 4 × 1 MiB) is one part, rows in order, and holds no compressor until finish", async () => {
    const w = writer();
    const n = 30_000; // 3,000,000 bytes: the chunk overflows into the spill file
    for (let i = 0; i < n; i++) await w.write(row(i));
    expect(w.openParts).toBe(0);
    const parts = await w.finish();
    expect(parts.map((p) => p.rows)).toEqual([n]);
    const text = read(parts[0]!.path);
    expect(text.length).toBe(3_000_000);
    expect(text.slice(0, 100)).toBe(`${row(0)}\n`);
    expect(text.slice(-100)).toBe(`${row(n - 1)}\n`);
    expect(text.split("\n")[12_345]).toBe(row(12_345));
    // The spill file is gone: only the part is left to upload.
    expect(readdirSync(join(parts[0]!.path, ".."))).toEqual(["part-0000.csv.gz"]);
  });

  it("worker blocks just over the split size, spilled until finish, are read back into 4 even parts", async () => {
    const w = writer();
    let i = 0;
    for (let b = 0; b < 42; b++) {
      let text = "";
      for (let k = 0; k < 1_000; k++) text += `${row(i++)}\n`;
      await w.writeBlock(Buffer.from(text), 1_000);
      if (i <= 41_000) expect(w.openParts).toBe(0);
    }
    const parts = await w.finish();
    expect(parts).toHaveLength(4);
    const sizes = parts.map((p) => read(p.path).length);
    expect(sizes.reduce((a, b) => a + b)).toBe(4_200_000);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(100);
    const all = parts.map((p) => read(p.path)).join("").split("\n").filter(Boolean).sort();
    expect(all).toEqual(Array.from({ length: i }, (_, k) => row(k)).sort());
  });

  it("rows longer than a read of the spill (1 MiB) come back whole", async () => {
    const w = writer();
    const long = (i: number) => `${i},${"y".repeat(1_500_000 + i)}`;
    for (let i = 0; i < 2; i++) await w.writeBlock(Buffer.from(`${long(i)}\n`), 1);
    for (let i = 0; i < 5_000; i++) await w.write(row(i));
    const parts = await w.finish();
    expect(parts.map((p) => p.rows)).toEqual([5_002]);
    const lines = read(parts[0]!.path).split("\n");
    expect(lines.slice(0, 2)).toEqual([long(0), long(1)]);
    expect(lines[5_001]).toBe(row(4_999));
  });

  /** CSV rows as COPY reads them (RFC 4180: a quoted field may hold newlines, `""` is a quote), for checking parts. */
  function csvRows(text: string): string[] {
    const rows: string[] = [];
    let start = 0;
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '"') quoted = !quoted;
      else if (text[i] === "\n" && !quoted) {
        rows.push(text.slice(start, i));
        start = i + 1;
      }
    }
    expect(quoted, "a part ends inside a quoted field").toBe(false);
    expect(start, "a part ends inside a row").toBe(text.length);
    return rows;
  }
  /** A row whose quoted fields hold line breaks (and quotes), about 1 KB. */
  const multiline = (i: number) => `${i},"line1\nline2 ""q"" ${"x".repeat(900 + (i % 50))}\r\n","a\n\nb",${i % 7 === 0 ? "\\N" : '"\n"'}`;

  for (const [name, write] of [
    ["worker blocks", async (w: PartWriter, rows: string[]) => {
      for (let b = 0; b < rows.length; b += 100) await w.writeBlock(Buffer.from(rows.slice(b, b + 100).map((r) => `${r}\n`).join("")), Math.min(100, rows.length - b));
    }],
    ["rows one by one", async (w: PartWriter, rows: string[]) => {
      for (const r of rows) await w.write(r);
    }],
  ] as const) {
    it(`rows whose quoted fields hold newlines (${name}): spilled, read back and split into 4 parts at row ends, counted right`, async () => {
      // 6,000 rows of ~1 KB: the first 4 MiB spilled chunk by chunk, then split (the spill read back first).
      const rows = Array.from({ length: 6_000 }, (_, i) => multiline(i));
      const w = writer();
      await write(w, rows);
      const parts = await w.finish();
      expect(parts).toHaveLength(4);
      const staged = parts.map((p) => csvRows(read(p.path)));
      expect(parts.map((p) => p.rows)).toEqual(staged.map((r) => r.length));
      expect(staged.flat().sort()).toEqual([...rows].sort());
    });
  }

  it("a quoted row longer than a read of the spill comes back whole", async () => {
    const w = writer();
    const long = (i: number) => `${i},"${"y\n".repeat(800_000 + i)}"`;
    for (let i = 0; i < 2; i++) await w.writeBlock(Buffer.from(`${long(i)}\n`), 1);
    for (let i = 0; i < 3_000; i++) await w.write(multiline(i));
    const parts = await w.finish();
    expect(parts.reduce((n, p) => n + p.rows, 0)).toBe(3_002);
    const staged = parts.flatMap((p) => csvRows(read(p.path)));
    expect(staged.filter((r) => r.length > 1_000_000).sort()).toEqual([long(0), long(1)]);
    expect(staged).toHaveLength(3_002);
  });

  it("discarding a batch that spilled removes its directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pw-"));
    dirs.push(dir);
    const w = new PartWriter(join(dir, "batch"), 4);
    for (let i = 0; i < 20_000; i++) await w.write(row(i));
    await w.discard();
    expect(existsSync(join(dir, "batch"))).toBe(false);
  });
});
