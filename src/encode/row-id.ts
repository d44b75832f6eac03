/**
 * `_airbyte_raw_id`: a UUID version 8 (RFC 9562 §5.8, "custom": the layout is ours) made of a run's
 * random prefix and the row's arrival ordinal, filled in by the load statement (rowIdSql in
 * src/redshift/sql.ts), never staged:
 *
 *   random (48) | ver 1000 | random (12) | var 10 | random (14) | ordinal (48)
 *
 * Why: staged, the id was 37 bytes of the row that gzip could barely shrink, written and compressed for
 * every row (issue 14: Airbyte's CPU per record ~7% above what it is without them). The stage already
 * carries each row's ordinal (its ledger position, unique within a run); the load statement turns it
 * into the id's last 12 hex digits.
 *
 * Uniqueness: within a run, ordinals never repeat (the engine fails a batch whose ordinal reaches 2^48
 * rather than let LPAD cut it); across runs, two runs collide only when their 74 random bits do (for a
 * billion runs, a chance of about 2.6 × 10^-5). Loads of one batch retried after a lost connection give
 * the same ids. Unlike the v7 ids of earlier versions, the ids do not sort by time.
 */
import { randomBytes } from "node:crypto";

/** Ordinals must stay below this: the id keeps 48 bits of them. */
export const ROW_ID_ORDINAL_LIMIT = 2 ** 48;

/**
 * A run's prefix: the id's first 24 characters (`xxxxxxxx-xxxx-8xxx-[89ab]xxx-`), from 74 random bits
 * (`random`: 10 bytes; a CSPRNG's by default).
 */
export function rowIdPrefix(random: Uint8Array = randomBytes(10)): string {
  if (random.length < 10) throw new Error("rowIdPrefix: needs 10 random bytes");
  const b = Buffer.from(random.subarray(0, 10));
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-`;
}

/**
 * The id the load statement makes for `ordinal` (an integer in [0, 2^48)) under `prefix`: what rowIdSql
 * computes in the warehouse (for tests). An ordinal is the record's ledger position, increasing in input
 * order; not a line number (STATE lines take none; on the encode workers it is unit × 2^21 + line).
 * Throws RangeError outside that range.
 */
export function rowId(prefix: string, ordinal: number): string {
  if (!Number.isSafeInteger(ordinal) || ordinal < 0 || ordinal >= ROW_ID_ORDINAL_LIMIT) {
    throw new RangeError(`row id ordinal ${ordinal} is outside [0, 2^48)`);
  }
  return prefix + ordinal.toString(16).padStart(12, "0");
}
