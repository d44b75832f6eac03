/**
 * One record → one CSV row (without the ordinal and newline), plus its key identity. The same code runs
 * on the main thread and in the encode workers, so both write byte-identical rows.
 */
import { CSV_NULL_MARKER } from "../redshift/sql.js";
import type { ColumnType } from "../redshift/types.js";
import { fieldIdentity } from "./batch-keys.js";
import type { RowChanges } from "./encode.js";
import type { MetaSource } from "./metadata-values.js";
import type { ColumnPlan, RowContext } from "./table-shape.js";

/** What a worker needs to rebuild a stream's columns (plans hold closures, which cannot cross threads). */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** a data column's raw property */
  property?: string;
  /** a metadata column's value, as data */
  meta?: MetaSource;
}

export class CsvRowEncoder {
  private readonly keyIndexes: number[];
  private readonly keyKinds: string[];
  /** per column: its place in the key (-1: not a key column) */
  private readonly keyPlace: Int8Array;
  /** identity of the last row's key (see BatchKeys); undefined for streams without keys */
  key: unknown;
  /** the last row has a NULL key value */
  nullKey = false;

  constructor(
    private readonly plans: readonly ColumnPlan[],
    keyColumns: readonly string[],
  ) {
    this.keyIndexes = keyColumns.map((k) => plans.findIndex((p) => p.name === k));
    this.keyKinds = this.keyIndexes.map((i) => plans[i]!.type.kind);
    this.keyPlace = new Int8Array(plans.length).fill(-1);
    this.keyIndexes.forEach((column, place) => (this.keyPlace[column] = place));
  }

  /** Throws what the encoders throw (InvalidValueError under invalid_value: fail). */
  encode(record: Record<string, unknown>, changes: RowChanges, ctx?: RowContext): string {
    const plans = this.plans;
    const keyPlace = this.keyPlace;
    const keyCount = this.keyIndexes.length;
    let row = "";
    let k0 = "";
    let rest = "";
    let nullKey = false;
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i]!;
      const field = p.encode(p.property !== undefined ? record[p.property] : p.meta!.value(ctx!), changes);
      row = i === 0 ? field : `${row},${field}`;
      const place = keyPlace[i]!;
      if (place !== -1) {
        if (field === CSV_NULL_MARKER) nullKey = true;
        if (place === 0) k0 = field;
        else rest += `,${field}`;
      }
    }
    this.nullKey = nullKey;
    if (keyCount === 1) this.key = fieldIdentity(k0, this.keyKinds[0]!);
    else if (keyCount > 1) this.key = k0 + rest;
    return row;
  }

  /** The key identity of a row decided as values (Parquet: unquoted text, null for NULL), in plan order. */
  keyOfValues(values: readonly (string | null)[]): void {
    const keys = this.keyIndexes;
    this.nullKey = keys.some((i) => values[i] === null);
    if (keys.length === 1) this.key = fieldIdentity(values[keys[0]!] ?? CSV_NULL_MARKER, this.keyKinds[0]!);
    else if (keys.length > 1) this.key = JSON.stringify(keys.map((i) => values[i]));
  }
}
