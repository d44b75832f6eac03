/**
 * The byte path (record-scanner.ts) against the object path (parseMessageLine + CsvRowEncoder): the same
 * units through a UnitEncoder with and without byte scanning give the same rows, keys, changes and lines
 * handed back, byte for byte — on hand-picked tricky lines and on thousands of generated ones mixing every
 * column type with values of every kind (right type or not), invalid JSON, escapes and odd envelopes.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type ValuePolicy } from "../../../src/encode/encode.js";
import type { ColumnSpec } from "../../../src/encode/row-encoder.js";
import { JsonNumber } from "../../../src/input/json.js";
import { RecordLineScanner } from "../../../src/encode/record-scanner.js";
import { type EncodedUnit, type EncoderSetup, type RowsEvent, type StreamEncodePlan, UnitEncoder } from "../../../src/encode/unit-encoder.js";

const COLUMNS: ColumnSpec[] = [
  { name: "id", type: { kind: "bigint" }, property: "id" },
  { name: "s", type: { kind: "varchar", length: 16 }, property: "s" },
  { name: "c", type: { kind: "char", length: 4 }, property: "c" },
  { name: "i", type: { kind: "integer" }, property: "i" },
  { name: "sm", type: { kind: "smallint" }, property: "sm" },
  { name: "d", type: { kind: "double" }, property: "d" },
  { name: "r", type: { kind: "real" }, property: "r" },
  { name: "n", type: { kind: "numeric", precision: 38, scale: 10 }, property: "n" },
  { name: "n52", type: { kind: "numeric", precision: 5, scale: 2 }, property: "n52" },
  { name: "b", type: { kind: "boolean" }, property: "b" },
  { name: "o", type: { kind: "super" }, property: "o" },
  { name: "tz", type: { kind: "timestamptz" }, property: "tz" },
  { name: "ts", type: { kind: "timestamp" }, property: "ts" },
  { name: "dt", type: { kind: "date" }, property: "dt" },
  { name: "tm", type: { kind: "time" }, property: "tm" },
  { name: "big", type: { kind: "varchar", length: 65535 }, property: "Big Name" },
];

const plan = (id: string, keyProperties: string[], columns = COLUMNS): StreamEncodePlan => ({
  id,
  columns,
  keyProperties,
  keyColumns: keyProperties.map((k) => columns.find((c) => c.property === k)!.name),
});


function encodeBoth(lines: string[], streams: StreamEncodePlan[], policy: ValuePolicy = DEFAULT_POLICY) {
  return encodeWith(lines, { streams }, policy, (c) => c);
}

/**
 * The lines as one unit through a UnitEncoder with and without the byte path; `view` maps each encoded
 * part to what is compared.
 */
function encodeWith(lines: string[], setup: Omit<EncoderSetup, "epoch" | "policy">, policy: ValuePolicy, view: (c: ReturnType<typeof comparable>) => ReturnType<typeof comparable>) {
  const unit = new Uint8Array(Buffer.from(lines.map((l) => `${l}\n`).join("")));
  let scanned = 0;
  const run = (byteScan: boolean) => {
    const e = new UnitEncoder({ byteScan });
    e.setup({ epoch: 1, policy, ...setup });
    // As the pipeline does: after a line that stops a unit, the main thread answers it and the rest of the
    // unit is encoded again, its positions continuing.
    const parts = [];
    for (let from = 0, lineOffset = 0; ; ) {
      const u = e.encode(unit.subarray(from), 3, 1, lineOffset, "2026-11-30T08:00:00.123Z");
      parts.push(view(comparable(u, setup.streams)));
      if (u.rest === undefined) break;
      from += u.rest;
      lineOffset += u.lines;
    }
    if (byteScan) scanned = e.scannedRecords;
    return parts;
  };
  return { bytePath: run(true), objectPath: run(false), scanned };
}

/**
 * The unit as plain data. Widths are kept only where they pass the column's width: the object path skips
 * measuring strings that cannot, the byte path measures every copied one (both only drive widening).
 */
function comparable(u: EncodedUnit, streams: StreamEncodePlan[]) {
  return {
    lines: u.lines,
    rest: u.rest,
    events: u.events.map((e) => {
      if (e.kind === "line") return e;
      const cols = streams.find((s) => s.id === e.stream)!.columns;
      return {
        ...e,
        bytes: Buffer.from(e.bytes).toString("utf8"),
        rowEnds: [...e.rowEnds],
        positions: [...e.positions],
        keys: e.keys ? [...e.keys] : undefined,
        widths: e.widths.map((w, i) => (w > (cols[i]!.type.length ?? 0) ? w : 0)),
        changes: [...e.changes].sort(),
      };
    }),
  };
}

/** A deterministic random source (an LCG) and a pick from a list by it: generated inputs repeat run to run. */
function seeded(seed: number) {
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  return { rand, pick };
}

const rowsText = (parts: ReturnType<typeof comparable>[]) =>
  parts
    .flatMap((u) => u.events).filter((e) => e.kind === "rows").map((e) => (e as unknown as { bytes: string }).bytes).join("");

describe("byte path = object path", () => {
  const streams = [plan("s", ["id"]), plan("multi", ["id", "s"]), plan("strkey", ["s"]), plan("nokey", [])];

  it("writes the bench's record by copying, byte for byte what the object path writes", () => {
    const line = JSON.stringify({
      type: "RECORD",
      stream: "s",
      record: { id: 7, s: "Customer 7", d: 7264.82, b: true, tz: "2024-08-29T00:19:58.518Z", ts: "2024-08-29T00:19:58Z", o: { street: "785 Main St", city: "São Paulo", zip: "b664a" } },
    });
    const { bytePath, objectPath, scanned } = encodeBoth([line], streams);
    expect(bytePath).toEqual(objectPath);
    expect(scanned).toBe(1);
    expect(rowsText(bytePath)).toBe(
      `7,"Customer 7",\\N,\\N,\\N,7264.82,\\N,\\N,\\N,true,"{""street"":""785 Main St"",""city"":""São Paulo"",""zip"":""b664a""}",2024-08-29 00:19:58.518+00,2024-08-29 00:19:58,\\N,\\N,\\N,${3 * 2 ** 21}\n`,
    );
  });

  const cases: Record<string, string[]> = {
    "numbers in every column": [
      '{"type":"RECORD","stream":"s","record":{"id":9223372036854775807,"i":2147483648,"sm":-32768,"d":100.0,"r":1.5,"n":123456789.0123456789,"n52":999.995}}',
      '{"type":"RECORD","stream":"s","record":{"id":-9223372036854775808,"i":-2147483648,"sm":32768,"d":0.0000001,"n":1.50,"n52":-0.5}}',
      '{"type":"RECORD","stream":"s","record":{"id":9223372036854775808,"d":1e5,"n":1E-7,"n52":0.000}}',
      '{"type":"RECORD","stream":"s","record":{"id":0,"d":-0,"n":-0.0,"i":-0,"s":-123456789012.10,"o":-123456789012.10}}',
      '{"type":"RECORD","stream":"s","record":{"id":1,"d":12345678901234567890,"n":99999999999999999999999999999.1234567891,"s":12345678901234567}}',
      '{"type":"RECORD","stream":"s","record":{"id":2,"d":1e400,"n":100000000000000000000000000000,"i":1.0,"sm":"12"}}',
      '{"type":"RECORD","stream":"s","record":{"id":3,"d":0.1234567890123456,"n":0.00000000001,"b":"true","o":1.50}}',
    ],
    "strings, escapes and sizes": [
      '{"type":"RECORD","stream":"s","record":{"id":1,"s":"a\\"b","c":"\\\\N","big":"x\\u0000y"}}',
      '{"type":"RECORD","stream":"s","record":{"id":2,"s":"\\\\N","c":"\\u00e9","Big Name":"é漢字😀"}}',
      `{"type":"RECORD","stream":"s","record":{"id":3,"Big Name":"${"é".repeat(40000)}"}}`,
      `{"type":"RECORD","stream":"s","record":{"id":4,"Big Name":"${"a".repeat(65536)}","s":"${"b".repeat(65535)}"}}`,
      '{"type":"RECORD","stream":"s","record":{"id":5,"s":"a,b\\nc","tz":"not a date","dt":"2024-02-30","tm":"10:30:00+02"}}',
    ],
    "date-times": [
      '{"type":"RECORD","stream":"s","record":{"id":1,"tz":"2024-02-29T23:59:59.123456Z","ts":"2023-02-29T00:00:00Z"}}',
      '{"type":"RECORD","stream":"s","record":{"id":2,"tz":"2024-01-01T00:00:00.1234567Z","ts":"2024-01-01T24:00:00Z","dt":"2024-01-01T00:00:00Z"}}',
      '{"type":"RECORD","stream":"s","record":{"id":3,"tz":"2024-01-01t00:00:00z","ts":"2024-01-01T00:00:60Z","tm":"23:59:60"}}',
      '{"type":"RECORD","stream":"s","record":{"id":4,"tz":"0000-01-01T00:00:00Z","ts":"2024-01-01T00:00:00.Z","tz2":"x"}}',
    ],
    "nested values": [
      '{"type":"RECORD","stream":"s","record":{"id":1,"o":{"a":1,"a":2}}}',
      '{"type":"RECORD","stream":"s","record":{"id":2,"o":{"b":1,"1":2}}}',
      '{"type":"RECORD","stream":"s","record":{"id":3,"o":{ "a" : [1, 2.50, {"x":null}] }}}',
      '{"type":"RECORD","stream":"s","record":{"id":4,"o":[1e2,-0,12345678901234567890,"\\u0000",true,false,null,{},[]]}}',
      '{"type":"RECORD","stream":"s","record":{"id":5,"o":{"k":"v\\"q"},"s":{"a":"b"},"b":[true]}}',
      '{"type":"RECORD","stream":"s","record":{"id":6,"o":{"__proto__":{"x":1},"y":0.000001,"z":0.0000001}}}',
      // SUPER limits read off the raw text: a string value over 65535 bytes, a document over 16 MiB, and
      // just under both (a long key does not count: only values are strings Redshift limits)
      `{"type":"RECORD","stream":"s","record":{"id":7,"o":{"a":"${"é".repeat(32768)}"}}}`,
      `{"type":"RECORD","stream":"s","record":{"id":8,"o":{"a":"${"x".repeat(65535)}","${"k".repeat(70000)}":1}}}`,
      `{"type":"RECORD","stream":"s","record":{"id":9,"o":[${Array.from({ length: 260 }, () => `"${"y".repeat(65000)}"`).join(",")}]}}`,
      `{"type":"RECORD","stream":"s","record":{"id":10,"o":[${Array.from({ length: 258 }, () => `"${"y".repeat(65000)}"`).join(",")}]}}`,
    ],
    "envelopes": [
      '{"record":{"id":1,"s":"first"},"stream":"s","type":"RECORD","time_extracted":"2024-01-01T00:00:00Z","version":3}',
      ' { "type" : "RECORD" , "stream" : "s" , "record" : { "id" : 2 , "s" : "spaced" } } ',
      '{"type":"RECORD","stream":"s","record":{"s":"no key"}}',
      '{"type":"RECORD","stream":"s","record":{"id":3},"record":{"id":4}}',
      '{"type":"RECORD","stream":"unknown","record":{"id":5}}',
      '{"type":"RECORD","stream":"","record":{"id":6}}',
      '{"type":"RECORD","stream":"\\u0073","record":{"id":7}}',
      '{"type":"RECORD","stream":"s","record":{"\\u0069d":8}}',
      '{"type":"RECORD","stream":"s","record":{"id":9,"id":10}}',
      '{"type":"STATE","value":{"n":1}}',
      '{"type":"RECORD","stream":"s","record":{"id":11}}',
      '{"type":"RECORD","stream":"s","record":[1]}',
    ],
    "invalid JSON": [
      '{"type":"RECORD","stream":"s","record":{"id":01}}',
      '{"type":"RECORD","stream":"s","record":{"id":1,"s":"tab\there"}}',
      '{"type":"RECORD","stream":"s","record":{"id":2,"s":"bad \\x escape"}}',
      '{"type":"RECORD","stream":"s","record":{"id":3}} trailing',
      '{"type":"RECORD","stream":"s","record":{"id":4,"d":NaN}}',
      '{"type":"RECORD","stream":"s","record":{"id":5,"d":1.}}',
      '{"type":"RECORD","stream":"s","record":{"id":6,"b":tru}}',
      '{"type":xRECORD","stream":"s","record":{"id":7}}',
      '{"type":"RECORD","stream":"s","record":{"id":8,}}',
      '{"type":"RECORD","stream":"s","record":{"id":9}',
    ],
    "keys of every kind": [
      '{"type":"RECORD","stream":"multi","record":{"id":1,"s":"a"}}',
      '{"type":"RECORD","stream":"multi","record":{"id":1,"s":null}}',
      '{"type":"RECORD","stream":"strkey","record":{"s":"k1","id":null}}',
      '{"type":"RECORD","stream":"strkey","record":{"s":12}}',
      '{"type":"RECORD","stream":"nokey","record":{"x":1}}',
      '{"type":"RECORD","stream":"s","record":{"id":null}}',
      '{"type":"RECORD","stream":"s","record":{"id":"abc"}}',
      '{"type":"RECORD","stream":"s","record":{"id":123456789012345678}}',
    ],
  };
  for (const [name, lines] of Object.entries(cases)) {
    it(`${name}: each line alone, and all in one unit`, () => {
      for (const line of lines) {
        const { bytePath, objectPath } = encodeBoth([line], streams);
        expect(bytePath, line).toEqual(objectPath);
      }
      const { bytePath, objectPath } = encodeBoth(lines, streams);
      expect(bytePath).toEqual(objectPath);
    });
  }

  it("under invalid_value: fail, a value that fails leaves the line to the main thread on both paths", () => {
    const lines = ['{"type":"RECORD","stream":"s","record":{"id":1,"i":1.5}}', '{"type":"RECORD","stream":"s","record":{"id":2}}'];
    const { bytePath, objectPath } = encodeBoth(lines, streams, { stringOverflow: "truncate", invalidValue: "fail" });
    expect(bytePath).toEqual(objectPath);
    expect(bytePath[0]!.events[0]).toMatchObject({ kind: "line", index: 0 });
  });

  it("a unit with bytes that are not UTF-8 stays on the object path (its bad bytes are replaced and reported)", () => {
    const bytes = Buffer.concat([Buffer.from('{"type":"RECORD","stream":"s","record":{"id":1,"s":"a'), Buffer.from([0xff]), Buffer.from('"}}\n')]);
    const run = (byteScan: boolean) => {
      const e = new UnitEncoder({ byteScan });
      e.setup({ epoch: 1, policy: DEFAULT_POLICY, streams });
      return { out: comparable(e.encode(new Uint8Array(bytes), 0, 1), streams), scanned: e.scannedRecords };
    };
    expect(run(true).out).toEqual(run(false).out);
    expect(run(true).scanned).toBe(0);
    expect((run(true).out.events[0] as unknown as { bytes: string }).bytes).toContain("a\uFFFD");
  });

  it("generated records: 3,000 lines of every value kind in every column", () => {
    const { rand, pick } = seeded(12345);
    const numbers = ["0", "-0", "-0.0", "1", "-1", "1.5", "1.50", "100.0", "0.000001", "0.0000001", "0.0000010", "1e5", "1E-7", "2.5e+3", "32767", "32768", "-32768", "-32769", "2147483647", "2147483648", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "123456789.0123456789", "999.995", "999.99", "-999.99", "0.01", "12345678901234567890123456789012345678", "-123456789012.10", "1234567890.12345", "3.141592653589793", "100000", "-100000", "21474836470", "12345678901234567890", "-92233720368547758080"];
    const strings = ['"plain"', '""', '"a\\"b"', '"\\\\N"', '"\\u0000x"', '"é漢😀"', '"2024-08-29T00:19:58.518Z"', '"2024-08-29T00:19:58Z"', '"2024-02-30T00:00:00Z"', '"2024-01-01 10:00:00+02:00"', '"10:30:00"', '"2024-01-01"', '"true"', '"12"', '"1.5"', '"abc,def"', `"${"x".repeat(20)}"`, '"\\t\\n"', '"2024-08-2xT00:19:58Z"', '"20x4-08-29T00:19:58.5Z"', '"2024-08-29T00:19:5xZ"'];
    const nested = ['{"a":1}', '{"a":{"b":[1,2,3]},"c":"d"}', "[]", "{}", '[1.50,"x"]', '{"a":1,"a":2}', '{"2":1,"a":0}', '{ "sp": 1 }', '{"n":12345678901234567890,"e":1e-3,"z":-0}', '{"q":"say \\"hi\\""}', '[null,true,false]', '{"deep":[[[{"x":[0.5]}]]]}', "[ 1]", '{ "a":1}', '{"t":-123456789012.10,"u":1234567890.12345}', '[123456789012.1,0.1000000000000]'];
    const kinds = [() => pick(numbers), () => pick(strings), () => pick(nested), () => pick(["true", "false", "null"])];
    const props = COLUMNS.map((c) => c.property);
    const lines: string[] = [];
    for (let n = 0; n < 3000; n++) {
      const fields: string[] = [];
      const stream = pick(["s", "s", "s", "multi", "strkey", "nokey"]);
      fields.push(`"id":${rand() < 0.97 ? String(n) : pick(numbers)}`);
      for (const p of props.slice(1)) {
        const r = rand();
        if (r < 0.25) continue;
        fields.push(`${JSON.stringify(p)}:${pick(kinds)()}`);
      }
      if (stream === "strkey" && !fields.some((f) => f.startsWith('"s"'))) fields.push(`"s":"k${n}"`);
      // shuffle some records' property order
      if (rand() < 0.3) fields.sort(() => rand() - 0.5);
      let line = `{"type":"RECORD","stream":"${stream}","record":{${fields.join(",")}}}`;
      if (rand() < 0.02) line = line.slice(0, Math.floor(rand() * line.length));
      if (rand() < 0.01) line = '{"type":"STATE","value":{"n":' + n + "}}";
      lines.push(line);
    }
    let scanned = 0;
    for (let k = 0; k < lines.length; k += 500) {
      const chunk = lines.slice(k, k + 500);
      const both = encodeBoth(chunk, streams);
      expect(both.bytePath).toEqual(both.objectPath);
      scanned += both.scanned;
      const fail = encodeBoth(chunk, streams, { stringOverflow: "null", invalidValue: "fail" });
      expect(fail.bytePath).toEqual(fail.objectPath);
    }
    // Most lines are whole, valid records: the byte path must have taken them, not only declined.
    expect(scanned).toBeGreaterThan(2000);
  });
});

describe("positions and ordinals", () => {
  it("ends keyed rows with the position as the ordinal, unkeyed rows without", () => {
    const streams = [plan("s", ["id"]), plan("nokey", [])];
    const { bytePath } = encodeBoth(['{"type":"RECORD","stream":"s","record":{"id":1}}', '{"type":"RECORD","stream":"nokey","record":{"id":2}}'], streams);
    const rows = bytePath[0]!.events as unknown as RowsEvent[];
    expect(rows.map((r) => (r as unknown as { bytes: string }).bytes)).toEqual([
      `1${",\\N".repeat(COLUMNS.length - 1)},${3 * 2 ** 21}\n`,
      `2${",\\N".repeat(COLUMNS.length - 1)}\n`,
    ]);
  });
});

describe("RecordLineScanner: envelopes", () => {
  const scan = (line: string, envelope: "singer" | "airbyte" = "singer") => {
    const s = new RecordLineScanner();
    const b = Buffer.from(line);
    const ok = s.scan(b, 0, b.length, envelope);
    const text = (from: number, to: number) => (from < 0 ? null : b.toString("utf8", from, to));
    const props = Array.from({ length: s.props.count }, (_, t) => text(s.props.keyStart[t]!, s.props.keyEnd[t]!));
    return { ok, s, stream: text(s.streamStart, s.streamEnd), namespace: text(s.namespaceStart, s.namespaceEnd), props, field: (n: string) => s.field(Buffer.from(n)) };
  };

  it("Singer: the stream, the record's properties and the envelope's other fields", () => {
    const r = scan('{"type":"RECORD","stream":"users","record":{"id":1,"name":"a"},"time_extracted":"2024-01-01T00:00:00Z","version":12345678901234567890}');
    expect(r).toMatchObject({ ok: true, stream: "users", namespace: null, props: ["id", "name"] });
    expect(r.field("time_extracted")).toBe("2024-01-01T00:00:00Z");
    expect(r.field("version")).toEqual(new JsonNumber("12345678901234567890"));
    expect(r.field("absent")).toBeUndefined();
  });

  it("Airbyte: stream, namespace and data from the inner record; emitted_at and meta as its fields", () => {
    const r = scan('{"type":"RECORD","record":{"namespace":"public","stream":"users","emitted_at":1700000000000,"data":{"id":1,"name":"a"},"meta":{"changes":[]}}}', "airbyte");
    expect(r).toMatchObject({ ok: true, stream: "users", namespace: "public", props: ["id", "name"] });
    expect(r.field("emitted_at")).toBe(1700000000000);
    expect(r.field("meta")).toEqual({ changes: [] });
    const plain = scan('{"type":"RECORD","record":{"stream":"users","namespace":null,"emitted_at":1,"data":{}}}', "airbyte");
    expect(plain).toMatchObject({ ok: true, stream: "users", namespace: null, props: [] });
  });

  it("declines what is not that envelope", () => {
    const declined = [
      ['{"type":"RECORD","stream":"s","record":{"id":1}}', "airbyte"],
      ['{"type":"RECORD","record":{"stream":"s","data":{"id":1}}}', "singer"],
      ['{"type":"RECORD","record":{"stream":"s"}}', "airbyte"],
      ['{"type":"RECORD","record":{"stream":"s","data":[1]}}', "airbyte"],
      ['{"type":"RECORD","record":{"stream":"s","stream":"t","data":{}}}', "airbyte"],
      ['{"type":"RECORD","record":{"stream":"s","namespace":1,"data":{}}}', "airbyte"],
      ['{"type":"STATE","record":{"stream":"s","data":{}}}', "airbyte"],
      ['{"type":"RECORD","record":{"stream":"s","data":{}},"type":"RECORD"}', "airbyte"],
      ['{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":01}}', "airbyte"],
      ['{"type":"RECORD","stream":"s","record":{},"version":}', "singer"],
    ] as const;
    for (const [line, envelope] of declined) expect(scan(line, envelope).ok, line).toBe(false);
  });
});

describe("byte path = object path: metadata columns and the Airbyte envelope", () => {
  const DATA = COLUMNS.slice(0, 12);
  const SINGER_META: ColumnSpec[] = [
    ...DATA,
    { name: "_sdc_extracted_at", type: { kind: "timestamptz" }, meta: { kind: "message", field: "time_extracted" } },
    { name: "_sdc_received_at", type: { kind: "timestamptz" }, meta: { kind: "received-at" } },
    { name: "_sdc_deleted_at", type: { kind: "timestamptz" }, meta: { kind: "record-field", field: "_sdc_deleted_at" } },
    { name: "_sdc_sequence", type: { kind: "bigint" }, meta: { kind: "sequence", field: "_sdc_sequence", runStartMs: 1_700_000_000_000 } },
    { name: "_sdc_table_version", type: { kind: "bigint" }, meta: { kind: "message", field: "version" } },
    { name: "_sdc_value_changes", type: { kind: "super" }, meta: { kind: "value-changes" } },
  ];
  const AIRBYTE_META: ColumnSpec[] = [
    ...DATA,
    // no _airbyte_raw_id: the load statement makes it (row-id.ts), no encoder writes it
    { name: "_airbyte_extracted_at", type: { kind: "timestamptz" }, meta: { kind: "message-epoch-ms", field: "emitted_at" } },
    { name: "_airbyte_generation_id", type: { kind: "bigint" }, meta: { kind: "constant", value: 3 } },
    { name: "_airbyte_meta", type: { kind: "super" }, meta: { kind: "airbyte-meta", syncId: 9 } },
  ];
  const both = (lines: string[], setup: Omit<EncoderSetup, "epoch" | "policy">, policy: ValuePolicy = DEFAULT_POLICY) =>
    encodeWith(lines, setup, policy, (c) => JSON.parse(JSON.stringify(c, (_k, v) => (v instanceof Uint32Array ? [...v] : v))));

  const { rand, pick } = seeded(777);
  const values = ["1", "-2.50", "12345678901234567890", '"text"', '"a\\"b"', '"2024-08-29T00:19:58.518Z"', '"2024-02-30T00:00:00Z"', "true", "null", '{"a":[1,2]}', "1e5", "99999"];
  const record = (n: number) => {
    const fields = [`"id":${n}`];
    for (const c of DATA.slice(1)) if (rand() < 0.6) fields.push(`${JSON.stringify(c.property)}:${pick(values)}`);
    if (rand() < 0.2) fields.push(`"_sdc_deleted_at":${pick(['"2024-01-01T00:00:00Z"', "null", '"bad"'])}`);
    if (rand() < 0.2) fields.push(`"_sdc_sequence":${pick(["5", "12345678901234567890", '"7"'])}`);
    return `{${fields.join(",")}}`;
  };

  it("Singer metadata columns (sdc), versions left to the main thread where the plan says so", () => {
    const lines: string[] = [];
    for (let n = 0; n < 1500; n++) {
      const extra = [
        rand() < 0.5 ? `,"time_extracted":${pick(['"2026-11-30T07:00:00Z"', '"2026-11-30T07:00:00.123456+02:00"', "null", "5"])}` : "",
        rand() < 0.3 ? `,"version":${pick(["1700000000000", "12345678901234567890", "12345678901234567", "1.7e12", '"x"'])}` : "",
      ].join("");
      const stream = pick(["meta", "meta", "versioned"]);
      lines.push(rand() < 0.01 ? '{"type":"STATE","value":{}}' : `{"type":"RECORD","stream":"${stream}","record":${record(n)}${extra}}`);
    }
    const streams = [
      { ...plan("meta", ["id"], SINGER_META), mainThreadFields: ["version"] },
      plan("versioned", [], SINGER_META),
    ];
    for (const policy of [DEFAULT_POLICY, { stringOverflow: "null", invalidValue: "fail" } as ValuePolicy]) {
      const { bytePath, objectPath, scanned } = both(lines, { streams }, policy);
      expect(bytePath).toEqual(objectPath);
      if (policy === DEFAULT_POLICY) expect(scanned).toBeGreaterThan(900);
    }
  });

  it("Airbyte records: routes by descriptor, emitted_at, upstream meta.changes, constant columns, the ordinal of an append stream", () => {
    const lines: string[] = [];
    for (let n = 0; n < 1500; n++) {
      const ns = pick([',"namespace":"ns"', ',"namespace":null', "", ',"namespace":"other"', ',"namespace":"zz"']);
      const name = pick(["a", "a", "b"]);
      // Milliseconds within and across seconds and minutes, before 1970, the first and last 4-digit years and past
      // them, non-integers, digits past 2^53, numbers written otherwise (all against the object path).
      const emitted = pick([
        "1700000000123",
        "1700000000123",
        String(1700000000000 + n),
        String(1700000000000 + n * 7),
        // seconds and minutes (each row's own field is patched into its minute's): across them, and before 1970
        String(1700000000000 + n * 1013),
        String(1700000059999 + (n % 3)),
        String(-61001 - n * 997),
        "0",
        "-1",
        "-999",
        "-62135596800000",
        "-62135596800001",
        "253402300799999",
        "253402300800000",
        "1700000000123.0",
        "1.7e12",
        "12345678901234567890",
        "1.5",
        // fractions of a millisecond, years past 9999 and past Date's range (±8.64e15), past Redshift's
        "-1.3",
        "1700000000000.1238",
        "253402300800000.5",
        "8640000000000001",
        "-8640000000000001",
        "9200000000000000",
        "9300000000000000",
        "1e20",
        "-1e20",
        // digits a double would change: read as sent on both paths
        "9007199254740993",
        "1700000000000.0009999999",
        "253402300799999.9999999",
        "-1e-400",
        "17e11",
        '"x"',
        "1e400",
        "",
      ]);
      const meta = rand() < 0.2 ? `,"meta":{"changes":[{"field":"i","change":"TRUNCATED","reason":"SOURCE_FIELD_SIZE_LIMITATION"${rand() < 0.5 ? ',"size":12345678901234567' : ""}}]}` : "";
      const line = `{"type":"RECORD","record":{"stream":"${name}"${ns}${emitted === "" ? "" : `,"emitted_at":${emitted}`},"data":${record(n)}${meta}}}`;
      lines.push(rand() < 0.01 ? '{"type":"STATE","state":{"type":"LEGACY","data":{}}}' : rand() < 0.01 ? '{"type":"TRACE","trace":{}}' : line);
    }
    const setup = {
      // b has no keys but stages its ordinal (its row ids are made from it)
      streams: [plan("ns.a", ["id"], AIRBYTE_META), { ...plan("b", [], AIRBYTE_META), ordinal: true }],
      envelope: "airbyte" as const,
      routes: [
        { name: "a", namespace: "ns", id: "ns.a" },
        { name: "b", namespace: null, id: "b" },
      ],
    };
    const { bytePath, objectPath, scanned } = both(lines, setup);
    expect(bytePath).toEqual(objectPath);
    expect(scanned).toBeGreaterThan(300);
  });

  it("metadata columns a table made elsewhere types as text measure every value, in every span", () => {
    // Widths drive widening: a VARCHAR column holding a generation id, the meta document or the extracted
    // time must report them for each span the rows land in, as the object path does.
    const text: ColumnSpec[] = [
      ...DATA,
      { name: "_airbyte_extracted_at", type: { kind: "varchar", length: 10 }, meta: { kind: "message-epoch-ms", field: "emitted_at" } },
      { name: "_airbyte_generation_id", type: { kind: "varchar", length: 1 }, meta: { kind: "constant", value: 12 } },
      { name: "_airbyte_meta", type: { kind: "varchar", length: 20 }, meta: { kind: "airbyte-meta", syncId: 9 } },
    ];
    const lines: string[] = [];
    for (let n = 0; n < 6; n++) {
      lines.push(`{"type":"RECORD","record":{"stream":"a","emitted_at":${1700000000000 + n},"data":{"id":${n}}}}`);
      if (n % 2 === 1) lines.push('{"type":"STATE","state":{"type":"LEGACY","data":{}}}');
    }
    const setup = { streams: [plan("a", ["id"], text)], envelope: "airbyte" as const, routes: [{ name: "a", namespace: null, id: "a" }] };
    const { bytePath, objectPath, scanned } = both(lines, setup);
    expect(bytePath).toEqual(objectPath);
    expect(scanned).toBe(6);
    const spans = bytePath.flatMap((u) => u.events).filter((e) => e.kind === "rows") as unknown as { widths: number[] }[];
    expect(spans).toHaveLength(3);
    for (const span of spans) expect(span.widths.slice(-3)).toEqual([expect.any(Number), 2, 26]);
  });

  it("a metadata value its column cannot hold under invalid_value: fail leaves the lines to the main thread (no setup failure)", () => {
    // A generation id past INTEGER, an extracted time into an INTEGER column (tables made elsewhere).
    const variants: [string, ColumnSpec["type"], ColumnSpec["meta"]?][] = [
      ["_airbyte_generation_id", { kind: "integer" }, { kind: "constant", value: 2 ** 40 }],
      ["_airbyte_extracted_at", { kind: "integer" }],
    ];
    for (const [name, type, meta] of variants) {
      const narrow = AIRBYTE_META.map((c) => (c.name === name ? { ...c, type, meta: meta ?? c.meta } : c));
      const lines = [0, 1].map((n) => `{"type":"RECORD","record":{"stream":"a","emitted_at":${1700000000000 + n},"data":{"id":${n}}}}`);
      const setup = { streams: [plan("a", ["id"], narrow)], envelope: "airbyte" as const, routes: [{ name: "a", namespace: null, id: "a" }] };
      const { bytePath, objectPath } = both(lines, setup, { stringOverflow: "null", invalidValue: "fail" });
      expect(bytePath, name).toEqual(objectPath);
      expect(bytePath[0]!.events[0], name).toMatchObject({ kind: "line", index: 0 });
    }
  });

  it("emitted_at in sequence: a second's field reused only for the same second's digits (their count too)", () => {
    // The byte path keeps the last token's second (its digits but the last three) and that second's field.
    const sequence = [
      "999", "1000", "1001", "1999", "2000", "12345", "123456", "123457", "12346", "99999999999999", "99999999999998",
      "100000000000000", "100000000000001", "1700000000123", "1700000000999", "1700000001000", "1700000000999",
      "1700000000999.5", "1700000000998", "-1700000000998", "1700000000997", "1.700000000996e12", "1700000000996",
      "1700000059999", "1700000060000", "1700000060001", "17000000600012", "1700000060002", "0", "1700000060003",
    ];
    const lines = sequence.map((e, n) => `{"type":"RECORD","record":{"stream":"a","emitted_at":${e},"data":{"id":${n}}}}`);
    const setup = { streams: [plan("a", ["id"], AIRBYTE_META)], envelope: "airbyte" as const, routes: [{ name: "a", namespace: null, id: "a" }] };
    const { bytePath, objectPath, scanned } = both(lines, setup);
    expect(bytePath).toEqual(objectPath);
    expect(scanned).toBe(sequence.length);
    // And the right time, not only the same one: each plain integer's own second and milliseconds.
    const extracted = rowsText(bytePath).trimEnd().split("\n").map((row) => row.split(",").find((f) => /^\d{4}-\d\d-\d\d \d\d:/.test(f)));
    sequence.forEach((e, n) => {
      if (/^\d+$/.test(e)) expect(extracted[n], e).toBe(new Date(Number(e)).toISOString().replace("T", " ").replace("Z", "+00"));
    });
  });
});

describe("byte path = object path: Parquet row groups", () => {
  it("rows the byte path wrote (their field ends known) and rows the object path wrote, mixed in spans, give the same row groups", () => {
    const { rand, pick } = seeded(4242);
    // Doubled quotes in text and SUPER fields (short and past 64 bytes), empty strings, NULLs, every type.
    const values: Record<string, string[]> = {
      s: ['"plain"', '""', '"a\\"b"', '"\\"\\""', '"x,y"', '"é漢"', "null", "12"],
      c: ['"ab"', '"\\""', "null"],
      i: ["1", "-7", "2147483647", "null"],
      sm: ["3", "-32768", "null"],
      d: ["1.5", "-0", "1e300", "3.141592653589793", "null"],
      r: ["1.25", "null"],
      n: ["123456789.0123456789", "-1", "0.0000000001", "null"],
      n52: ["999.99", "-0.01", "null"],
      b: ["true", "false", "null"],
      o: ['{"a":"q\\"uote"}', "[1,2]", "{}", `{"long":"${'\\"'.repeat(40)}${"z".repeat(80)}"}`, `{"long":"${"z".repeat(100)}"}`, "null"],
      tz: ['"2024-08-29T00:19:58.518Z"', '"2024-01-01 10:00:00+02:00"', '"1969-12-31T23:59:59.999999Z"', "null"],
      ts: ['"2024-08-29T00:19:58"', "null"],
      dt: ['"2024-02-29"', "null"],
      tm: ['"10:30:00"', "null"],
      "Big Name": [`"${"w".repeat(70)}"`, `"${'\\"'.repeat(70)}"`, '"short"', "null"],
    };
    const lines: string[] = [];
    for (let n = 0; n < 1200; n++) {
      const fields = [`"id":${n}`];
      for (const [p, vs] of Object.entries(values)) if (rand() < 0.8) fields.push(`${JSON.stringify(p)}:${pick(vs)}`);
      // An escaped property name sends the line to the object path (the span then mixes both kinds of rows).
      if (rand() < 0.15) fields.push('"\\u0073x":1');
      lines.push(rand() < 0.01 ? '{"type":"STATE","value":{}}' : `{"type":"RECORD","stream":"${pick(["k", "k", "u"])}","record":{${fields.join(",")}}}`);
    }
    const unit = new Uint8Array(Buffer.from(lines.map((l) => `${l}\n`).join("")));
    const run = (byteScan: boolean) => {
      const e = new UnitEncoder({ byteScan });
      e.setup({ epoch: 1, policy: DEFAULT_POLICY, streams: [plan("k", ["id"]), plan("u", [])], parquet: true });
      const groups: string[] = [];
      for (let from = 0, lineOffset = 0; ; ) {
        const u = e.encode(unit.subarray(from), 3, 1, lineOffset, "2026-11-30T08:00:00.123Z");
        for (const ev of u.events) groups.push(ev.kind === "rows" ? `${ev.stream} ${ev.rows} ${Buffer.from(ev.bytes).toString("hex")}` : `line ${ev.index}`);
        if (u.rest === undefined) break;
        from += u.rest;
        lineOffset += u.lines;
      }
      return { groups, scanned: e.scannedRecords };
    };
    const bytePath = run(true);
    const objectPath = run(false);
    expect(bytePath.groups).toEqual(objectPath.groups);
    expect(bytePath.groups.filter((g) => !g.startsWith("line")).length).toBeGreaterThan(2);
    expect(bytePath.scanned).toBeGreaterThan(700);
    expect(bytePath.scanned).toBeLessThan(1150);
  });
});
