import { describe, expect, it } from "vitest";
import { generator, putUuid7, uuid7 } from "../../../src/encode/uuid7.js";

// One generator per thread: the tests run in order with later clocks (the generator never goes back).
const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The 128 bits of an id as a bigint. */
const bits = (id: string) => BigInt(`0x${id.replaceAll("-", "")}`);
const msOf = (id: string) => Number(bits(id) >> 80n);
/** The 74-bit counter: rand_a (12 bits) and rand_b (62 bits). */
const counterOf = (id: string) => {
  const b = bits(id);
  return (((b >> 64n) & 0xfffn) << 62n) | (b & ((1n << 62n) - 1n));
};
/** Its top 42 bits (generator.high) and last 32 (generator.low). */
const highOf = (id: string) => Number(counterOf(id) >> 32n);
const lowOf = (id: string) => Number(counterOf(id) & 0xffffffffn);

describe("uuid7 (RFC 9562 §5.7, monotonic random counter §6.2 Method 2)", () => {
  it("version 7, variant 10, the clock's milliseconds in the first 48 bits", () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
    const id = uuid7(now);
    expect(id).toMatch(SHAPE);
    expect(msOf(id)).toBe(now);
    expect(Number((bits(id) >> 76n) & 0xfn)).toBe(7);
    expect(Number((bits(id) >> 62n) & 0x3n)).toBe(2);
  });

  it("ids of one generator increase strictly by a random step of 1 to 2^16: within a millisecond, across them, and when the clock steps back", () => {
    const base = Date.UTC(2030, 0, 1);
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(uuid7(base + Math.floor(i / 1000)));
    ids.push(uuid7(base - 60_000)); // a clock stepped back: the last millisecond goes on counting
    for (let i = 1; i < ids.length; i++) expect(bits(ids[i]!) > bits(ids[i - 1]!), `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(msOf(ids.at(-1)!)).toBe(base + 4);
    const steps = new Set<bigint>();
    for (let i = 1; i < ids.length; i++) {
      if (msOf(ids[i]!) !== msOf(ids[i - 1]!)) continue;
      const step = counterOf(ids[i]!) - counterOf(ids[i - 1]!);
      expect(step >= 1n && step <= 65536n, `step ${step}`).toBe(true);
      steps.add(step);
    }
    expect(steps.size).toBeGreaterThan(4500); // random steps (~190 repeats expected among 5,000 from 2^16), not a +1 counter
    expect(new Set(ids).size).toBe(ids.length);
    // A new millisecond reseeds the counter below 2^73, so it has room to count.
    for (const id of ids) expect(counterOf(id) < 1n << 74n).toBe(true);
    expect(counterOf(ids[1000]!) < 1n << 73n).toBe(true);
  });

  it("a new millisecond reseeds: 100,000 ids over 1,000 milliseconds are distinct and their first ids differ", () => {
    const ids = new Set<string>();
    const firsts = new Set<bigint>();
    const now = Date.UTC(2031, 5, 1);
    for (let i = 0; i < 100_000; i++) {
      const id = uuid7(now + Math.floor(i / 100));
      ids.add(id);
      if (i % 100 === 0) firsts.add(counterOf(id));
    }
    expect(ids.size).toBe(100_000);
    expect(firsts.size).toBe(1000);
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
    generator.high = 2 ** 42 - 1;
    generator.low = 2 ** 32 - 1;
    const after = uuid7(now);
    expect(msOf(after)).toBe(now + 1);
    expect(counterOf(after) < 1n << 73n).toBe(true);
    expect(bits(after) > bits(before)).toBe(true);
    expect(msOf(uuid7(now + 1))).toBe(now + 1);
  });

  it("a step past the last 32 bits carries into the top 42, across every one of their digits (the variant's included)", () => {
    const now = Date.UTC(2034, 0, 1);
    uuid7(now);
    // Tops just below each carry: a hex digit, the variant digit (bits 29..28), rand_a (bit 30), and
    // many digits at once.
    for (const high of [0xf, 0xfff, 0xffff, 0xfffffff, 2 ** 30 - 1, 2 ** 34 - 1, 2 ** 41 - 1, 2 ** 42 - 3]) {
      generator.lastMs = now;
      generator.high = high;
      generator.low = 2 ** 32 - 1; // the next step carries
      const id = uuid7(now);
      expect(highOf(id), high.toString(16)).toBe(high + 1);
      expect(lowOf(id)).toBeLessThan(65536);
      expect(id).toMatch(SHAPE);
      expect(msOf(id)).toBe(now);
      const next = uuid7(now); // the same top: written as it was
      expect(highOf(next)).toBe(high + 1);
      expect(counterOf(next) > counterOf(id)).toBe(true);
    }
  });

  it("the last 48-bit millisecond (year 10889) still writes 12 digits", () => {
    expect(msOf(uuid7(2 ** 48 - 1))).toBe(2 ** 48 - 1);
  });
});
