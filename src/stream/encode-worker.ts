/**
 * Entry of an encode worker thread: set up with the streams' column plans, then turns units of input
 * lines into CSV rows (see UnitEncoder). Results hand their buffers over instead of copying them.
 */
import { parentPort } from "node:worker_threads";
import { type EncoderSetup, UnitEncoder } from "./unit-encoder.js";

export type ToWorker = { kind: "setup"; setup: EncoderSetup } | { kind: "unit"; id: number; unit: Uint8Array; seq: number; epoch: number };

const port = parentPort!;
const encoder = new UnitEncoder();

port.on("message", (m: ToWorker) => {
  if (m.kind === "setup") {
    encoder.setup(m.setup);
    return;
  }
  try {
    const result = encoder.encode(m.unit, m.seq, m.epoch);
    const transfer: ArrayBuffer[] = [];
    for (const e of result.events) {
      if (e.kind !== "rows") continue;
      transfer.push(e.bytes.buffer as ArrayBuffer, e.rowEnds.buffer as ArrayBuffer, e.positions.buffer as ArrayBuffer);
      if (e.keys instanceof Float64Array) transfer.push(e.keys.buffer as ArrayBuffer);
    }
    port.postMessage({ id: m.id, result }, transfer);
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) });
  }
});
