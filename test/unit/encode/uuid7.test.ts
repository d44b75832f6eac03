import { describe, expect, it } from "vitest";
import { generator, putUuid7, uuid7 } from "../../../src/encode/uuid7.js";

// One generator per thread: the tests run in order with later clocks (the generator never goes back).
const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The 128 bits of an id as a bigint. */
const bits = (id: string) => BigInt(`0x${id.replaceAll("-", "")}`);
const msOf = (id: string) => Number(bits(id) >> 80n);
/** The 42-bit counter: rand_a (12 bits) and the leftmost 30 bits of rand_b. */
const counterOf = (id: string) => {
  const b = bits(id);
  return Number((((b >> 64n) & 0xfffn) << 30n) | ((b >> 32n) & 0x3fffffffn));
};

describe("uuid7 (RFC 9562 §5.7, counter §6.2 Method 1)", () => {
  it("version 7, variant 10, the clock's milliseconds in the first 48 bits", () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
    const id = uuid7(now);
    expect(id).toMatch(SHAPE);
    expect(msOf(id)).toBe(now);
    expect(Number((bits(id) >> 76n) & 0xfn)).toBe(7);
    expect(Number((bits(id) >> 62n) & 0x3n)).toBe(2);
  });

  it("ids of one generator increase strictly: within a millisecond, across them, and when the clock steps back", () => {
    const base = Date.UTC(2030, 0, 1);
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(uuid7(base + Math.floor(i / 1000)));
    ids.push(uuid7(base - 60_000)); // a clock stepped back: the last millisecond goes on counting
    for (let i = 1; i < ids.length; i++) expect(bits(ids[i]!) > bits(ids[i - 1]!), `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(msOf(ids.at(-1)!)).toBe(base + 4);
    expect(counterOf(ids[1]!)).toBe(counterOf(ids[0]!) + 1);
    expect(new Set(ids).size).toBe(ids.length);
    // A new millisecond reseeds the counter below 2^41, so it has room to count.
    for (const id of ids) expect(counterOf(id)).toBeLessThan(2 ** 42);
    expect(counterOf(ids[1000]!)).toBeLessThan(2 ** 41);
  });

  it("the counter's low bits and the random tail differ between ids; 100,000 ids are distinct", () => {
    const ids = new Set<string>();
    const tails = new Set<string>();
    const now = Date.UTC(2031, 5, 1);
    for (let i = 0; i < 100_000; i++) {
      const id = uuid7(now);
      ids.add(id);
      tails.add(id.slice(28));
    }
    expect(ids.size).toBe(100_000);
    expect(tails.size).toBeGreaterThan(99_990); // 32 random bits: a handful of repeats at most
  });

  it("putUuid7 writes the same 36 characters into a buffer and returns the index past them", () => {
    const buf = Buffer.alloc(40, 0x2e);
    const end = putUuid7(buf, 2, Date.UTC(2032, 0, 1));
    expect(end).toBe(38);
    const id = buf.toString("latin1", 2, 38);
    expect(id).toMatch(SHAPE);
    expect(msOf(id)).toBe(Date.UTC(2032, 0, 1));
    expect(buf.toString("latin1", 0, 2) + buf.toString("latin1", 38)).toBe("....");
  });

  it("a counter run out within one millisecond borrows the next millisecond and reseeds", () => {
    const now = Date.UTC(2033, 0, 1);
    const before = uuid7(now);
    generator.counter = 2 ** 42 - 1;
    const after = uuid7(now);
    expect(msOf(after)).toBe(now + 1);
    expect(counterOf(after)).toBeLessThan(2 ** 41);
    expect(bits(after) > bits(before)).toBe(true);
    expect(msOf(uuid7(now + 1))).toBe(now + 1);
  });

  it("counting up within a millisecond carries across every digit of the counter, the variant's digit included", () => {
    const now = Date.UTC(2034, 0, 1);
    uuid7(now);
    // Counters just below each carry: a hex digit, the variant digit (bits 29..28), rand_a (bit 30), and
    // many digits at once.
    for (const start of [0xf, 0xfff, 0xffff, 0xfffffff, 2 ** 30 - 1, 2 ** 34 - 1, 2 ** 41 - 1, 2 ** 42 - 3]) {
      generator.lastMs = now;
      generator.counter = start - 1; // the next id counts to `start` (its digits written whole)
      const ids = [uuid7(now), uuid7(now), uuid7(now)];
      expect(ids.map(counterOf), start.toString(16)).toEqual([start, start + 1, start + 2]);
      for (const id of ids) {
        expect(id).toMatch(SHAPE);
        expect(msOf(id)).toBe(now);
      }
    }
  });

  it("the last 48-bit millisecond (year 10889) still writes 12 digits", () => {
    expect(msOf(uuid7(2 ** 48 - 1))).toBe(2 ** 48 - 1);
  });
});
