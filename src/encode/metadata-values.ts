/**
 * Metadata column values described as data, so the encode workers can compute them: a closure cannot
 * cross to a worker thread, a MetaSource can. Each door names its columns' sources (Singer `_sdc_*`,
 * Airbyte `_airbyte_*`); `metadataValue` turns a source into the function both the main thread and the
 * workers call, so the two paths compute a value the same way.
 *
 * `receivedAt` is stamped by the input pipeline per unit and handed to the worker with it. Two sources
 * are never encoded: the load statement fills them (filledAtLoad in table-shape.ts): `row-id` and
 * `batched-at`, which is the same for every row of a batch and known only when the batch is sealed.
 */
import { type RowChanges, plainDecimal } from "./encode.js";
import type { JsonNumber } from "../input/json.js";

/** What a metadata column's value is computed from. */
export interface RowContext {
  message: Record<string, unknown>;
  record: Record<string, unknown>;
  /** the record's ledger position */
  position: number;
  receivedAt: string;
  changes: RowChanges;
}

export type MetaSource =
  /** a field of the message (Singer: the RECORD message; Airbyte: the `record` envelope) */
  | { kind: "message"; field: string }
  /** a property of the record itself (Singer's `_sdc_deleted_at`) */
  | { kind: "record-field"; field: string }
  /** the whole record (Airbyte's `_airbyte_data` for a schemaless stream) */
  | { kind: "record" }
  /** a message field holding epoch milliseconds, as an ISO 8601 UTC date-time (Airbyte's `emitted_at`) */
  | { kind: "message-epoch-ms"; field: string }
  /** the record's own `field`, else run start × 10^6 + position (see sdcSequence) */
  | { kind: "sequence"; field: string; runStartMs: number }
  /** when the input holding the record was read (ISO 8601 UTC) */
  | { kind: "received-at" }
  /** when the batch the row lands in was opened (ISO 8601 UTC): filled in by the load statement */
  | { kind: "batched-at" }
  /** the row's value changes as a list of objects, or NULL when none (Singer's `_sdc_value_changes`) */
  | { kind: "value-changes" }
  /**
   * a per-row unique id (row-id.ts) that the load statement fills from the row's ordinal: never staged,
   * so no encoder computes it (see filledAtLoad in table-shape.ts)
   */
  | { kind: "row-id" }
  | { kind: "constant"; value: string | number | boolean | null }
  /** Airbyte's `_airbyte_meta`: `{sync_id, changes}`, upstream `meta.changes` first, then this row's */
  | { kind: "airbyte-meta"; syncId: string | number | null };

/**
 * `_sdc_sequence` of a record the tap gave none: run start (epoch ms) × 10^6 + the record's position in
 * the run (the ledger's clock: consecutive on the line path; unit × 2^21 + line on the encode-worker
 * path, see LINE_SLOTS), as decimal text for a BIGINT column. Strictly increasing in input order within a
 * run, and across runs as long as a run starts after the previous one started and used fewer than 10^6
 * positions per millisecond (on the worker path: read less than ~500 MB/s). Exact: the product
 * (≈1.8 × 10^18 in 2026) is past 2^53, where Number arithmetic would round neighbouring positions to one
 * value, so it is computed in BigInt. BIGINT's 9.2 × 10^18 is reached in the year 2262.
 */
export function sdcSequence(runStartMs: number, position: number): string {
  if (runStartMs > 0 && Number.isSafeInteger(runStartMs) && position >= 0 && Number.isSafeInteger(position)) {
    // The same digits without BigInt (it cost more than the rest of the row's metadata): the high part
    // takes the millions of the position, the low six digits the rest; both stay below 2^53.
    const carry = Math.floor(position / 1_000_000);
    const high = runStartMs + carry;
    if (Number.isSafeInteger(high)) return `${high}${String(position - carry * 1_000_000).padStart(6, "0")}`;
  }
  return (BigInt(runStartMs) * 1_000_000n + BigInt(position)).toString();
}

const NO_CHANGES: readonly unknown[] = Object.freeze([]);

/**
 * Airbyte's `_airbyte_meta` document, `{sync_id, changes}` (Airbyte protocol, destinations v2: changes are
 * `{field, change, reason}` objects). `changes` is taken as it is (not copied).
 */
export function airbyteMeta(syncId: string | number | null, changes: readonly unknown[]): { sync_id: string | number | null; changes: readonly unknown[] } {
  return { sync_id: syncId, changes };
}

/**
 * Upstream `meta.changes` of an Airbyte record, or none when absent or malformed (it is informational).
 * Read-only: the record's own array, or one shared empty array (no allocation for the usual row).
 */
export function upstreamChanges(record: Record<string, unknown>): readonly unknown[] {
  const meta = record.meta;
  if (meta === null || typeof meta !== "object") return NO_CHANGES;
  const changes = (meta as Record<string, unknown>).changes;
  return Array.isArray(changes) ? changes : NO_CHANGES;
}

/** Epoch milliseconds of 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: where toISOString's year has 4 digits. */
const FOUR_DIGIT_YEARS_FIRST_MS = -62_167_219_200_000;
const FOUR_DIGIT_YEARS_LAST_MS = 253_402_300_799_999;
/** ECMAScript's time value range: ±8.64 × 10^15 ms (ECMA-262, "Time Values and Time Range"). */
const DATE_LIMIT_MS = 8_640_000_000_000_000n;
/** 400 Gregorian years: the calendar repeats after them (146,097 days). */
const GREGORIAN_CYCLE_MS = 146_097n * 86_400_000n;

/**
 * Epoch milliseconds (Airbyte's `emitted_at`: an integer in the protocol) as the exact ISO 8601 UTC text
 * the TIMESTAMPTZ encoder reads, for any finite JSON number: a number, or a JsonNumber where a double
 * would have changed the digits sent (16 or more, an exponent: see EXACT_PATHS), read as its decimal text.
 * - a fraction of a millisecond becomes more digits of the seconds (1.5 → `…00:00:00.0015Z`, below 1970
 *   taken from the floor: -1.3 → `…23:59:59.9987Z`), so the encoder keeps microseconds and records what
 *   it cuts beyond them (TRUNCATED);
 * - a year past Date's range (±8.64 × 10^15 ms, about ±275,760 years) is computed through whole
 *   400-year cycles, and years past 9999 are written without Date's `+` (the encoder's 4–6 digit years);
 *   the encoder NULLs and records a year outside Redshift's range, as for any date-time value.
 * An exponent past -400 (plainDecimal's bound) is read as a value within a microsecond of 0.
 * Anything else (not finite; 20 or more integer digits, years no column holds): its text as sent, which
 * the encoder rejects (NULL and a recorded change, or the run fails under invalid_value=fail naming it).
 * Never throws.
 */
export function epochMsIso(ms: number | JsonNumber): string {
  const sent = typeof ms === "number" ? String(ms) : ms.text;
  // A double that is no JsonNumber has at most 15 significant digits: its shortest text is what was sent.
  let decimal = typeof ms === "number" && !Number.isFinite(ms) ? undefined : plainDecimal(sent);
  if (decimal === undefined) {
    // Beyond plainDecimal's 400-digit exponents, a negative one leaves less than a microsecond either side
    // of 0: the encoder is given a digit past microseconds, so it cuts it and records TRUNCATED.
    const tiny = /^(-?)\d{1,300}(?:\.\d*)?[eE]-\d+$/.exec(sent);
    if (!tiny) return sent;
    decimal = `${tiny[1]}0.${"0".repeat(9)}1`; // not zero: a zero mantissa is plainDecimal's "0" at any exponent
  }
  const negative = decimal.startsWith("-");
  const [intDigits, fracDigits = ""] = (negative ? decimal.slice(1) : decimal).split(".");
  // 10^19 ms is 300 million years: past any year Redshift holds, so no calendar arithmetic on it.
  if (intDigits!.length > 19) return sent;
  let whole = negative ? -BigInt(intDigits!) : BigInt(intDigits!);
  let fraction = fracDigits;
  if (negative && fracDigits !== "") {
    // The floor, and the fraction above it.
    whole -= 1n;
    fraction = (10n ** BigInt(fracDigits.length) - BigInt(fracDigits)).toString().padStart(fracDigits.length, "0");
  }
  let cycles = 0n;
  if (whole < -DATE_LIMIT_MS || whole > DATE_LIMIT_MS) {
    cycles = whole / GREGORIAN_CYCLE_MS;
    whole -= cycles * GREGORIAN_CYCLE_MS;
  }
  const iso = new Date(Number(whole)).toISOString();
  const yearEnd = iso.indexOf("-", 1);
  const year = BigInt(iso.slice(0, yearEnd)) + cycles * 400n;
  const yearText = year < 0n ? `-${String(-year).padStart(6, "0")}` : String(year).padStart(4, "0");
  return `${yearText}${iso.slice(yearEnd, iso.length - 1)}${fraction}Z`;
}

/** The function computing a metadata column's value from a row's context. */
export function metadataValue(source: MetaSource): (ctx: RowContext) => unknown {
  switch (source.kind) {
    case "message": {
      const f = source.field;
      return (c) => c.message[f];
    }
    case "record-field": {
      const f = source.field;
      return (c) => c.record[f];
    }
    case "record":
      return (c) => c.record;
    case "message-epoch-ms": {
      const f = source.field;
      // Date.toISOString once per second of input time, not per record (it was the dearest metadata
      // value): the text up to the milliseconds is kept, and the milliseconds appended.
      let second = Number.NaN;
      let prefix = "";
      return (c) => {
        const ms = c.message[f] as number | JsonNumber;
        if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms < FOUR_DIGIT_YEARS_FIRST_MS || ms > FOUR_DIGIT_YEARS_LAST_MS) return epochMsIso(ms);
        const s = Math.floor(ms / 1000);
        if (s !== second) {
          const iso = new Date(s * 1000).toISOString();
          prefix = iso.slice(0, iso.length - 4);
          second = s;
        }
        return `${prefix}${String(ms - s * 1000).padStart(3, "0")}Z`;
      };
    }
    case "sequence": {
      const { field, runStartMs } = source;
      return (c) => c.record[field] ?? sdcSequence(runStartMs, c.position);
    }
    case "received-at":
      return (c) => c.receivedAt;
    case "value-changes":
      return (c) => (c.changes.list.length > 0 ? c.changes.list.map((x) => ({ ...x })) : null);
    case "row-id":
    case "batched-at":
      return () => {
        throw new Error(`a ${source.kind} column is filled in by the load statement, never encoded`);
      };
    case "constant": {
      const v = source.value;
      return () => v;
    }
    case "airbyte-meta": {
      const syncId = source.syncId;
      // Most rows change nothing: one frozen document for them, whose text the SUPER encoder keeps.
      const none = Object.freeze(airbyteMeta(syncId, NO_CHANGES));
      return (c) => {
        const upstream = upstreamChanges(c.message);
        if (upstream.length === 0 && c.changes.list.length === 0) return none;
        return airbyteMeta(syncId, [...upstream, ...c.changes.list]);
      };
    }
  }
}
