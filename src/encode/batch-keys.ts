/**
 * Whether a batch can hold the same key twice. A batch known to have unique keys skips the in-batch
 * dedup step in SQL; anything uncertain (too many keys to track) is treated as "may repeat".
 */

/** Tracking keys stops here; beyond it every batch is deduplicated in SQL. */
export const MAX_TRACKED_KEYS = 500_000;

const NUMERIC_KINDS = new Set(["smallint", "integer", "bigint", "real", "double", "numeric"]);

/**
 * A key column's encoded field as a value a Set can compare. Identities come from the encoded field, not
 * the raw value, so that 1 and "1" in an integer column are seen as the same key (they are, once loaded).
 * Numeric fields become numbers: they are logged without hashing. Distinct values that land on one double
 * (beyond 2^53) only make the batch look like it repeats a key, which is the safe direction.
 */
export function fieldIdentity(field: string, kind: string): unknown {
  if (NUMERIC_KINDS.has(kind)) {
    const n = Number(field);
    if (Number.isFinite(n)) return n;
  }
  return field;
}

/**
 * Numeric key values of a batch. While they arrive strictly increasing (the usual case) none can repeat;
 * otherwise the log is sorted once, at seal, to look for a repeat.
 */
export class NumericKeyLog {
  private values = new Float64Array(1024);
  length = 0;
  private increasing = true;

  push(v: number): void {
    if (this.length > 0 && !(v > this.values[this.length - 1]!)) this.increasing = false;
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = v;
  }

  hasRepeats(): boolean {
    if (this.increasing) return false;
    const sorted = this.values.slice(0, this.length).sort();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return true;
    return false;
  }
}

/** The keys of one batch, as identities (see keyIdentity). */
export class BatchKeys {
  private readonly seen = new Set<unknown>();
  /** single numeric keys are logged without hashing (taps mostly send them in increasing order) */
  private readonly numeric = new NumericKeyLog();
  private repeats = false;
  /** some key value is NULL: the load must match keys NULL-safely */
  nullKeys = false;

  add(identity: unknown): void {
    if (this.repeats) return;
    if (typeof identity === "number") {
      if (this.numeric.length >= MAX_TRACKED_KEYS) this.repeats = true;
      else this.numeric.push(identity);
      return;
    }
    if (this.seen.size >= MAX_TRACKED_KEYS || this.seen.has(identity)) this.repeats = true;
    else this.seen.add(identity);
  }

  /** Keys of encoded rows as a worker reports them (numbers packed, anything else as identities). */
  addAll(keys: Float64Array | readonly unknown[], from: number, to: number): void {
    for (let i = from; i < to && !this.repeats; i++) this.add(keys[i]);
  }

  /** Whether two rows of the batch may share a key (then the load deduplicates it first). */
  mayRepeat(): boolean {
    return this.repeats || this.numeric.hasRepeats();
  }
}
