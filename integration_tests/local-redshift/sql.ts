// A small SQL lexer and the Redshift-dialect rewrites done on token streams. It only needs to be
// right about where strings, quoted identifiers, comments and statement boundaries are.

import { PG_MAX_IDENT_BYTES, pgName, redshiftName } from "./names.js";

export type TokKind = "ws" | "comment" | "string" | "qident" | "word" | "number" | "param" | "punct";
export interface Tok {
  kind: TokKind;
  text: string;
}

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function tokenize(sql: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(sql[i]!)) i++;
      toks.push({ kind: "ws", text: sql.slice(start, i) });
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < n && sql[i] !== "\n") i++;
      toks.push({ kind: "comment", text: sql.slice(start, i) });
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 0;
      while (i < n) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      toks.push({ kind: "comment", text: sql.slice(start, i) });
    } else if (c === "'" || ((c === "E" || c === "e") && sql[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < n) {
        if (escapes && sql[i] === "\\") i += 2;
        else if (sql[i] === "'") {
          if (sql[i + 1] === "'") i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      toks.push({ kind: "string", text: sql.slice(start, i) });
    } else if (c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      toks.push({ kind: "qident", text: sql.slice(start, i) });
    } else if (c === "$" && /[0-9]/.test(sql[i + 1] ?? "")) {
      i++;
      while (i < n && /[0-9]/.test(sql[i]!)) i++;
      toks.push({ kind: "param", text: sql.slice(start, i) });
    } else if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
        toks.push({ kind: "string", text: sql.slice(start, i) });
      } else {
        i++;
        toks.push({ kind: "punct", text: c });
      }
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      while (i < n && /[A-Za-z_0-9$\u0080-\uffff]/.test(sql[i]!)) i++;
      toks.push({ kind: "word", text: sql.slice(start, i) });
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) {
      while (i < n && /[0-9.eE]/.test(sql[i]!)) {
        if ((sql[i] === "e" || sql[i] === "E") && /[+-]/.test(sql[i + 1] ?? "")) i++;
        i++;
      }
      toks.push({ kind: "number", text: sql.slice(start, i) });
    } else if (c === ":" && sql[i + 1] === ":") {
      i += 2;
      toks.push({ kind: "punct", text: "::" });
    } else {
      i++;
      toks.push({ kind: "punct", text: c });
    }
  }
  return toks;
}

export const join = (toks: Tok[]): string => toks.map((t) => t.text).join("");

/** Splits on top-level semicolons; drops statements that are only whitespace/comments. */
export function splitStatements(toks: Tok[]): Tok[][] {
  const out: Tok[][] = [];
  let cur: Tok[] = [];
  for (const t of toks) {
    if (t.kind === "punct" && t.text === ";") {
      if (cur.some(isSignificant)) out.push(cur);
      cur = [];
    } else cur.push(t);
  }
  if (cur.some(isSignificant)) out.push(cur);
  return out;
}

export const isSignificant = (t: Tok): boolean => t.kind !== "ws" && t.kind !== "comment";
export const sig = (toks: Tok[]): Tok[] => toks.filter(isSignificant);
export const upper = (t: Tok | undefined): string => (t && t.kind === "word" ? t.text.toUpperCase() : "");

export function stringValue(t: Tok): string {
  if (t.text.startsWith("$")) {
    const tag = /^\$[^$]*\$/.exec(t.text)![0];
    return t.text.slice(tag.length, t.text.length - tag.length);
  }
  if (t.text[0] === "E" || t.text[0] === "e") {
    return t.text.slice(2, -1).replace(/''/g, "'").replace(/\\(.)/g, (_m, ch: string) => ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" })[ch] ?? ch);
  }
  return t.text.slice(1, -1).replace(/''/g, "'");
}

export function identValue(t: Tok): string {
  if (t.kind === "qident") return t.text.slice(1, -1).replace(/""/g, '"');
  return t.text.toLowerCase();
}

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
// NUL cannot travel inside a protocol string (it terminates it); show it instead.
export const quoteLiteral = (s: string): string => `'${s.replace(/\u0000/g, "\\x00").replace(/'/g, "''")}'`;

/**
 * Identifier rules: quoted identifiers fold ASCII letters to lowercase (Redshift's default,
 * enable_case_sensitive_identifier off); names over 127 bytes are cut to 127 (Redshift truncates
 * silently); names over PostgreSQL's 63 bytes become their short PostgreSQL name (names.ts), quoted.
 * Each such long name is added to `long` so the gateway can translate it back.
 */
export function foldIdentifiers(toks: Tok[], long?: Set<string>): void {
  for (const t of toks) {
    if (t.kind === "qident") {
      const name = redshiftName(identValue(t).replace(/[A-Z]+/g, (s) => s.toLowerCase()));
      t.text = quoteIdent(mapLong(name, long));
    } else if (t.kind === "word" && t.text.length > 21 && Buffer.byteLength(t.text, "utf8") > PG_MAX_IDENT_BYTES) {
      // (length > 21: a UTF-16 unit is at most 3 UTF-8 bytes.) PostgreSQL folds unquoted names
      // itself; a long one has to be folded here to be mapped.
      t.kind = "qident";
      t.text = quoteIdent(mapLong(redshiftName(t.text.replace(/[A-Z]+/g, (s) => s.toLowerCase())), long));
    }
  }
}

function mapLong(name: string, long: Set<string> | undefined): string {
  const short = pgName(name);
  if (short !== name) long?.add(name);
  return short;
}
