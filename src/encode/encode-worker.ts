/**
 * Entry of an encode worker thread: set up with the streams' column plans, then turns units of input
 * lines into CSV rows (see UnitEncoder). Results hand their buffers over instead of copying them.
 */
import { parentPort } from "node:worker_threads";
import { type EncoderSetup, type UnitBuffers, UnitEncoder } from "./unit-encoder.js";

/**
 * `recycled`: output buffers of a unit the main thread has applied, handed back to be written again.
 * `receivedAt`: when the unit's input was read (ISO 8601), for received-at metadata columns.
 */
export type ToWorker =
  | { kind: "setup"; setup: EncoderSetup }
  | { kind: "unit"; id: number; unit: Uint8Array; seq: number; epoch: number; lineOffset: number; recycled?: UnitBuffers; receivedAt: string };

const port = parentPort!;
const encoder = new UnitEncoder();

port.on("message", (m: ToWorker) => {
  if (m.kind === "setup") {
    encoder.setup(m.setup);
    return;
  }
  try {
    const result = encoder.encodePacked(m.unit, m.seq, m.epoch, m.lineOffset, m.recycled, m.receivedAt);
    const o = result.output;
    port.postMessage({ id: m.id, result }, [o.bytes.buffer, o.rowEnds.buffer, o.positions.buffer, o.keys.buffer, o.marks.buffer] as ArrayBuffer[]);
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) });
  }
});
