/**
 * Checks for `type_mapping` values beyond what the spec's pattern can say: bounds, and an
 * explanation for the types Redshift accepts but silently changes into something smaller.
 */

export const TYPE_MAPPING_EXAMPLES = "VARCHAR(1000), NUMERIC(38,9), SUPER, TIMESTAMPTZ, DOUBLE PRECISION, BIGINT";

/** Upper-case, single spaces, no spaces around punctuation: `numeric( 38, 9 )` → `NUMERIC(38,9)`. */
export function normaliseRedshiftType(type: string): string {
  return type
    .trim()
    .toUpperCase()
    .replace(/\s+/g, " ")
    .replace(/\s*([(),])\s*/g, "$1");
}

const FIXED = new Set([
  "SMALLINT", "INTEGER", "BIGINT", "REAL", "DOUBLE PRECISION", "BOOLEAN",
  "DATE", "TIME", "TIMETZ", "TIMESTAMP", "TIMESTAMPTZ", "SUPER",
]);

const SILENTLY_SHRUNK: Record<string, string> = {
  TEXT: "VARCHAR(256)",
  VARCHAR: "VARCHAR(256)",
  "CHARACTER VARYING": "VARCHAR(256)",
  NVARCHAR: "VARCHAR(256)",
  BPCHAR: "CHAR(256)",
  CHAR: "CHAR(1)",
  CHARACTER: "CHAR(1)",
  NCHAR: "CHAR(1)",
  NUMERIC: "NUMERIC(18,0)",
  DECIMAL: "NUMERIC(18,0)",
};

const MAX_VARCHAR = 65535;
const MAX_CHAR = 4096;
const MAX_PRECISION = 38;

/** Returns why `type` (already normalised) is not acceptable, or undefined when it is. */
export function redshiftTypeProblem(type: string): string | undefined {
  if (FIXED.has(type)) return undefined;
  const shrunk = SILENTLY_SHRUNK[type];
  if (shrunk !== undefined) {
    const hint = type.startsWith("NUMERIC") || type.startsWith("DECIMAL") ? "NUMERIC(38,9)" : "VARCHAR(65535)";
    return `${JSON.stringify(type)} is not allowed: Redshift silently turns it into ${shrunk}, which truncates or rejects data; give an explicit size such as ${hint}`;
  }
  let m = /^VARCHAR\((\d+|MAX)\)$/.exec(type);
  if (m) {
    const n = m[1] === "MAX" ? MAX_VARCHAR : Number(m[1]);
    return n >= 1 && n <= MAX_VARCHAR ? undefined : `${JSON.stringify(type)}: VARCHAR length must be 1-${MAX_VARCHAR} bytes (or MAX)`;
  }
  m = /^CHAR\((\d+)\)$/.exec(type);
  if (m) {
    const n = Number(m[1]);
    return n >= 1 && n <= MAX_CHAR ? undefined : `${JSON.stringify(type)}: CHAR length must be 1-${MAX_CHAR} bytes`;
  }
  m = /^(?:NUMERIC|DECIMAL)\((\d+)(?:,(\d+))?\)$/.exec(type);
  if (m) {
    const p = Number(m[1]);
    const s = m[2] === undefined ? 0 : Number(m[2]);
    if (p < 1 || p > MAX_PRECISION) return `${JSON.stringify(type)}: precision must be 1-${MAX_PRECISION}`;
    if (s > p || s > MAX_PRECISION - 1) return `${JSON.stringify(type)}: scale must be at most the precision (and at most 37)`;
    return undefined;
  }
  return `expected a Redshift type such as ${TYPE_MAPPING_EXAMPLES}, got ${JSON.stringify(type)}`;
}
