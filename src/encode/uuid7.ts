/**
 * `_airbyte_raw_id`: a time-ordered UUID, version 7 (RFC 9562 §5.7). The 74 bits after the clock, the
 * version and the variant are one counter, "monotonic random" (§6.2, Method 2): seeded with CSPRNG bits
 * at each new millisecond (its top bit clear, so it has room to count) and increased for each id by a
 * random step of 1 to 2^16 (§6.2: "the increment value ... MAY be a random value", keeping the ids
 * unguessable).
 *
 *   unix_ts_ms (48) | ver 0111 | counter[73..62] (12) | var 10 | counter[61..0] (62)
 *
 * Held as two numbers: `high`, the counter's top 42 bits (rand_a and the first 30 bits of rand_b), and
 * `low`, its last 32 (the id's last 8 hex digits).
 *
 * Why v7 and why random steps (issue 14): the ids of one run share their leading digits and count up, so
 * a staged Airbyte row gzips smaller and cheaper than with a v4 (whose 30 random hex digits were the
 * dearest bytes of the row to compress), and the ids sort by the time they were made (index and sort-key
 * locality). A step of at most 2^16 changes the last 4–5 hex digits of an id where 32 fresh random bits
 * changed 8: measured on the bench's staged Airbyte rows (gzip level 1), see the README's Performance.
 * Uniqueness: ids of one generator never repeat (strictly increasing); two generators (workers,
 * processes, runs) can collide only when they made ids in the same millisecond from seeds less than
 * their ~2^16 × ids-per-ms apart, out of 2^73.
 *
 * One generator per thread (module state): each encode worker and the main thread count on their own.
 */
import { randomFillSync } from "node:crypto";

const HEX = Buffer.from("0123456789abcdef", "latin1");
const TWO_32 = 2 ** 32;
const HIGH_LIMIT = 2 ** 42;

/** Random bytes drawn 16 KiB at a time (a draw per id cost more than the rest of the id). */
const pool = Buffer.allocUnsafeSlow(16384);
let poolAt = pool.length;

function refill(bytes: number): void {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
}

function random32(): number {
  refill(4);
  const v = pool.readUInt32LE(poolAt);
  poolAt += 4;
  return v;
}

/** 1 to 2^16: one id's step. */
function randomStep(): number {
  refill(2);
  const v = pool[poolAt]! | (pool[poolAt + 1]! << 8);
  poolAt += 2;
  return v + 1;
}

/**
 * This thread's generator: the millisecond of its last id and that id's counter, as `high` (42 bits) and
 * `low` (32 bits). Exported for tests.
 */
export const generator = { lastMs: -1, high: 0, low: 0 };

/** A new millisecond's counter: 73 random bits (the 74th, clear, leaves room to count). */
function seed(): void {
  generator.high = (random32() & 0x1ff) * TWO_32 + random32();
  generator.low = random32();
}

/**
 * The generator's rarer moves, out of putUuid7's line (V8 does not inline a call this rare, so a branch
 * here that never ran cannot deoptimize the row writer it would be inlined into): a later clock reseeds;
 * `low` (the stepped last 32 bits) past 2^32 carries into `high`, and a `high` run out borrows the next
 * millisecond (§6.2: increment the timestamp).
 */
function advanceSlowly(now: number, low: number): void {
  const g = generator;
  if (now > g.lastMs) {
    g.lastMs = now;
    seed();
    return;
  }
  g.low = low - TWO_32;
  if (++g.high >= HIGH_LIMIT) {
    g.lastMs++;
    seed();
  }
}

/**
 * The last id's first 28 characters, `tttttttt-tttt-7ccc-Vccc-cccc` (the clock and `high`), and what they
 * hold: the same or a `high` one up is kept or counted up in place, not written anew.
 */
const head = Buffer.alloc(28);
let headHigh = -1;
let headMs = -1;
/** Positions of `high`'s hex digits in `head`, last first; head[19] also holds the variant (8–b). */
const HIGH_PLACES = [27, 26, 25, 24, 22, 21, 20, 19, 17, 16, 15];
const VARIANT_PLACE = 19;

/** `head` brought to the generator's millisecond and `high` (called only when either moved). */
function writeHead(): void {
  const g = generator;
  if (g.lastMs === headMs) {
    if (g.high === headHigh + 1 && countUp()) {
      headHigh = g.high;
      return;
    }
  } else {
    let ms = g.lastMs;
    for (let k = 12; k >= 0; k--) {
      if (k === 8) {
        head[k] = 45; // -
        continue;
      }
      head[k] = HEX[ms % 16]!;
      ms = Math.floor(ms / 16);
    }
    head[13] = 45;
    head[14] = 55; // version 7
    headMs = g.lastMs;
  }
  const high = g.high;
  const top = Math.floor(high / 2 ** 30); // 12 bits: rand_a
  const rest = high - top * 2 ** 30; // 30 bits: the first of rand_b
  let at = 15;
  head[at++] = HEX[top >> 8]!;
  head[at++] = HEX[(top >> 4) & 15]!;
  head[at++] = HEX[top & 15]!;
  head[at++] = 45;
  head[at++] = HEX[8 | (rest >>> 28)]!; // variant 10, then bits 29..28
  head[at++] = HEX[(rest >>> 24) & 15]!;
  head[at++] = HEX[(rest >>> 20) & 15]!;
  head[at++] = HEX[(rest >>> 16) & 15]!;
  head[at++] = 45;
  for (let s = 12; s >= 0; s -= 4) head[at++] = HEX[(rest >>> s) & 15]!;
  headHigh = high;
}

/** Adds one to `high`'s digits in `head`; false when it would carry past them (never below 2^42). */
function countUp(): boolean {
  for (let k = 0; k < HIGH_PLACES.length; k++) {
    const at = HIGH_PLACES[k]!;
    const c = head[at]!;
    if (at === VARIANT_PLACE ? c !== 98 /* b */ : c !== 102 /* f */) {
      head[at] = c === 57 ? 97 : c + 1; // 9 → a
      return true;
    }
    head[at] = at === VARIANT_PLACE ? 56 /* 8 */ : 48;
  }
  return false;
}

/**
 * The next id as its 36 characters, `tttttttt-tttt-7hhh-Vhhh-hhhhllllllll`, written at `o[at]`; returns
 * the index past it. `now`: the clock in ms since the epoch (Date.now()); an earlier value than the last
 * one (a clock stepped back) keeps counting from the last.
 */
export function putUuid7(o: Uint8Array, at: number, now: number = Date.now()): number {
  const g = generator;
  const stepped = g.low + randomStep();
  if (now > g.lastMs || stepped >= TWO_32) advanceSlowly(now, stepped);
  else g.low = stepped;
  if (g.lastMs !== headMs || g.high !== headHigh) writeHead();
  o.set(head, at);
  at += 28;
  const low = g.low;
  for (let s = 28; s >= 0; s -= 4) o[at++] = HEX[(low >>> s) & 15]!;
  return at;
}

const text = Buffer.alloc(36);

/** The next id as a string (the line path's `_airbyte_raw_id`); same generator as putUuid7. */
export function uuid7(now: number = Date.now()): string {
  putUuid7(text, 0, now);
  return text.toString("latin1");
}
