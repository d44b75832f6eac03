/**
 * The input loop both front ends share: stdin chunks → lines → the front end's line handler, in order.
 * A handler returns a promise only when it must be awaited (backpressure, a SCHEMA that alters a table),
 * so a record costs no await. A failed load stops the loop at the next chunk.
 */
import { LineSplitter } from "../protocol/lines.js";
import type { Logger } from "../load/warehouse.js";

/** An input problem: which line, which stream, what was wrong. */
export class InputError extends Error {}

export interface InputLoop {
  handleLine(line: string): Promise<void> | undefined;
  /** called when a chunk arrives, before its lines (e.g. to read the clock once per chunk) */
  onChunk?(): void;
  /** throws the first load failure, if any */
  throwIfFailed(): void;
}

export async function pumpLines(input: AsyncIterable<Buffer | string>, loop: InputLoop): Promise<LineSplitter> {
  const splitter = new LineSplitter();
  const pending: string[] = [];
  const collect = (line: string) => pending.push(line);
  const drain = async () => {
    for (let i = 0; i < pending.length; i++) {
      const wait = loop.handleLine(pending[i]!);
      if (wait) await wait;
    }
    pending.length = 0;
    loop.throwIfFailed();
  };
  for await (const chunk of input) {
    loop.onChunk?.();
    splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, collect);
    await drain();
  }
  splitter.end(collect);
  await drain();
  return splitter;
}

/** Bad bytes were decoded as U+FFFD: say so, with the first line numbers. */
export function reportInvalidUtf8(input: { invalidUtf8Count: number; invalidUtf8Lines: readonly number[] }, log: Logger): void {
  if (input.invalidUtf8Count === 0) return;
  const more = input.invalidUtf8Count > input.invalidUtf8Lines.length ? ", …" : "";
  log(
    "warn",
    `${input.invalidUtf8Count} input lines were not valid UTF-8; their bad bytes were loaded as U+FFFD (lines ${input.invalidUtf8Lines.join(", ")}${more})`,
  );
}
