/**
 * UnitEncoder (the pure half of the encode workers): which lines become rows and which come back to the
 * main thread, in what order, with which positions, and byte for byte the rows the main thread's
 * CsvRowEncoder writes.
 */
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_POLICY, RowChanges, type ValuePolicy } from "../../../src/encode/encode.js";
import { type ColumnSpec, CsvRowEncoder } from "../../../src/encode/row-encoder.js";
import { columnPlan } from "../../../src/encode/table-shape.js";
import { sdcSequence } from "../../../src/encode/metadata-values.js";
import { EncodePool } from "../../../src/encode/encode-pool.js";
import { type EncodedUnit, LINE_SLOTS, type LineEvent, type RowsEvent, type StreamEncodePlan, UnitEncoder, unpack } from "../../../src/encode/unit-encoder.js";

const COLUMNS: ColumnSpec[] = [
  { name: "id", type: { kind: "integer" }, property: "id" },
  { name: "name", type: { kind: "varchar", length: 256 }, property: "name" },
  { name: "x", type: { kind: "double" }, property: "x" },
  { name: "obj", type: { kind: "super" }, property: "obj" },
  { name: "at", type: { kind: "timestamptz" }, property: "at" },
];

function plan(id: string, keyProperties: string[] = ["id"], columns: ColumnSpec[] = COLUMNS): StreamEncodePlan {
  return { id, columns, keyProperties, keyColumns: keyProperties };
}

function encoder(streams: StreamEncodePlan[], policy: ValuePolicy = DEFAULT_POLICY, epoch = 1): UnitEncoder {
  const e = new UnitEncoder();
  e.setup({ epoch, policy, streams });
  return e;
}

const rec = (stream: string, record: Record<string, unknown>) => JSON.stringify({ type: "RECORD", stream, record });
const stateLine = (value: unknown) => JSON.stringify({ type: "STATE", value });
const unit = (...lines: string[]) => new Uint8Array(Buffer.from(lines.map((l) => `${l}\n`).join("")));

/** What the main thread writes for these records (CsvRowEncoder, then `,position` for keyed streams). */
function mainThreadRows(p: StreamEncodePlan, records: Record<string, unknown>[], positions: number[], policy = DEFAULT_POLICY) {
  const enc = new CsvRowEncoder(
    p.columns.map((c) => columnPlan(c.name, c.type, policy, c.property)),
    p.keyColumns,
  );
  const changes = new RowChanges();
  const keys: unknown[] = [];
  let text = "";
  records.forEach((r, i) => {
    changes.reset();
    const row = enc.encode(r, changes);
    text += p.keyColumns.length > 0 ? `${row},${positions[i]}\n` : `${row}\n`;
    keys.push(enc.key);
  });
  return { text, keys };
}

const rowsOf = (u: EncodedUnit) => u.events.filter((e): e is RowsEvent => e.kind === "rows");
const linesOf = (u: EncodedUnit) => u.events.filter((e): e is LineEvent => e.kind === "line");
const text = (e: RowsEvent) => Buffer.from(e.bytes).toString("utf8");
/** Each row's bytes as cut by rowEnds. */
function split(e: RowsEvent): string[] {
  const out: string[] = [];
  let start = 0;
  for (const end of e.rowEnds) {
    out.push(Buffer.from(e.bytes.subarray(start, end)).toString("utf8"));
    start = end;
  }
  return out;
}
/** Byte offset just past line `i` (0-based) of the unit's text. */
const endOfLine = (u: Uint8Array, i: number) => {
  let at = -1;
  for (let n = 0; n <= i; n++) at = Buffer.from(u).indexOf(10, at + 1);
  return at + 1;
};

describe("UnitEncoder: rows and lines", () => {
  it("RECORD, RECORD, STATE, RECORD → rows(2), line, rows(1), with positions seq × LINE_SLOTS + index", () => {
    const e = encoder([plan("t")]);
    const u = unit(rec("t", { id: 1 }), rec("t", { id: 2 }), stateLine({ n: 2 }), rec("t", { id: 3 }));
    const r = e.encode(u, 3, 1);
    expect(r.seq).toBe(3);
    expect(r.epoch).toBe(1);
    expect(r.lines).toBe(4);
    expect(r.invalidUtf8).toEqual([]);
    expect(r.events.map((x) => x.kind)).toEqual(["rows", "line", "rows"]);
    const [a, line, b] = r.events as [RowsEvent, LineEvent, RowsEvent];
    const base = 3 * LINE_SLOTS;
    expect(a.stream).toBe("t");
    expect(a.rows).toBe(2);
    expect([...a.positions]).toEqual([base, base + 1]);
    expect(line).toEqual({ kind: "line", index: 2, text: stateLine({ n: 2 }), end: endOfLine(u, 2) });
    expect(b.rows).toBe(1);
    expect([...b.positions]).toEqual([base + 3]);
    expect(text(a)).toBe(`1,\\N,\\N,\\N,\\N,${base}\n2,\\N,\\N,\\N,\\N,${base + 1}\n`);
    expect(text(b)).toBe(`3,\\N,\\N,\\N,\\N,${base + 3}\n`);
    expect(LINE_SLOTS).toBe(2 ** 21);
  });

  it("exact CSV: integer key, quote and comma, NULL, nested object as SUPER JSON, date-time; trailing ordinal", () => {
    const p = plan("t");
    const e = encoder([p]);
    const records = [
      { id: 7, name: 'say "hi", ok', x: 1.5, obj: { a: [1, "two"], b: { c: null } }, at: "2024-01-02T03:04:05Z" },
      { id: 8, name: null, x: null, obj: null, at: "2024-01-02T03:04:05.123456+02:00" },
      { id: 9, name: "", at: "2024-06-30" },
    ];
    const r = e.encode(unit(...records.map((x) => rec("t", x))), 0, 1);
    expect(r.events).toHaveLength(1);
    const ev = r.events[0] as RowsEvent;
    expect(text(ev)).toBe(
      '7,"say ""hi"", ok",1.5,"{""a"":[1,""two""],""b"":{""c"":null}}",2024-01-02 03:04:05+00,0\n' +
        "8,\\N,\\N,\\N,2024-01-02 01:04:05.123456+00,1\n" +
        '9,"",\\N,\\N,2024-06-30 00:00:00+00,2\n',
    );
    expect(text(ev)).toBe(mainThreadRows(p, records, [0, 1, 2]).text);
  });

  it("an unkeyed stream's rows carry no ordinal and no keys", () => {
    const p = plan("u", []);
    const e = encoder([p]);
    const records = [{ id: 1, name: "a" }, { id: 2, name: "b,c" }];
    const ev = e.encode(unit(...records.map((x) => rec("u", x))), 5, 1).events[0] as RowsEvent;
    expect(text(ev)).toBe('1,"a",\\N,\\N,\\N\n2,"b,c",\\N,\\N,\\N\n');
    expect(text(ev)).toBe(mainThreadRows(p, records, []).text);
    expect(ev.keys).toBeUndefined();
    expect(ev.nullKeys).toBe(false);
    expect([...ev.positions]).toEqual([5 * LINE_SLOTS, 5 * LINE_SLOTS + 1]);
  });

  it("rowEnds cut the bytes at each row's newline (multi-byte text, newlines inside values)", () => {
    const e = encoder([plan("t")]);
    const records = [{ id: 1, name: "漢字\nnext" }, { id: 2, name: "😀" }, { id: 3 }];
    const ev = e.encode(unit(...records.map((x) => rec("t", x))), 0, 1).events[0] as RowsEvent;
    expect(ev.rowEnds).toBeInstanceOf(Uint32Array);
    expect(ev.rowEnds.length).toBe(3);
    expect(ev.rowEnds[2]).toBe(ev.bytes.length);
    expect(split(ev)).toEqual(['1,"漢字\nnext",\\N,\\N,\\N,0\n', '2,"😀",\\N,\\N,\\N,1\n', "3,\\N,\\N,\\N,\\N,2\n"]);
    for (const end of ev.rowEnds) expect(ev.bytes[end - 1]).toBe(10);
  });

  it("widths: largest UTF-8 byte length per text column that could outgrow the column, per span (reset after a line)", () => {
    // VARCHAR(4): every one of these strings could need more than 4 bytes, so each is measured
    const narrow = COLUMNS.map((c) => (c.name === "name" ? { ...c, type: { kind: "varchar" as const, length: 4 } } : c));
    const input = unit(rec("t", { id: 1, name: "abc" }), rec("t", { id: 2, name: "漢字漢" }), rec("t", { id: 3, name: "ab" }), stateLine(1), rec("t", { id: 4, name: "xy" }));
    const [a, b] = rowsOf(encoder([plan("t", ["id"], narrow)]).encode(input, 0, 1));
    // id, name, x, obj, at: only varchar tracks widths
    expect(a!.widths).toEqual([0, 9, 0, 0, 0]);
    expect(b!.widths).toEqual([0, 2, 0, 0, 0]);
    // VARCHAR(256): none of them can reach 256 bytes (3 × length at most), so none is measured
    const [c, d] = rowsOf(encoder([plan("t")]).encode(input, 0, 1));
    expect([c!.widths, d!.widths]).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
  });

  it("changes: a bare NaN in a number column is NULL and counted, nonFinite counts the record; 70,000 bytes are truncated", () => {
    const e = encoder([plan("t")]);
    const long = "y".repeat(70_000);
    const u = unit(
      '{"type":"RECORD","stream":"t","record":{"id":1,"x":NaN}}',
      '{"type":"RECORD","stream":"t","record":{"id":2,"x":-Infinity,"name":"NaN"}}',
      rec("t", { id: 3, name: long }),
      rec("t", { id: 4, name: long, x: 2 }),
    );
    const r = e.encode(u, 0, 1);
    expect(r.events).toHaveLength(1);
    const ev = r.events[0] as RowsEvent;
    const rows = split(ev);
    expect(rows[0]).toBe("1,\\N,\\N,\\N,\\N,0\n");
    expect(rows[1]).toBe('2,"NaN",\\N,\\N,\\N,1\n');
    expect(rows[2]).toBe(`3,"${"y".repeat(65_535)}",\\N,\\N,\\N,2\n`);
    expect(rows[3]).toBe(`4,"${"y".repeat(65_535)}",2,\\N,\\N,3\n`);
    expect(ev.nonFinite).toBe(2);
    expect(new Map(ev.changes)).toEqual(
      new Map([
        ["x: NULLED (DESTINATION_SERIALIZATION_ERROR)", 2],
        ["name: TRUNCATED (DESTINATION_FIELD_SIZE_LIMITATION)", 2],
      ]),
    );
    expect(ev.widths[1]).toBe(65_535);
  });

  it("changes and nonFinite are per span: the span after a line starts from zero", () => {
    const e = encoder([plan("t")]);
    const r = e.encode(unit('{"type":"RECORD","stream":"t","record":{"id":1,"x":NaN}}', stateLine(1), rec("t", { id: 2, x: 1 })), 0, 1);
    const [a, b] = rowsOf(r);
    expect(a!.changes).toEqual([["x: NULLED (DESTINATION_SERIALIZATION_ERROR)", 1]]);
    expect(a!.nonFinite).toBe(1);
    expect(b!.changes).toEqual([]);
    expect(b!.nonFinite).toBe(0);
  });

  it("string_overflow null: a 70,000-byte string is NULL and counted as NULLED", () => {
    const e = encoder([plan("t")], { stringOverflow: "null", invalidValue: "null" });
    const ev = e.encode(unit(rec("t", { id: 1, name: "z".repeat(70_000) })), 0, 1).events[0] as RowsEvent;
    expect(text(ev)).toBe("1,\\N,\\N,\\N,\\N,0\n");
    expect(ev.changes).toEqual([["name: NULLED (DESTINATION_FIELD_SIZE_LIMITATION)", 1]]);
  });
});

describe("UnitEncoder: keys", () => {
  it("numeric keys are packed as a Float64Array; 1 and \"1\" in an integer key column are one identity", () => {
    const p = plan("t");
    const e = encoder([p]);
    const records = [{ id: 1 }, { id: "1" }, { id: 2_000_000_000 }, { id: -5 }];
    const ev = e.encode(unit(...records.map((x) => rec("t", x))), 0, 1).events[0] as RowsEvent;
    expect(ev.keys).toBeInstanceOf(Float64Array);
    expect([...(ev.keys as Float64Array)]).toEqual([1, 1, 2_000_000_000, -5]);
    expect([...(ev.keys as Float64Array)]).toEqual(mainThreadRows(p, records, [0, 1, 2, 3]).keys);
    expect(split(ev).slice(0, 2)).toEqual(["1,\\N,\\N,\\N,\\N,0\n", "1,\\N,\\N,\\N,\\N,1\n"]);
    expect(ev.nullKeys).toBe(false);
  });

  it("text keys give the encoded field as identity, the same as the main thread's", () => {
    const cols: ColumnSpec[] = [
      { name: "code", type: { kind: "varchar", length: 32 }, property: "code" },
      { name: "v", type: { kind: "integer" }, property: "v" },
    ];
    const p = plan("s", ["code"], cols);
    const e = encoder([p]);
    const records = [{ code: "a" }, { code: 'b"c' }, { code: "1" }, { code: 1 }];
    const ev = e.encode(unit(...records.map((x) => rec("s", x))), 0, 1).events[0] as RowsEvent;
    expect(Array.isArray(ev.keys)).toBe(true);
    expect(ev.keys).toEqual(['"a"', '"b""c"', '"1"', '"1"']);
    expect(ev.keys).toEqual(mainThreadRows(p, records, [0, 1, 2, 3]).keys);
  });

  it("a NULL key is flagged and the keys are no longer packed", () => {
    const p = plan("t");
    const e = encoder([p]);
    const r = e.encode(unit(rec("t", { id: 1 }), rec("t", { id: null }), stateLine(0), rec("t", { id: 2 }), rec("t", { id: null })), 0, 1);
    const [a, b] = rowsOf(r);
    expect(a!.nullKeys).toBe(true);
    expect(a!.keys).toEqual([1, "\\N"]);
    expect(b!.nullKeys).toBe(true);
    expect(b!.keys).toEqual([2, "\\N"]);
  });

  it("a key value the key column cannot hold is never NULLed: the record goes back to the main thread, which fails the run", () => {
    const e = encoder([plan("t")]); // invalid_value: null, the default
    const r = e.encode(unit(rec("t", { id: 1 }), rec("t", { id: "not a number" }), rec("t", { id: 3 })), 0, 1);
    expect(r.events.map((x) => x.kind)).toEqual(["rows", "line"]);
    expect(r.events[1]).toMatchObject({ kind: "line", index: 1, text: rec("t", { id: "not a number" }) });
  });

  it("composite keys: one identity per row from the encoded key fields", () => {
    const cols: ColumnSpec[] = [
      { name: "a", type: { kind: "integer" }, property: "a" },
      { name: "b", type: { kind: "varchar", length: 32 }, property: "b" },
    ];
    const p = plan("c", ["a", "b"], cols);
    const e = encoder([p]);
    const records = [{ a: 1, b: "x" }, { a: "1", b: "x" }, { a: 1, b: "x,y" }];
    const ev = e.encode(unit(...records.map((x) => rec("c", x))), 0, 1).events[0] as RowsEvent;
    expect(ev.keys).toEqual(['1,"x"', '1,"x"', '1,"x,y"']);
    expect(ev.keys).toEqual(mainThreadRows(p, records, [0, 1, 2]).keys);
  });
});

describe("UnitEncoder: line handling", () => {
  it("lines it does not take come back with their index and end, and encoding stops after each (the rest is encoded once the main thread answered): unknown stream, missing key, bad JSON, not a RECORD object, SCHEMA", () => {
    const e = encoder([plan("t")]);
    const lines = [
      rec("t", { id: 1 }), // 0
      rec("other", { id: 1 }), // 1 unknown stream
      rec("t", { name: "no id" }), // 2 lacks the key
      '{"type": "RECORD", "stream": "t", "record": {"id": 3', // 3 invalid JSON
      JSON.stringify({ type: "RECORD", stream: "t" }), // 4 no record
      JSON.stringify({ type: "RECORD", stream: "t", record: [1] }), // 5 record not an object
      "null", // 6
      JSON.stringify({ type: "SCHEMA", stream: "t", schema: {} }), // 7
      rec("t", { id: 2 }), // 8
    ];
    const u = unit(...lines);
    // Each call encodes up to the next line it cannot take; the rest continues with its line offset.
    const seen: string[] = [];
    let offset = 0;
    let bytes = u;
    for (;;) {
      const r = e.encode(bytes, 1, 1, offset);
      for (const x of r.events) {
        if (x.kind === "rows") {
          seen.push(`rows:${x.rows}`);
          expect([...x.positions]).toEqual([...x.positions].map((_, i) => x.positions[0]! + i));
          continue;
        }
        seen.push(`line:${offset + x.index}`);
        expect(x.text).toBe(lines[offset + x.index]);
        expect(x.end).toBe(endOfLine(u, offset + x.index) - (u.length - bytes.length));
      }
      if (r.rest === undefined) {
        expect(offset + r.lines).toBe(9);
        expect([...rowsOf(r).at(-1)!.positions]).toEqual([LINE_SLOTS + 8]);
        break;
      }
      expect(r.rest).toBe((r.events.at(-1) as LineEvent).end);
      offset += r.lines;
      bytes = bytes.subarray(r.rest);
    }
    expect(seen).toEqual(["rows:1", "line:1", "line:2", "line:3", "line:4", "line:5", "line:6", "line:7", "rows:1"]);
  });

  it("a STATE line does not stop encoding (it leaves the streams as they are)", () => {
    const e = encoder([plan("t")]);
    const r = e.encode(unit(rec("t", { id: 1 }), stateLine({ s: 1 }), rec("t", { id: 2 })), 1, 1);
    expect(r.rest).toBeUndefined();
    expect(r.events.map((x) => x.kind)).toEqual(["rows", "line", "rows"]);
  });

  it("invalid_value fail: the record that throws comes back as a line and encoding stops there", () => {
    const e = encoder([plan("t")], { stringOverflow: "truncate", invalidValue: "fail" });
    const u = unit(rec("t", { id: 1 }), rec("t", { id: 2, x: "not a number" }), rec("t", { id: 3 }));
    const r = e.encode(u, 0, 1);
    expect(r.events.map((x) => x.kind)).toEqual(["rows", "line"]);
    expect(r.events[1]).toEqual({ kind: "line", index: 1, text: rec("t", { id: 2, x: "not a number" }), end: endOfLine(u, 1) });
    expect(r.rest).toBe(endOfLine(u, 1));
    expect(r.lines).toBe(2);
    expect(text(r.events[0] as RowsEvent)).toBe("1,\\N,\\N,\\N,\\N,0\n");
    const after = e.encode(u.subarray(r.rest), 0, 1, r.lines);
    expect(text(after.events[0] as RowsEvent)).toBe("3,\\N,\\N,\\N,\\N,2\n");
    // the same record under invalid_value null is taken (NULL, counted)
    const lenient = encoder([plan("t")]).encode(u, 0, 1);
    expect(lenient.events.map((x) => x.kind)).toEqual(["rows"]);
    expect((lenient.events[0] as RowsEvent).rows).toBe(3);
  });

  it("blank lines produce nothing but keep their index (and position slot)", () => {
    const e = encoder([plan("t")]);
    const r = e.encode(unit(rec("t", { id: 1 }), "", "   ", rec("t", { id: 2 })), 2, 1);
    expect(r.lines).toBe(4);
    expect(r.events).toHaveLength(1);
    expect([...(r.events[0] as RowsEvent).positions]).toEqual([2 * LINE_SLOTS, 2 * LINE_SLOTS + 3]);
  });

  it("CRLF line ends: the same rows as LF; line texts without CR, end past the LF", () => {
    const lines = [rec("t", { id: 1, name: "a" }), stateLine({ s: 1 }), rec("t", { id: 2, name: "b" })];
    const lf = encoder([plan("t")]).encode(unit(...lines), 0, 1);
    const crlfBytes = new Uint8Array(Buffer.from(lines.map((l) => `${l}\r\n`).join("")));
    const crlf = encoder([plan("t")]).encode(crlfBytes, 0, 1);
    expect(rowsOf(crlf).map(text)).toEqual(rowsOf(lf).map(text));
    const line = linesOf(crlf)[0]!;
    expect(line.text).toBe(stateLine({ s: 1 }));
    expect(line.end).toBe(Buffer.byteLength(`${lines[0]}\r\n${lines[1]}\r\n`));
    expect(crlf.lines).toBe(3);
  });

  it("the last line without a newline is still a line (rows, or a LineEvent ending at the unit's end)", () => {
    const e = encoder([plan("t")]);
    const bytes = new Uint8Array(Buffer.from(`${rec("t", { id: 1 })}\n${rec("t", { id: 2 })}`));
    const r = e.encode(bytes, 0, 1);
    expect(r.lines).toBe(2);
    expect((r.events[0] as RowsEvent).rows).toBe(2);
    const tail = stateLine({ last: true });
    const withState = new Uint8Array(Buffer.from(`${rec("t", { id: 1 })}\n${tail}`));
    const r2 = e.encode(withState, 0, 1);
    expect(r2.events[1]).toEqual({ kind: "line", index: 1, text: tail, end: withState.length });
  });

  it("invalid UTF-8: the line's index is reported and its bad bytes decode as U+FFFD", () => {
    const e = encoder([plan("t")]);
    const bytes = new Uint8Array(
      Buffer.concat([
        Buffer.from(`${rec("t", { id: 1, name: "ok" })}\n${stateLine(1)}\n`),
        Buffer.from('{"type":"RECORD","stream":"t","record":{"id":2,"name":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}}\n'),
        Buffer.from(`${rec("t", { id: 3 })}\n`),
        Buffer.from([0xff, 0x0a]),
      ]),
    );
    const r = e.encode(bytes, 0, 1);
    expect(r.invalidUtf8).toEqual([2, 4]);
    expect(r.lines).toBe(5);
    const b = rowsOf(r)[1]!;
    expect(split(b)[0]).toBe('2,"\uFFFD(",\\N,\\N,\\N,2\n');
    expect(linesOf(r).map((l) => [l.index, l.text])).toEqual([
      [1, stateLine(1)],
      [4, "\uFFFD"],
    ]);
    // a clean unit reports none
    expect(e.encode(unit(rec("t", { id: 1 })), 1, 1).invalidUtf8).toEqual([]);
  });

  it("two streams interleaved: one RowsEvent per stream per span, in first-seen order", () => {
    const e = encoder([plan("a"), plan("b", [])]);
    const u = unit(
      rec("b", { id: 10 }), // 0
      rec("a", { id: 1 }), // 1
      rec("b", { id: 11 }), // 2
      rec("a", { id: 2 }), // 3
      stateLine(1), // 4
      rec("a", { id: 3 }), // 5
      rec("a", { id: 4 }), // 6
      rec("b", { id: 12 }), // 7
    );
    const r = e.encode(u, 0, 1);
    expect(r.events.map((x) => (x.kind === "rows" ? `${x.stream}:${[...x.positions].join("/")}` : `line:${x.index}`))).toEqual([
      "b:0/2",
      "a:1/3",
      "line:4",
      "a:5/6",
      "b:7",
    ]);
    const [b1, a1, a2, b2] = rowsOf(r);
    expect(text(b1!)).toBe("10,\\N,\\N,\\N,\\N\n11,\\N,\\N,\\N,\\N\n");
    expect(text(a1!)).toBe("1,\\N,\\N,\\N,\\N,1\n2,\\N,\\N,\\N,\\N,3\n");
    expect(text(a2!)).toBe("3,\\N,\\N,\\N,\\N,5\n4,\\N,\\N,\\N,\\N,6\n");
    expect(text(b2!)).toBe("12,\\N,\\N,\\N,\\N\n");
  });
});

describe("UnitEncoder: setup and size", () => {
  it("a unit for another epoch (or before any setup) throws", () => {
    expect(() => new UnitEncoder().encode(unit(rec("t", { id: 1 })), 1, 1)).toThrow(/epoch undefined, unit 1 needs 1/);
    const e = encoder([plan("t")], DEFAULT_POLICY, 4);
    expect(() => e.encode(unit(rec("t", { id: 1 })), 2, 5)).toThrow(/epoch 4, unit 2 needs 5/);
    expect(e.encode(unit(rec("t", { id: 1 })), 2, 4).events).toHaveLength(1);
  });

  it("a new setup replaces the streams: new columns, a removed stream's records come back as lines", () => {
    const e = encoder([plan("t"), plan("gone")]);
    e.encode(unit(rec("t", { id: 1, name: "before" })), 0, 1);
    const wider: ColumnSpec[] = [...COLUMNS.slice(0, 2), { name: "extra", type: { kind: "varchar", length: 10 }, property: "extra" }];
    e.setup({ epoch: 2, policy: DEFAULT_POLICY, streams: [plan("t", ["id"], wider)] });
    const r = e.encode(unit(rec("t", { id: 2, name: "after", extra: "e" }), rec("gone", { id: 1 })), 1, 2);
    expect(text(r.events[0] as RowsEvent)).toBe(`2,"after","e",${LINE_SLOTS}\n`);
    expect(r.events[1]).toMatchObject({ kind: "line", index: 1 });
  });

  it("a ~1 MiB unit of 5,000 records (buffers grow) is byte-identical to the main thread's rows, twice in a row", () => {
    const p = plan("t");
    const e = encoder([p]);
    for (const seq of [7, 8]) {
      const records = Array.from({ length: 5000 }, (_, i) => ({
        id: seq * 10_000 + i,
        name: `n${i} "q", ${"é".repeat(i % 50)}${"z".repeat(i % 97)}`,
        x: i / 7,
        obj: { i, tags: ["a", i % 3] },
        at: `2024-01-${String((i % 28) + 1).padStart(2, "0")}T00:00:${String(i % 60).padStart(2, "0")}Z`,
      }));
      const r = e.encode(unit(...records.map((x) => rec("t", x))), seq, 1);
      expect(r.events).toHaveLength(1);
      const ev = r.events[0] as RowsEvent;
      const positions = records.map((_, i) => seq * LINE_SLOTS + i);
      const expected = mainThreadRows(p, records, positions);
      expect(ev.rows).toBe(5000);
      expect(text(ev)).toBe(expected.text);
      expect([...ev.positions]).toEqual(positions);
      expect(ev.rowEnds.length).toBe(5000);
      expect(ev.rowEnds[4999]).toBe(ev.bytes.length);
      expect(split(ev).join("")).toBe(expected.text);
      expect([...(ev.keys as Float64Array)]).toEqual(expected.keys);
      const longest = Math.max(...records.map((x) => Buffer.byteLength(x.name)));
      expect(ev.widths[1]).toBe(longest);
    }
  });
});

describe("UnitEncoder: the first stream of a span writes straight into the unit's output", () => {
  type Internals = { outputs: Map<string, { bytes: Buffer }> };

  it("a span whose first record goes back to the main thread places nothing, and the stream gets its own buffer back", () => {
    const e = encoder([plan("a"), plan("b")]);
    const outputs = (e as unknown as Internals).outputs;
    // "x" cannot be held by the integer key: the byte path declines it after the span was opened for b.
    const r = e.encode(unit(rec("b", { id: "x" }), rec("a", { id: 1 })), 0, 1);
    expect(r.events.map((x) => x.kind)).toEqual(["line"]);
    expect(r.rest).toBe(endOfLine(unit(rec("b", { id: "x" }), rec("a", { id: 1 })), 0));
    const ownB = outputs.get("b")!.bytes;
    expect(ownB.buffer).not.toBe(r.output!.bytes.buffer);
    // The next units: b first of its span again, then a, then b after a line; rows exact.
    const next = e.encode(unit(rec("b", { id: 2, name: "two" }), rec("a", { id: 3 }), stateLine(1), rec("b", { id: 4 })), 1, 1);
    expect(next.events.map((x) => (x.kind === "rows" ? `${x.stream}:${split(x).join("")}` : "line"))).toEqual([
      `b:2,"two",\\N,\\N,\\N,${LINE_SLOTS}\n`,
      `a:3,\\N,\\N,\\N,\\N,${LINE_SLOTS + 1}\n`,
      "line",
      `b:4,\\N,\\N,\\N,\\N,${LINE_SLOTS + 3}\n`,
    ]);
    for (const s of ["a", "b"]) expect(outputs.get(s)!.bytes.buffer, s).not.toBe(next.output!.bytes.buffer);
  });

  it("rows longer than their lines grow the output under a span that follows another: every span byte-identical", () => {
    const p = plan("t");
    const q = plan("u");
    const e = encoder([p, q]);
    // A SUPER of empty strings doubles its quotes: 3 input bytes per element become 5 in the row.
    const small = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `s${i}` }));
    const big = Array.from({ length: 400 }, (_, i) => ({ id: 1000 + i, obj: Array.from({ length: 1500 }, () => "") }));
    const lines = [...small.map((x) => rec("t", x)), stateLine(1), ...big.map((x) => rec("u", x)), rec("t", { id: 99 })];
    const input = unit(...lines);
    // A recycled output just big enough for a usual unit: the span of u outgrows it.
    let recycled;
    for (const pass of [0, 1]) {
      const packed = e.encodePacked(input, pass, 1, 0, recycled);
      const r = unpack(packed);
      const rows = rowsOf(r);
      expect(rows.map((x) => x.stream)).toEqual(["t", "u", "t"]);
      const base = pass * LINE_SLOTS;
      expect(text(rows[0]!)).toBe(mainThreadRows(p, small, small.map((_, i) => base + i)).text);
      expect(text(rows[1]!)).toBe(mainThreadRows(q, big, big.map((_, i) => base + 51 + i)).text);
      expect(text(rows[2]!)).toBe(mainThreadRows(p, [{ id: 99 }], [base + 451]).text);
      expect(rows[1]!.bytes.length).toBeGreaterThan(input.length);
      for (const ev of rows) {
        // rowEnds count from the span's first byte, wherever the span starts in the output
        expect(split(ev).join("")).toBe(text(ev));
        expect(split(ev).every((row) => row.endsWith("\n") && row.indexOf("\n") === row.length - 1)).toBe(true);
        expect(ev.rowEnds[ev.rows - 1]).toBe(ev.bytes.length);
      }
      recycled = packed.output;
    }
  });
});

describe("UnitEncoder: _sdc_sequence written from its digits", () => {
  it("byte path = object path at every carry of the position's millions, from any run start, and past BIGINT's edge", () => {
    for (const runStartMs of [1_700_000_000_000, 1, 9_223_372_036_853, 9_223_372_036_854, 9_300_000_000_000]) {
      const columns: ColumnSpec[] = [
        { name: "id", type: { kind: "integer" }, property: "id" },
        { name: "_sdc_sequence", type: { kind: "bigint" }, meta: { kind: "sequence", field: "_sdc_sequence", runStartMs } },
        { name: "_sdc_extracted_at", type: { kind: "timestamptz" }, meta: { kind: "message", field: "time_extracted" } },
      ];
      const lines = [rec("m", { id: 1 }), rec("m", { id: 2, _sdc_sequence: 7 }), rec("m", { id: 3 }), rec("m", { id: 4 })];
      // positions seq × 2^21 + line: 0–3, around 10^6 × k, and far into a long run
      for (const seq of [0, 476, 477, 953, 4_294_967]) {
        const encoded = [true, false].map((byteScan) => {
          const e = new UnitEncoder({ byteScan });
          e.setup({ epoch: 1, policy: DEFAULT_POLICY, streams: [plan("m", [], columns)] });
          const r = e.encode(unit(...lines), seq, 1);
          return { rows: r.events.map((x) => (x.kind === "rows" ? text(x) : `line ${x.index}`)), scanned: e.scannedRecords };
        });
        expect(encoded[0]!.rows, `${runStartMs} @ ${seq}`).toEqual(encoded[1]!.rows);
        expect(encoded[0]!.scanned).toBeGreaterThan(0);
      }
    }
  });

  it("one encoder over units whose positions cross millions (the high digits it keeps follow them), two sequence columns of different run starts", () => {
    const columns: ColumnSpec[] = [
      { name: "id", type: { kind: "integer" }, property: "id" },
      { name: "seq_a", type: { kind: "bigint" }, meta: { kind: "sequence", field: "_sdc_sequence", runStartMs: 1_700_000_000_000 } },
      { name: "seq_b", type: { kind: "bigint" }, meta: { kind: "sequence", field: "_sdc_sequence", runStartMs: 1_799_999_999_999 } },
    ];
    const e = new UnitEncoder({ byteScan: true });
    e.setup({ epoch: 1, policy: DEFAULT_POLICY, streams: [plan("m", [], columns)] });
    const lines = [rec("m", { id: 1 }), rec("m", { id: 2 })];
    // seq × 2^21: 476 → 998,244,352; 477 → 1,000,341,504; 953 → 1,998,585,856; 954 → 2,000,683,008
    for (const seq of [476, 477, 477, 953, 954, 0, 4_294_967]) {
      const r = e.encode(unit(...lines), seq, 1);
      const rows = text(rowsOf(r)[0]!).trimEnd().split("\n");
      const expected = [0, 1].map((i) => {
        const position = seq * LINE_SLOTS + i;
        return `${i + 1},${sdcSequence(1_700_000_000_000, position)},${sdcSequence(1_799_999_999_999, position)}`;
      });
      expect(rows, `@ ${seq}`).toEqual(expected);
    }
    expect(e.scannedRecords).toBe(14);
  });
});

describe("UnitEncoder: span buffers of streams arriving one after the other", () => {
  it("a stream keeps no more than 256 KiB of span buffer between units; a grown one serves the next stream, rows intact", () => {
    const names = ["s0", "s1", "s2", "s3", "s4"];
    const e = encoder(names.map((n) => plan(n)));
    const outputs = (e as unknown as { outputs: Map<string, { bytes: Buffer }> }).outputs;
    names.forEach((n, k) => {
      // ~1 MiB of one stream per unit, as a tap that emits its streams one after the other gives them.
      const records = Array.from({ length: 4000 }, (_, i) => ({ id: k * 10_000 + i, name: `${n}:${i}:${"w".repeat(200)}`, x: i, obj: { i }, at: null }));
      const r = e.encode(unit(...records.map((x) => rec(n, x))), k, 1);
      const ev = rowsOf(r)[0]!;
      expect(ev.stream).toBe(n);
      expect(text(ev)).toBe(mainThreadRows(plan(n), records, records.map((_, i) => k * LINE_SLOTS + i)).text);
      expect(ev.bytes.length).toBeGreaterThan(512 * 1024);
    });
    for (const n of names) expect(outputs.get(n)!.bytes.length, n).toBeLessThanOrEqual(256 * 1024);
  });
});

describe("UnitEncoder and EncodePool: recycled output buffers", () => {
  const lines = Array.from({ length: 3_000 }, (_, i) => rec("t", { id: i, name: `n${i}`, x: i / 4 }));

  it("a unit written into a recycled output (full of another unit's bytes) has the same events", () => {
    const fresh = encoder([plan("t")]).encodePacked(unit(...lines), 1, 1);
    const recycled = fresh.output;
    new Uint8Array(recycled.bytes.buffer).fill(0x7a);
    recycled.positions.fill(-1);
    const small = unit(...lines.slice(0, 10));
    const reused = encoder([plan("t")]).encodePacked(small, 2, 1, 0, recycled);
    const again = encoder([plan("t")]).encodePacked(small, 2, 1, 0);
    // the recycled buffer was used (a fresh one for 10 lines would be far smaller)
    expect(reused.output.bytes.buffer).toBe(recycled.bytes.buffer);
    const rows = (u: typeof fresh) => rowsOf(unpack(u)).map((e) => ({ text: text(e), positions: [...e.positions], keys: [...(e.keys ?? [])] }));
    expect(rows(reused)).toEqual(rows(again));
  });

  it("through the worker pool: units sent after recycle() are written into the recycled buffers and encode the same as on the main thread", async () => {
    const pool = new EncodePool(1);
    try {
      const setup = { epoch: 1, policy: DEFAULT_POLICY, streams: [plan("t")] };
      pool.setup(setup);
      const inline = new UnitEncoder();
      inline.setup(setup);
      const sizes: number[] = [];
      for (let round = 0; round < 4; round++) {
        const u = unit(...lines.slice(round * 500, round * 500 + 700 - round * 150));
        const r = await pool.encode(u, round, 1, 0);
        const expected = inline.encode(u, round, 1, 0);
        expect(rowsOf(r).map(text)).toEqual(rowsOf(expected).map(text));
        sizes.push(r.output!.bytes.byteLength);
        pool.recycle(r.output);
      }
      // Smaller units each time: a fresh output would be smaller too; the recycled one keeps its size.
      expect(sizes.slice(1)).toEqual([sizes[0], sizes[0], sizes[0]]);
    } finally {
      await pool.close();
    }
  });
});

describe("UnitEncoder: metadata columns (described as data)", () => {
  const META: ColumnSpec[] = [
    { name: "id", type: { kind: "integer" }, property: "id" },
    { name: "n", type: { kind: "integer" }, property: "n" },
    { name: "_sdc_extracted_at", type: { kind: "timestamptz" }, meta: { kind: "message", field: "time_extracted" } },
    { name: "_sdc_received_at", type: { kind: "timestamptz" }, meta: { kind: "received-at" } },
    // _sdc_batched_at is no column here: the load statement fills it (FilledColumn)
    { name: "_sdc_sequence", type: { kind: "bigint" }, meta: { kind: "sequence", field: "_sdc_sequence", runStartMs: 1_700_000_000_000 } },
    { name: "_sdc_value_changes", type: { kind: "super" }, meta: { kind: "value-changes" } },
  ];

  it("computes message, received-at, sequence and value-changes columns", () => {
    const e = encoder([plan("m", [], META)]);
    const received = "2026-11-30T08:00:00.123Z";
    const r = e.encode(
      unit(
        JSON.stringify({ type: "RECORD", stream: "m", record: { id: 1, n: 2 }, time_extracted: "2026-11-30T07:00:00Z" }),
        JSON.stringify({ type: "RECORD", stream: "m", record: { id: 2, n: "x", _sdc_sequence: 99 } }),
      ),
      3,
      1,
      0,
      received,
    );
    const ev = rowsOf(r)[0]!;
    const seq = (i: number) => `${1_700_000_000_000n * 1_000_000n + BigInt(3 * LINE_SLOTS + i)}`;
    expect(split(ev)).toEqual([
      `1,2,2026-11-30 07:00:00+00,2026-11-30 08:00:00.123+00,${seq(0)},\\N\n`,
      `2,\\N,\\N,2026-11-30 08:00:00.123+00,99,"[{""field"":""n"",""change"":""NULLED"",""reason"":""DESTINATION_SERIALIZATION_ERROR""}]"\n`,
    ]);
  });

  it("mainThreadFields: a record carrying one comes back as a line (the door decides), and encoding stops there — on the byte path too, before or after the record", () => {
    for (const versioned of [
      JSON.stringify({ type: "RECORD", stream: "m", record: { id: 2, n: 2 }, version: 5 }),
      JSON.stringify({ type: "RECORD", version: 5, stream: "m", record: { id: 2, n: 2 } }),
      JSON.stringify({ type: "RECORD", stream: "m", record: {}, version: 5 }),
    ]) {
      for (const byteScan of [true, false]) {
        const e = new UnitEncoder({ byteScan });
        e.setup({ epoch: 1, policy: DEFAULT_POLICY, streams: [{ ...plan("m", [], META.slice(0, 2)), mainThreadFields: ["version"] }] });
        const r = e.encode(unit(rec("m", { id: 1, n: 1 }), versioned, rec("m", { id: 3, n: 3 })), 0, 1);
        expect(r.events.map((x) => x.kind), versioned).toEqual(["rows", "line"]);
        expect(r.rest).toBeDefined();
      }
    }
    // a property named "version" inside the record is data, not the message's version
    const e = encoder([{ ...plan("m", [], [...META.slice(0, 2), { name: "version", type: { kind: "integer" }, property: "version" }]), mainThreadFields: ["version"] }]);
    const r = e.encode(unit(rec("m", { id: 1, n: 1, version: 3 }), rec("m", { version: 4, id: 2, n: 1 })), 0, 1);
    expect(r.events.map((x) => x.kind)).toEqual(["rows"]);
    expect(e.scannedRecords).toBe(2);
  });
});

describe("UnitEncoder: Airbyte envelope", () => {
  const AB: ColumnSpec[] = [
    { name: "id", type: { kind: "integer" }, property: "id" },
    // _airbyte_raw_id is no column here: the load statement makes it from the ordinal (row-id.ts)
    { name: "_airbyte_extracted_at", type: { kind: "timestamptz" }, meta: { kind: "message-epoch-ms", field: "emitted_at" } },
    { name: "_airbyte_generation_id", type: { kind: "bigint" }, meta: { kind: "constant", value: 3 } },
    { name: "_airbyte_meta", type: { kind: "super" }, meta: { kind: "airbyte-meta", syncId: 9 } },
  ];
  const abRec = (stream: string, data: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ type: "RECORD", record: { stream, emitted_at: 1_700_000_000_000, data, ...extra } });

  function abEncoder(): UnitEncoder {
    const e = new UnitEncoder();
    e.setup({
      epoch: 1,
      policy: DEFAULT_POLICY,
      streams: [plan("ns.a", ["id"], AB), { ...plan("b", [], AB), ordinal: true }],
      envelope: "airbyte",
      routes: [
        { name: "a", namespace: "ns", id: "ns.a" },
        { name: "b", namespace: null, id: "b" },
      ],
    });
    return e;
  }

  it("routes by descriptor (a record without namespace finds a unique name), reads data and emitted_at, merges upstream changes first", () => {
    const r = abEncoder().encode(
      unit(
        abRec("a", { id: 1 }, { namespace: "ns" }),
        abRec("a", { id: "x" }), // no namespace: the only stream named a
        abRec("b", { id: 2 }, { meta: { changes: [{ field: "id", change: "TRUNCATED", reason: "SOURCE_FIELD_SIZE_LIMITATION" }] } }),
      ),
      0,
      1,
    );
    const [a, b] = rowsOf(r);
    expect(a!.stream).toBe("ns.a");
    expect(a!.rows).toBe(1); // the key "x" cannot be held: the record goes back to the main thread
    expect(linesOf(r)).toHaveLength(1);
    const row = split(a!)[0]!.split(",");
    expect(row[0]).toBe("1");
    expect(row.slice(1, 3)).toEqual(["2023-11-14 22:13:20.000+00", "3"]);
    expect(b).toBeUndefined(); // encoding stopped after the line; the rest is encoded once it is answered
    const rest = abEncoder().encode(unit(abRec("b", { id: 2 }, { meta: { changes: [{ field: "id", change: "TRUNCATED", reason: "R" }] } })), 0, 1);
    const meta = split(rowsOf(rest)[0]!)[0]!;
    expect(meta).toContain('"{""sync_id"":9,""changes"":[{""field"":""id"",""change"":""TRUNCATED"",""reason"":""R""}]}"');
  });

  it("a stream without keys stages its ordinal when asked (plan.ordinal: its row ids are made from it), on both paths", () => {
    const lines = [abRec("b", { id: 7 }), abRec("b", { id: 8 }), abRec("b", { id: 9 }, { meta: { changes: [{ field: "id", change: "NULLED", reason: "R" }] } })];
    const doc = '"{""sync_id"":9,""changes"":[]}"';
    const upstream = '"{""sync_id"":9,""changes"":[{""field"":""id"",""change"":""NULLED"",""reason"":""R""}]}"';
    const base = 3 * LINE_SLOTS;
    const at = "2023-11-14 22:13:20.000+00";
    const rowsWith = (ordinal: boolean, byteScan: boolean) => {
      const e = new UnitEncoder({ byteScan });
      e.setup({ epoch: 1, policy: DEFAULT_POLICY, streams: [{ ...plan("b", [], AB), ordinal }], envelope: "airbyte", routes: [{ name: "b", namespace: null, id: "b" }] });
      const rows = split(rowsOf(e.encode(unit(...lines), 3, 1))[0]!).map((r) => r.replace(/\n$/, ""));
      expect(e.scannedRecords).toBe(byteScan ? 3 : 0);
      return rows;
    };
    for (const byteScan of [true, false]) {
      expect(rowsWith(true, byteScan), `byteScan ${byteScan}`).toEqual([
        `7,${at},3,${doc},${base}`,
        `8,${at},3,${doc},${base + 1}`,
        `9,${at},3,${upstream},${base + 2}`,
      ]);
      expect(rowsWith(false, byteScan), `byteScan ${byteScan}`).toEqual([`7,${at},3,${doc}`, `8,${at},3,${doc}`, `9,${at},3,${upstream}`]);
    }
  });

  it("STATE, TRACE, LOG and CONTROL come back as lines without stopping; an unknown stream, a bad envelope or a Singer line stops", () => {
    const e = abEncoder();
    const keep = e.encode(
      unit(
        abRec("b", { id: 1 }),
        JSON.stringify({ type: "STATE", state: { type: "GLOBAL" } }),
        JSON.stringify({ type: "TRACE", trace: { type: "STREAM_STATUS" } }),
        JSON.stringify({ type: "LOG", log: {} }),
        JSON.stringify({ type: "CONTROL" }),
        abRec("b", { id: 2 }),
      ),
      0,
      1,
    );
    expect(keep.events.map((x) => x.kind)).toEqual(["rows", "line", "line", "line", "line", "rows"]);
    expect(keep.rest).toBeUndefined();
    for (const bad of [abRec("zz", { id: 1 }), abRec("b", [1]), JSON.stringify({ type: "RECORD", record: { stream: "b", data: {} } }), rec("b", { id: 1 })]) {
      const r = e.encode(unit(bad, abRec("b", { id: 2 })), 0, 1);
      expect(r.events.map((x) => x.kind), bad).toEqual(["line"]);
      expect(r.rest, bad).toBeDefined();
    }
  });
});
