/**
 * Encode worker threads: units go round-robin (units are of similar size), results come back as promises
 * the input pipeline awaits in order. A worker that dies fails every unit it held.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { ToWorker } from "./encode-worker.js";
import { type EncodedUnit, type EncoderSetup, type PackedUnit, type UnitBuffers, unpack } from "./unit-encoder.js";

interface Pending {
  resolve: (r: EncodedUnit) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * A worker's records die young; V8's default young generation (48 MiB per isolate) only adds resident
 * memory. Measured on the 1M-record bench with 2 workers: peak RSS 288 → ~240 MiB at 6–12 MiB, with
 * no change in wall or CPU time. 16, not 8: with ~200 KB records (bench `bigrecords`) a record's parse
 * tree outlived the scavenges of a smaller young generation and was copied and promoted: the garbage
 * collector's share of the workers' CPU was 14–17% at 8 MiB, 10.7% at 16 (22.5% before the SUPER text
 * was built flat), 7% at 32; peak RSS 249 / 257 / 309 MiB; Singer 200k records 201 → 210 MiB.
 */
const WORKER_YOUNG_GENERATION_MB = 16;

/** The worker's entry: compiled JavaScript next to this module, or (from the sources) via tsx. */
function workerScript(): { script: URL; workerData?: unknown } {
  const js = new URL("./encode-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return { script: js };
  const ts = new URL("./encode-worker.ts", import.meta.url);
  return { script: new URL("./tsx-worker.mjs", import.meta.url), workerData: { entry: pathToFileURL(fileURLToPath(ts)).href } };
}

export class EncodePool {
  private readonly slots: Slot[] = [];
  private next = 0;
  private nextId = 0;
  private failure: Error | undefined;
  /** output buffers of applied units, to be written again (see recycle) */
  private readonly spare: UnitBuffers[] = [];

  constructor(readonly size: number) {
    const { script, workerData } = workerScript();
    for (let i = 0; i < size; i++) {
      const slot: Slot = { worker: new Worker(script, { workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } }), pending: new Map() };
      const fail = (e: Error) => {
        this.failure ??= e;
        for (const p of slot.pending.values()) p.reject(e);
        slot.pending.clear();
      };
      slot.worker.on("message", (m: { id: number; result?: PackedUnit; error?: string }) => {
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        if (m.result) p.resolve(unpack(m.result));
        else p.reject(new Error(`encode worker failed: ${m.error}`));
      });
      slot.worker.on("error", (e) => fail(new Error(`encode worker failed: ${e.message}`)));
      slot.worker.on("exit", (code) => fail(new Error(`encode worker exited (code ${code})`)));
      this.slots.push(slot);
    }
  }

  /** Sets every worker up; units sent after this are encoded with it (messages arrive in order). */
  setup(setup: EncoderSetup): void {
    const m: ToWorker = { kind: "setup", setup };
    for (const s of this.slots) s.worker.postMessage(m);
  }

  /** `receivedAt`: when the unit's input was read (ISO 8601), for received-at metadata columns. */
  encode(unit: Uint8Array, seq: number, epoch: number, lineOffset: number, receivedAt = ""): Promise<EncodedUnit> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots[this.next]!;
    this.next = (this.next + 1) % this.slots.length;
    const id = ++this.nextId;
    const result = new Promise<EncodedUnit>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const recycled = this.spare.pop();
      const m: ToWorker = { kind: "unit", id, unit, seq, epoch, lineOffset, recycled, receivedAt };
      slot.worker.postMessage(
        m,
        recycled ? ([recycled.bytes.buffer, recycled.rowEnds.buffer, recycled.positions.buffer, recycled.keys.buffer] as ArrayBuffer[]) : [],
      );
    });
    // A unit whose result is no longer wanted (superseded, or the run failed) must not surface as an
    // unhandled rejection; whoever awaits it still sees the error.
    result.catch(() => undefined);
    return result;
  }

  /**
   * Takes back the buffers of a unit whose rows were all applied (nothing may keep a view of them): the
   * next unit sent is written into them. Fresh output memory per unit cost the main thread page faults
   * and old-space GCs (V8 counts external memory). Keeps at most one set per worker and a spare.
   */
  recycle(buffers: UnitBuffers | undefined): void {
    if (!buffers || this.spare.length > this.size || buffers.bytes.buffer instanceof SharedArrayBuffer) return;
    // Each must be its own buffer: one transferred twice in a message throws.
    const list = [buffers.bytes.buffer, buffers.rowEnds.buffer, buffers.positions.buffer, buffers.keys.buffer];
    if (new Set(list).size === list.length) this.spare.push(buffers);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.slots.map(async (s) => {
        s.worker.removeAllListeners("exit");
        await s.worker.terminate();
      }),
    );
  }
}
