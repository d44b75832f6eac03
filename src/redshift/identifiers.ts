import { createHash } from "node:crypto";

/** Redshift's limit on identifier length, in UTF-8 bytes (longer names are silently truncated by the server). */
export const MAX_IDENTIFIER_BYTES = 127;

/**
 * The only function that puts an identifier into SQL. Every name is quoted, so reserved words,
 * digits-first names and punctuation are all safe; an embedded `"` is doubled.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error("empty identifier");
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL character");
  return `"${name.replace(/"/g, '""')}"`;
}

/** schema.table, both quoted. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** A short, stable hash of the original name: used to keep truncated or colliding names distinct. */
export function nameHash(raw: string): string {
  return createHash("sha1").update(raw, "utf8").digest("hex").slice(0, 8);
}

/**
 * Cuts a name to at most `maxBytes` UTF-8 bytes at a code-point boundary: never half a surrogate pair
 * (which no S3 key or SQL text can carry: the AWS SDK's URI encoding throws "URI malformed" on one).
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, "utf8") <= maxBytes) return s;
  let out = "";
  let bytes = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, "utf8");
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/**
 * Why `schema` cannot hold the loader's tables, or undefined: Redshift's system schemas (`pg_*`,
 * `information_schema`) belong to the catalog (Redshift Database Developer Guide, "Schemas").
 */
export function systemSchemaProblem(schema: string): string | undefined {
  const s = schema.toLowerCase();
  if (s.startsWith("pg_") || s === "information_schema") return `schema ${JSON.stringify(schema)} is a Redshift system schema; choose another target schema`;
  return undefined;
}

export interface NameRules {
  /** Fold to lowercase (Redshift folds ASCII letters even in quoted identifiers unless case sensitivity is enabled). */
  lowerCase: boolean;
}

/**
 * Turns a stream or property name into a Redshift identifier:
 * - lowercased (Redshift would fold it anyway, and a name that survives folding is predictable);
 * - anything but letters, digits, `_` and `$` becomes `_` (`agent:os:version` → `agent_os_version`),
 *   so names are usable without quoting by people who query the table;
 * - a leading digit gets a `_` prefix;
 * - over 127 bytes: cut at a character boundary and suffixed with a hash of the full original name,
 *   because Redshift would otherwise truncate silently and two long names could merge.
 */
export function normalizeIdentifier(raw: string, rules: NameRules = { lowerCase: true }): string {
  let name = rules.lowerCase ? raw.toLowerCase() : raw;
  name = name.replace(/[^\p{L}\p{N}_$]/gu, "_");
  if (name.length === 0) name = "_";
  if (/^[\p{N}$]/u.test(name)) name = `_${name}`;
  if (Buffer.byteLength(name, "utf8") > MAX_IDENTIFIER_BYTES) {
    const suffix = `_${nameHash(raw)}`;
    name = truncateUtf8(name, MAX_IDENTIFIER_BYTES - suffix.length) + suffix;
  }
  return name;
}

/**
 * Maps raw property names to distinct column names, deterministically.
 *
 * Names already assigned (from an earlier SCHEMA of the same stream in this run) keep their column, so a
 * later schema can never move data between columns. Among new names that normalise to the same column,
 * the one whose raw name already equals the normalised form wins the plain name, otherwise the
 * lexicographically smallest raw name; every other one gets `_` + a hash of its raw name — independent of
 * the order the properties arrive in.
 */
export function assignColumnNames(
  rawNames: readonly string[],
  rules: NameRules = { lowerCase: true },
  previous: ReadonlyMap<string, string> = new Map(),
  reserved: ReadonlySet<string> = new Set(),
): Map<string, string> {
  const result = new Map<string, string>();
  const taken = new Set<string>(reserved);
  for (const [raw, col] of previous) {
    result.set(raw, col);
    taken.add(col);
  }
  const groups = new Map<string, string[]>();
  for (const raw of rawNames) {
    if (result.has(raw)) continue;
    const norm = normalizeIdentifier(raw, rules);
    const group = groups.get(norm);
    if (group) group.push(raw);
    else groups.set(norm, [raw]);
  }
  for (const [norm, members] of groups) {
    const ordered = [...members].sort((a, b) => {
      if (a === norm) return -1;
      if (b === norm) return 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    for (const raw of ordered) {
      let col = norm;
      if (taken.has(col)) {
        const suffix = `_${nameHash(raw)}`;
        col = truncateUtf8(norm, MAX_IDENTIFIER_BYTES - suffix.length) + suffix;
      }
      if (taken.has(col)) throw new Error(`cannot assign a distinct column name to property ${JSON.stringify(raw)}`);
      taken.add(col);
      result.set(raw, col);
    }
  }
  return result;
}
