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

/**
 * Detaches one throwaway ArrayBuffer before any code here runs hot. Until an isolate first detaches an
 * ArrayBuffer, V8 compiles typed-array access without detach checks, guarded by one isolate-wide
 * "ArrayBufferDetaching" protector; this thread detaches buffers with every result it transfers, so the
 * first transfer threw away all code optimized during the first unit (on the Airbyte bench, 16 of the
 * scanner's and encoders' functions per worker), and each was compiled again. Measured on the 1M-record
 * bench, stage-only (`--trace-opt`, sum of compile times): Airbyte 1.85 → 1.57 s, Parquet 1.79 → 1.44 s,
 * metadata 1.40 → 1.19 s of CPU per run; Singer, whose first transfer came before most compiles, 1.15 →
 * 1.07 s.
 */
function detachOnce(): void {
  const spent = new ArrayBuffer(8);
  structuredClone(spent, { transfer: [spent] });
}
detachOnce();

port.on("message", (m: ToWorker) => {
  if (m.kind === "setup") {
    encoder.setup(m.setup);
    return;
  }
  try {
    const result = encoder.encodePacked(m.unit, m.seq, m.epoch, m.lineOffset, m.recycled, m.receivedAt);
    const o = result.output;
    port.postMessage({ id: m.id, result }, [o.bytes.buffer, o.rowEnds.buffer, o.positions.buffer, o.keys.buffer] as ArrayBuffer[]);
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) });
  }
});
