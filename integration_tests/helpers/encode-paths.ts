/**
 * What took which path in a test file's runs, counted by wrapping the methods (nothing is retained):
 * units sent to worker threads, rows that arrived encoded (workers or the inline UnitEncoder), records
 * the main thread encoded one by one (the line path, BATCH files, and anything the encoders left to it).
 */
import { afterEach, beforeEach } from "vitest";
import { EncodePool } from "../../src/encode/encode-pool.js";
import { LoadEngine } from "../../src/engine/engine.js";

export interface EncodePaths {
  units: number;
  encodedRows: number;
  mainThreadRecords: number;
  /** back to 0 (within a test, between two runs); not enumerable */
  reset(): void;
}

/** Call at the top of a test file: the counts start at 0 before each test; the methods are restored after it. */
export function trackEncodePaths(): EncodePaths {
  const seen = { units: 0, encodedRows: 0, mainThreadRecords: 0 } as EncodePaths;
  // Not enumerable: tests copy and compare the counts ({ ...seen }, toEqual).
  Object.defineProperty(seen, "reset", { value: () => Object.assign(seen, { units: 0, encodedRows: 0, mainThreadRecords: 0 }), enumerable: false });
  const originals = { encode: EncodePool.prototype.encode, writeEncoded: LoadEngine.prototype.writeEncoded, write: LoadEngine.prototype.write };
  beforeEach(() => {
    seen.reset();
    EncodePool.prototype.encode = function (this: EncodePool, ...args: Parameters<EncodePool["encode"]>) {
      seen.units++;
      return originals.encode.apply(this, args);
    };
    LoadEngine.prototype.writeEncoded = function (this: LoadEngine<unknown>, ...args: Parameters<LoadEngine<unknown>["writeEncoded"]>) {
      seen.encodedRows += args[0].rows;
      return originals.writeEncoded.apply(this, args);
    };
    LoadEngine.prototype.write = function (this: LoadEngine<unknown>, ...args: Parameters<LoadEngine<unknown>["write"]>) {
      seen.mainThreadRecords++;
      return originals.write.apply(this, args);
    };
  });
  afterEach(() => {
    EncodePool.prototype.encode = originals.encode;
    LoadEngine.prototype.writeEncoded = originals.writeEncoded;
    LoadEngine.prototype.write = originals.write;
  });
  return seen;
}
