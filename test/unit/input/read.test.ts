import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fdChunks } from "../../../src/input/read.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tr-input-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function collect(chunks: AsyncIterable<Buffer | string>): Promise<string> {
  let text = "";
  // Copy each chunk before asking for the next: the reader reuses its buffer.
  for await (const c of chunks) text += typeof c === "string" ? c : c.toString("latin1");
  return text;
}

describe("fdChunks", () => {
  it("reads a file through one reused buffer, in chunks of at most its size", async () => {
    const path = join(dir, "in");
    const body = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join("");
    writeFileSync(path, body);
    const fd = openSync(path, "r");
    try {
      const seen = new Set<ArrayBufferLike>();
      let sizes = 0;
      let text = "";
      for await (const c of fdChunks(fd, () => [], 4096)) {
        const b = c as Buffer;
        expect(b.length).toBeLessThanOrEqual(4096);
        seen.add(b.buffer);
        sizes++;
        text += b.toString("latin1");
      }
      expect(text).toBe(body);
      expect(sizes).toBeGreaterThan(10);
      expect(seen.size).toBe(1);
    } finally {
      closeSync(fd);
    }
  });

  it("falls back to the stream when the descriptor is non-blocking (EAGAIN)", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, "w");
    try {
      writeSync(writer, "first\n");
      const text = await collect(fdChunks(reader, () => ["from the stream\n"]));
      // The pipe's data is read directly; the empty, still-open non-blocking pipe then answers EAGAIN.
      expect(text).toBe("first\nfrom the stream\n");
    } finally {
      closeSync(writer);
      closeSync(reader);
    }
  });
});
