/**
 * The record envelopes the encode workers read: where a RECORD message keeps its stream name and its
 * record object. A worker parses a line, checks the envelope here, and hands anything else (or any
 * envelope with a problem) back to its door, which owns the error text. Today the workers read Singer's
 * envelope `{"type":"RECORD","stream":…,"record":{…}}` (Singer spec, "RECORD message").
 */

/** Returns a reason when `msg` is not a usable Singer RECORD, undefined when it is. */
export function singerRecordProblem(msg: Record<string, unknown>): string | undefined {
  if (typeof msg.stream !== "string" || msg.stream.length === 0) return "RECORD without a stream name";
  const r = msg.record;
  if (r === null || typeof r !== "object" || Array.isArray(r)) return "RECORD whose record is not a JSON object";
  return undefined;
}
