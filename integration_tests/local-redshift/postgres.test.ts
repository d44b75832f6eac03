import fs from "node:fs";
import { describe, expect, it } from "vitest";
import pg from "pg";
import { startPostgres } from "./postgres.js";

const isRoot = process.getuid?.() === 0;

describe("embedded PostgreSQL", () => {
  it.runIf(isRoot)("as root: runs as an unprivileged user from a copied binary tree, and leaves nothing behind", async () => {
    const h = await startPostgres({ quiet: true, copyBinaries: true });
    try {
      expect(h.binRoot.startsWith(fs.realpathSync(process.env.TMPDIR ?? "/tmp")) || h.binRoot.includes("local-redshift-pg-")).toBe(true);
      expect(fs.statSync(h.dataDir).uid).not.toBe(0);
      const c = new pg.Client(h);
      await c.connect();
      const r = await c.query(`SELECT current_setting('server_encoding') AS enc, current_setting('fsync') AS fsync, current_database() AS db`);
      expect(r.rows[0]).toEqual({ enc: "SQL_ASCII", fsync: "off", db: "dev" });
      await c.end();
    } finally {
      await h.stop();
    }
    expect(fs.existsSync(h.dataDir)).toBe(false);
    expect(fs.existsSync(h.binRoot)).toBe(false);
  });

  it("stop() is idempotent and removes the data directory", async () => {
    const h = await startPostgres({ quiet: true });
    await Promise.all([h.stop(), h.stop()]);
    expect(fs.existsSync(h.dataDir)).toBe(false);
  });
});
