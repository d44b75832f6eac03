/**
 * A deterministic Singer stream for benchmarks: N records over S streams, ~330 bytes a RECORD line,
 * 10 properties including a nested object, a STATE every 10,000 records. Same arguments, same bytes.
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

/** Writes (once, then reuses) the stream for (records, streams) and returns its path. */
export async function generate(dir: string, records: number, streams: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-${records}-${streams}.singer`);
  if (existsSync(path)) return path;
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  const rand = rng(42);
  const names = Array.from({ length: streams }, (_, s) => `bench_${s}`);
  let buf = names.map(schema).join("\n") + "\n";
  for (let i = 0; i < records; i++) {
    buf += recordLine(names[i % streams]!, Math.floor(i / streams), rand) + "\n";
    if ((i + 1) % 10_000 === 0) buf += JSON.stringify({ type: "STATE", value: { position: i + 1 } }) + "\n";
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  buf += JSON.stringify({ type: "STATE", value: { position: records, done: true } }) + "\n";
  out.end(buf);
  await once(out, "close");
  renameSync(tmp, path);
  return path;
}
