/**
 * Deterministic inputs for benchmarks. Same arguments, same bytes.
 * - `standard`: a Singer stream of N records over S streams, ~330 bytes a RECORD line, 10 properties
 *   including a nested object, a STATE every 10,000 records.
 * - `numeric`: the same shape with a 19-digit integer key, a decimal of 19 significant digits (for a
 *   NUMERIC(38,10) column), a 20-digit counter and a big integer inside the nested object: every line
 *   takes the exact-number parse.
 * - `wide`: 200 properties a record (~2.6 KB lines).
 * - `bigrecords`: ~1 MB a record (a long text, an array of 2,000 objects).
 * - `hugerecord`: records of ~60 MB each (the `bigrecords` shape with 800,000 objects): a single record's
 *   peak memory cost (issue 14 item 3). The array is over SUPER's 16 MB, so it lands NULL (and says so).
 * - `airbyte`: the standard records as Airbyte RECORD messages, with its configured catalog beside it.
 * - `sequential`: the standard records, each stream's in one run after the other (as most taps emit
 *   streams) instead of taking turns record by record.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";

function schema(stream: string): string {
  return JSON.stringify({
    type: "SCHEMA",
    stream,
    key_properties: ["id"],
    schema: {
      type: "object",
      properties: {
        id: { type: "integer" },
        uuid: { type: "string" },
        name: { type: "string" },
        email: { type: ["null", "string"] },
        amount: { type: "number" },
        active: { type: "boolean" },
        created_at: { type: "string", format: "date-time" },
        country: { type: "string" },
        score: { type: "integer" },
        address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" }, zip: { type: "string" } } },
      },
    },
  });
}

const CITIES = ["Berlin", "København", "São Paulo", "Zürich", "Springfield", "東京", "Lagos", "Montréal"];
const COUNTRIES = ["DE", "DK", "BR", "CH", "US", "JP", "NG", "CA"];

/** xorshift32: fast and reproducible */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export function recordLine(stream: string, i: number, rand: () => number): string {
  const hex = (n: number) => Math.floor(rand() * 16 ** n).toString(16).padStart(n, "0");
  const city = Math.floor(rand() * CITIES.length);
  const ts = new Date(Date.UTC(2024, 0, 1) + Math.floor(rand() * 31_536_000_000)).toISOString();
  return JSON.stringify({
    type: "RECORD",
    stream,
    record: {
      id: i,
      uuid: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
      name: `Customer ${String(i).padStart(8, "0")}`,
      email: rand() < 0.1 ? null : `user${i}@example.com`,
      amount: Math.round(rand() * 1_000_000) / 100,
      active: rand() < 0.5,
      created_at: ts,
      country: COUNTRIES[city],
      score: Math.floor(rand() * 1000),
      address: { street: `${Math.floor(rand() * 999)} Main St`, city: CITIES[city], zip: hex(5) },
    },
  });
}

export type Shape = "standard" | "numeric" | "wide" | "bigrecords" | "hugerecord" | "airbyte" | "sequential";

function numericSchema(stream: string): string {
  const s = JSON.parse(schema(stream)) as { schema: { properties: Record<string, unknown> } };
  s.schema.properties.counter = { type: "integer" };
  return JSON.stringify(s);
}

/** A record line of the numeric shape (written by hand: JSON.stringify cannot write these numbers). */
function numericLine(stream: string, i: number, rand: () => number): string {
  const base = JSON.parse(recordLine(stream, i, rand)) as { record: Record<string, unknown> };
  const r = base.record;
  const frac = String(Math.floor(rand() * 1e10)).padStart(10, "0");
  const id = `${9_000_000_000 + i}${String(i % 1e9).padStart(9, "0")}`; // 19 digits, within BIGINT
  const address = JSON.stringify(r.address).replace(/}$/, `,"geo":${1234567890123 + i}${String(i).padStart(7, "0")}}`);
  delete r.address;
  const rest = JSON.stringify({ ...r, id: undefined, amount: undefined }).slice(1, -1);
  return `{"type":"RECORD","stream":"${stream}","record":{"id":${id},"amount":${Math.floor(rand() * 1e9)}.${frac},"counter":7${String(i).padStart(18, "0")},${rest},"address":${address}}}`;
}

const WIDE = 200;
function wideSchema(stream: string): string {
  const properties: Record<string, unknown> = { id: { type: "integer" } };
  for (let c = 1; c < WIDE; c++) properties[`c${c}`] = c % 4 === 0 ? { type: ["null", "integer"] } : c % 4 === 1 ? { type: ["null", "number"] } : { type: ["null", "string"] };
  return JSON.stringify({ type: "SCHEMA", stream, key_properties: ["id"], schema: { type: "object", properties } });
}
function wideLine(stream: string, i: number, rand: () => number): string {
  const record: Record<string, unknown> = { id: i };
  for (let c = 1; c < WIDE; c++) record[`c${c}`] = c % 4 === 0 ? Math.floor(rand() * 1e6) : c % 4 === 1 ? Math.round(rand() * 1e6) / 100 : `v${Math.floor(rand() * 1e6)}`;
  return JSON.stringify({ type: "RECORD", stream, record });
}

function bigSchema(stream: string): string {
  return JSON.stringify({
    type: "SCHEMA",
    stream,
    key_properties: ["id"],
    schema: { type: "object", properties: { id: { type: "integer" }, body: { type: "string" }, items: { type: "array" } } },
  });
}
function bigLine(stream: string, i: number, rand: () => number, length = 2000): string {
  const items = Array.from({ length }, (_, k) => ({ k, name: `item ${k} ${Math.floor(rand() * 1e9)}`, price: Math.round(rand() * 1e6) / 100, tags: ["a", "b"] }));
  return JSON.stringify({ type: "RECORD", stream, record: { id: i, body: "x".repeat(60_000), items } });
}

function hugeLine(stream: string, i: number, rand: () => number): string {
  return bigLine(stream, i, rand, 800_000);
}

/** The configured catalog an `airbyte` input is written for (append_dedup on id, cursor created_at). */
export function airbyteCatalog(streams: number): unknown {
  const json = (JSON.parse(schema("bench_0")) as { schema: unknown }).schema;
  return {
    streams: Array.from({ length: streams }, (_, s) => ({
      stream: { name: `bench_${s}`, json_schema: json, supported_sync_modes: ["full_refresh", "incremental"] },
      sync_mode: "incremental",
      destination_sync_mode: "append_dedup",
      primary_key: [["id"]],
      cursor_field: ["created_at"],
      generation_id: 0,
      minimum_generation_id: 0,
      sync_id: 0,
    })),
  };
}

/** Writes (once, then reuses) the input for (shape, records, streams) and returns its path. */
export async function generate(dir: string, records: number, streams: number, shape: Shape = "standard"): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, shape === "standard" ? `bench-${records}-${streams}.singer` : `bench-${shape}-${records}-${streams}.jsonl`);
  if (existsSync(path)) return path;
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  const rand = rng(42);
  const names = Array.from({ length: streams }, (_, s) => `bench_${s}`);
  const head = { standard: schema, numeric: numericSchema, wide: wideSchema, bigrecords: bigSchema, hugerecord: bigSchema, airbyte: undefined, sequential: schema }[shape];
  const line = { standard: recordLine, numeric: numericLine, wide: wideLine, bigrecords: bigLine, hugerecord: hugeLine, airbyte: recordLine, sequential: recordLine }[shape];
  const perStream = Math.ceil(records / streams);
  let buf = head ? names.map(head).join("\n") + "\n" : "";
  const emittedAt = Date.UTC(2024, 0, 1);
  for (let i = 0; i < records; i++) {
    const l = shape === "sequential" ? line(names[Math.floor(i / perStream)]!, i % perStream, rand) : line(names[i % streams]!, Math.floor(i / streams), rand);
    if (shape === "airbyte") {
      const m = JSON.parse(l) as { stream: string; record: unknown };
      buf += JSON.stringify({ type: "RECORD", record: { stream: m.stream, emitted_at: emittedAt + i, data: m.record } }) + "\n";
    } else buf += l + "\n";
    if ((i + 1) % 10_000 === 0) {
      const state = shape === "airbyte" ? { type: "STATE", state: { type: "GLOBAL", global: { shared_state: { position: i + 1 } } } } : { type: "STATE", value: { position: i + 1 } };
      buf += JSON.stringify(state) + "\n";
    }
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  buf += (shape === "airbyte" ? JSON.stringify({ type: "STATE", state: { type: "GLOBAL", global: { shared_state: { position: records, done: true } } } }) : JSON.stringify({ type: "STATE", value: { position: records, done: true } })) + "\n";
  out.end(buf);
  await once(out, "close");
  renameSync(tmp, path);
  return path;
}
