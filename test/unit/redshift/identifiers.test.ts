import { describe, expect, it } from "vitest";
import { assignColumnNames, MAX_IDENTIFIER_BYTES, normalizeIdentifier, quoteIdent } from "../../../src/redshift/identifiers.js";

describe("quoteIdent", () => {
  it("quotes and doubles embedded quotes", () => {
    expect(quoteIdent("users")).toBe('"users"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent("select")).toBe('"select"');
  });
  it("refuses empty names and NUL", () => {
    expect(() => quoteIdent("")).toThrow(/empty/);
    expect(() => quoteIdent("a\u0000b")).toThrow(/NUL/);
  });
  it("keeps a hostile name inside one identifier", () => {
    expect(quoteIdent('x"; DROP TABLE users; --')).toBe('"x""; DROP TABLE users; --"');
  });
});

describe("normalizeIdentifier", () => {
  it("lowercases and replaces punctuation", () => {
    expect(normalizeIdentifier("clientName")).toBe("clientname");
    expect(normalizeIdentifier("agent:os:version")).toBe("agent_os_version");
    expect(normalizeIdentifier("test:SpecialChars!in?attributes")).toBe("test_specialchars_in_attributes");
    expect(normalizeIdentifier("public-users")).toBe("public_users");
  });
  it("prefixes a leading digit and fills an empty name", () => {
    expect(normalizeIdentifier("1st")).toBe("_1st");
    expect(normalizeIdentifier("")).toBe("_");
  });
  it("keeps non-ASCII letters", () => {
    expect(normalizeIdentifier("Größe")).toBe("größe");
  });
  it("cuts at 127 bytes with a hash suffix, at a character boundary", () => {
    const long = "é".repeat(100); // 200 bytes
    const n = normalizeIdentifier(long);
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(n).toMatch(/_[0-9a-f]{8}$/);
    expect(n.startsWith("é")).toBe(true);
    expect(normalizeIdentifier(`${"a".repeat(130)}x`)).not.toBe(normalizeIdentifier(`${"a".repeat(130)}y`));
  });
  it("respects lower_case = false", () => {
    expect(normalizeIdentifier("MixedCase", { lowerCase: false })).toBe("MixedCase");
  });
});

describe("assignColumnNames", () => {
  it("resolves collisions deterministically, whatever the order", () => {
    const a = assignColumnNames(["userId", "userid", "USERID"]);
    const b = assignColumnNames(["USERID", "userid", "userId"]);
    expect(a).toEqual(b);
    expect(a.get("userid")).toBe("userid");
    expect(new Set(a.values()).size).toBe(3);
    expect(a.get("userId")).toMatch(/^userid_[0-9a-f]{8}$/);
  });
  it("keeps earlier assignments when a later schema adds a colliding name", () => {
    const first = assignColumnNames(["userId"]);
    expect(first.get("userId")).toBe("userid");
    const second = assignColumnNames(["userId", "userid"], { lowerCase: true }, first);
    expect(second.get("userId")).toBe("userid");
    expect(second.get("userid")).toMatch(/^userid_/);
  });
  it("never takes a reserved (metadata) name", () => {
    const m = assignColumnNames(["_sdc_batched_at"], { lowerCase: true }, new Map(), new Set(["_sdc_batched_at"]));
    expect(m.get("_sdc_batched_at")).toMatch(/^_sdc_batched_at_[0-9a-f]{8}$/);
  });
});

describe("issue 11: names cut at code points, internal names within 127 bytes, system schemas", () => {
  it("truncateUtf8 never leaves half a surrogate pair", async () => {
    const { truncateUtf8 } = await import("../../../src/redshift/identifiers.js");
    const s = `${"a".repeat(99)}𝐀𝐀`;
    const cut = truncateUtf8(s, 101);
    expect(cut).toBe("a".repeat(99));
    expect(() => encodeURIComponent(cut)).not.toThrow();
  });
  it("a migration's temporary column of a 127-byte name stays within 127 bytes", async () => {
    const { migrateColumnSql } = await import("../../../src/redshift/type-evolution.js");
    const name = `${"é".repeat(63)}x`;
    const temp = /ADD COLUMN "([^"]+)"/.exec(migrateColumnSql('"s"."t"', name, { kind: "bigint" }, { kind: "varchar", length: 256 })[0]!)![1]!;
    expect(Buffer.byteLength(temp, "utf8")).toBeLessThanOrEqual(127);
    expect(temp.endsWith("__tr_migrating")).toBe(true);
  });
  it("system schemas are named as such", async () => {
    const { systemSchemaProblem } = await import("../../../src/redshift/identifiers.js");
    expect(systemSchemaProblem("pg_catalog")).toMatch(/system schema/);
    expect(systemSchemaProblem("information_schema")).toMatch(/system schema/);
    expect(systemSchemaProblem("PG_INTERNAL")).toMatch(/system schema/);
    expect(systemSchemaProblem("public")).toBeUndefined();
    expect(systemSchemaProblem("pgdata")).toBeUndefined();
  });
});
