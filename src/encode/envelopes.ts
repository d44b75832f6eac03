/**
 * The record envelopes the encode workers read: where a RECORD message keeps its stream name and its
 * record object. A worker parses a line, checks the envelope here, and hands anything else (or any
 * envelope with a problem) back to its door, which owns the error text. Singer's envelope is
 * `{"type":"RECORD","stream":…,"record":{…}}` (Singer spec, "RECORD message"); Airbyte's is
 * `{"type":"RECORD","record":{"stream":…,"namespace":…,"data":{…},"emitted_at":…}}` (Airbyte protocol,
 * AirbyteRecordMessage).
 */
import { JsonNumber } from "../input/json.js";

/** Which protocol's lines a unit holds. */
export type Envelope = "singer" | "airbyte";

/**
 * Where a RECORD's numbers must keep their digits (parseMessageLine's `exactAt`): the record's values, and
 * the envelope fields metadata columns load — Singer's `version` (`_sdc_table_version`), Airbyte's
 * `emitted_at` (`_airbyte_extracted_at`, epochMsIso) and `meta` (into `_airbyte_meta`) — as the encode
 * workers' byte path reads them.
 */
export const EXACT_PATHS: Readonly<Record<Envelope, readonly (readonly string[])[]>> = {
  singer: [["record"], ["version"]],
  airbyte: [
    ["record", "data"],
    ["record", "emitted_at"],
    ["record", "meta"],
  ],
};

/** Returns a reason when `msg` is not a usable Singer RECORD, undefined when it is. */
export function singerRecordProblem(msg: Record<string, unknown>): string | undefined {
  if (typeof msg.stream !== "string" || msg.stream.length === 0) return "RECORD without a stream name";
  const r = msg.record;
  if (r === null || typeof r !== "object" || Array.isArray(r)) return "RECORD whose record is not a JSON object";
  return undefined;
}

/**
 * Returns a reason when `msg` is not a usable Airbyte RECORD, undefined when it is. Hand-written, not
 * zod: it runs once per record (the Airbyte door's RecordMessage schema says the same).
 */
export function airbyteRecordProblem(msg: Record<string, unknown>): string | undefined {
  const r = msg.record;
  if (r === null || typeof r !== "object" || Array.isArray(r)) return "RECORD whose `record` is not a JSON object";
  const rec = r as Record<string, unknown>;
  if (typeof rec.stream !== "string" || rec.stream.length === 0) return "RECORD without a stream name";
  const ns = rec.namespace;
  if (ns !== undefined && ns !== null && typeof ns !== "string") return "RECORD whose namespace is not a string";
  const d = rec.data;
  if (d === null || typeof d !== "object" || Array.isArray(d)) return `RECORD of stream ${JSON.stringify(rec.stream)} whose data is not a JSON object`;
  // A number, or its exact text (EXACT_PATHS) where a double would change its digits.
  const emittedAt = rec.emitted_at instanceof JsonNumber ? Number(rec.emitted_at.text) : rec.emitted_at;
  if (typeof emittedAt !== "number") return `RECORD of stream ${JSON.stringify(rec.stream)} without a numeric emitted_at`;
  if (!Number.isFinite(emittedAt)) {
    // JSON has no infinity, but a number past ±1.8e308 (1e400) parses as one.
    return `RECORD of stream ${JSON.stringify(rec.stream)} whose emitted_at is too large to be epoch milliseconds (past ±1.8e308)`;
  }
  return undefined;
}

/** An Airbyte stream's descriptor and the engine stream its records go to. */
export interface AirbyteRoute {
  name: string;
  namespace: string | null;
  id: string;
}

/**
 * Airbyte records → stream ids, by the door's rule: the exact descriptor; a record without namespace
 * may name a stream whose name is unique in the catalog.
 */
export class AirbyteRoutes {
  private readonly byName = new Map<string, Map<string | null, string>>();

  constructor(routes: readonly AirbyteRoute[]) {
    for (const r of routes) {
      let m = this.byName.get(r.name);
      if (!m) this.byName.set(r.name, (m = new Map()));
      m.set(r.namespace || null, r.id);
    }
  }

  find(name: string, namespace: string | null | undefined): string | undefined {
    const m = this.byName.get(name);
    if (!m) return undefined;
    const exact = m.get(namespace || null);
    if (exact !== undefined || namespace) return exact;
    if (m.size === 1) return m.values().next().value;
    return undefined;
  }
}
