// The Redshift-dialect gateway: a PostgreSQL wire proxy. Everything passes through, except what
// Redshift does differently, which is rewritten or executed here on the client's own backend
// session (so temp tables and transactions behave as one session).
import net from "node:net";
import tls from "node:tls";
import pg from "pg";
import { rewriteStatement, type Rewritten } from "./dialect.js";
import { GatewayError, identValue, join, quoteLiteral, sig, splitStatements, tokenize, upper, type Tok } from "./sql.js";
import {
  FrameReader,
  type Msg,
  commandComplete,
  cstr,
  fieldsToBuffer,
  frame,
  noticeResponse,
  parseDataRow,
  parseFields,
  parseRowDescription,
  query,
  readyForQuery,
  type ErrorFields,
} from "./wire.js";
import { runCopy } from "./copy.js";
import { LongNames, pgName, translateFrame } from "./names.js";
import type { S3Reader } from "./s3.js";
import type { IamStore } from "./aws.js";

export interface GatewayFaults {
  commitFailures: number;
  /** "commit": cut before the COMMIT reaches the server; "commit-applied": after it committed, before the answer. */
  dropOn: Array<"copy" | "merge" | "commit" | "commit-applied">;
  sqlLatencyMs: number;
  /** DDL that loses a race with another session the next n times (see ddlTarget). */
  races: { schema: number; table: number; column: number };
}

/** What a CREATE SCHEMA / CREATE TABLE / ALTER TABLE … ADD [COLUMN] creates, for the race faults. */
export interface DdlTarget {
  what: "schema" | "table" | "column";
  /** schema name; table name as written (possibly schema-qualified); for a column, its table. */
  name: string;
  /** The last part of a qualified name (PostgreSQL's messages show only that). */
  shortName: string;
  column?: string;
  ifNotExists: boolean;
}

export function ddlTarget(toks: Tok[]): DdlTarget | undefined {
  const s = sig(toks);
  const qualified = (from: number): { name: string; shortName: string; end: number } | undefined => {
    if (!s[from]) return undefined;
    const parts = [identValue(s[from]!)];
    let end = from;
    while (s[end + 1]?.text === "." && s[end + 2]) {
      parts.push(identValue(s[end + 2]!));
      end += 2;
    }
    return { name: parts.join("."), shortName: parts[parts.length - 1]!, end };
  };
  const ifNot = (k: number) => upper(s[k]) === "IF" && upper(s[k + 1]) === "NOT" && upper(s[k + 2]) === "EXISTS";
  if (upper(s[0]) === "CREATE") {
    let k = 1;
    while (["TEMP", "TEMPORARY", "LOCAL", "GLOBAL", "UNLOGGED"].includes(upper(s[k]))) k++;
    const what = upper(s[k]);
    if (what !== "SCHEMA" && what !== "TABLE") return undefined;
    if (what === "TABLE" && k > 1) return undefined; // temp tables are per session: no race
    k++;
    const ine = ifNot(k);
    if (ine) k += 3;
    const q = qualified(k);
    if (!q) return undefined;
    return { what: what === "SCHEMA" ? "schema" : "table", name: q.name, shortName: q.shortName, ifNotExists: ine };
  }
  if (upper(s[0]) === "ALTER" && upper(s[1]) === "TABLE") {
    let k = 2;
    if (upper(s[k]) === "IF") k += 2;
    const q = qualified(k);
    if (!q || upper(s[q.end + 1]) !== "ADD") return undefined;
    let c = q.end + 2;
    if (upper(s[c]) === "COLUMN") c++;
    const ine = ifNot(c);
    if (ine) c += 3;
    if (!s[c] || ["CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"].includes(upper(s[c]))) return undefined;
    return { what: "column", name: q.name, shortName: q.shortName, column: identValue(s[c]!), ifNotExists: ine };
  }
  return undefined;
}

export interface GatewayOptions {
  pgHost: string;
  pgPort: number;
  adminConfig: pg.ClientConfig;
  cert: string;
  key: string;
  s3: S3Reader;
  s3AccessKeyId: string;
  faults: GatewayFaults;
  /** Credentials issued by the local AWS endpoint: an expired one gets Redshift's error text at login. */
  iam?: IamStore;
  log: (l: string) => void;
}

export interface InternalResult {
  rows: Array<Array<string | null>>;
  columns: string[];
  error?: Map<string, string>;
  tag?: string;
}

let querySeq = 1000;
export const nextQueryId = (): number => ++querySeq;

const PROTOCOL_V3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export class Gateway {
  private server: net.Server;
  private sessions = new Set<Session>();
  admin: pg.Client;
  port = 0;
  /** Redshift names over 63 bytes seen by any session, by their PostgreSQL names. */
  readonly names = new LongNames();
  get s3AccessKeyId(): string {
    return this.opts.s3AccessKeyId;
  }

  constructor(readonly opts: GatewayOptions) {
    this.admin = new pg.Client(opts.adminConfig);
    this.server = net.createServer((sock) => this.accept(sock));
  }

  async start(): Promise<number> {
    await this.admin.connect();
    // The admin connection is ours; a backend restart must not crash the process.
    this.admin.on("error", (e) => this.opts.log(`admin connection error: ${e.message}`));
    const known = await this.admin.query<{ redshift_name: string }>("SELECT redshift_name FROM redshift_local.identifiers");
    for (const r of known.rows) this.names.add(r.redshift_name);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const a = this.server.address();
    this.port = typeof a === "object" && a ? a.port : 0;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.admin.end().catch(() => {});
  }

  /**
   * Records the long names a statement uses before it runs, in memory (for translating results back)
   * and in redshift_local.identifiers (for direct PostgreSQL clients), outside the session's transaction.
   */
  async register(stmts: readonly Rewritten[]): Promise<void> {
    const fresh: string[] = [];
    for (const r of stmts) for (const name of r.longNames ?? []) if (this.names.add(name)) fresh.push(name);
    if (!fresh.length) return;
    // The in-memory pairs are what the gateway uses; the table is for direct clients, so a failure to
    // write it is logged rather than failing the client's statement.
    await this.admin.query(
      "INSERT INTO redshift_local.identifiers (pg_name, redshift_name) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
      [fresh.map(pgName), fresh],
    ).catch((e: Error) => this.opts.log(`could not record long names in redshift_local.identifiers: ${e.message}`));
  }

  dropAll(): void {
    for (const s of this.sessions) s.destroy();
  }

  private accept(sock: net.Socket): void {
    sock.setNoDelay(true);
    const reader = new FrameReader(true);
    const onData = (chunk: Buffer) => {
      for (const m of reader.push(chunk)) {
        const code = m.raw.length >= 8 ? m.raw.readInt32BE(4) : 0;
        if (code === SSL_REQUEST) {
          sock.off("data", onData);
          sock.write("S");
          const secure = new tls.TLSSocket(sock, { isServer: true, cert: this.opts.cert, key: this.opts.key });
          secure.on("error", () => sock.destroy());
          this.startup(secure, new FrameReader(true));
          return;
        }
        if (code === GSSENC_REQUEST) {
          sock.write("N");
          continue;
        }
        if (code === CANCEL_REQUEST) {
          sock.off("data", onData);
          const b = net.connect(this.opts.pgPort, this.opts.pgHost, () => {
            b.end(m.raw);
          });
          b.on("error", () => {});
          sock.end();
          return;
        }
        sock.off("data", onData);
        const rest = reader.takeRest();
        const s = new Session(this, sock, m, rest);
        this.track(s);
        return;
      }
    };
    sock.on("data", onData);
    sock.on("error", () => sock.destroy());
  }

  private startup(sock: tls.TLSSocket, reader: FrameReader): void {
    const onData = (chunk: Buffer) => {
      const msgs = reader.push(chunk);
      const m = msgs[0];
      if (!m) return;
      sock.off("data", onData);
      const code = m.raw.readInt32BE(4);
      if (code !== PROTOCOL_V3) {
        sock.destroy();
        return;
      }
      this.track(new Session(this, sock, m, reader.takeRest()));
    };
    sock.on("data", onData);
  }

  private track(s: Session): void {
    this.sessions.add(s);
    s.onClose = () => this.sessions.delete(s);
  }
}

type Collector = (m: Msg) => void;

export class Session {
  backend: net.Socket;
  txStatus = "I";
  pendingRfq = 1; // the start-up exchange ends with a ReadyForQuery
  lastCopyCount = 0;
  backendPid = 0;
  /** The user name of the start-up message. */
  user = "";
  private authenticated = false;
  closed = false;
  onClose: () => void = () => {};
  private collector?: Collector;
  private idleWaiters: Array<() => void> = [];
  private queue: Msg[] = [];
  private pumping = false;
  private clientReader = new FrameReader(false);
  private backendReader = new FrameReader(false);
  private rejects = new Map<number, GatewayError>();
  private rejectSeq = 0;
  private outBuf: Buffer[] = [];
  /** Prepared statements (by name) that read a catalog: their long text parameters are names. */
  private catalogStatements = new Set<string>();

  constructor(
    readonly gw: Gateway,
    readonly client: net.Socket | tls.TLSSocket,
    startup: Msg,
    rest: Buffer,
  ) {
    this.user = startupParam(startup.raw, "user") ?? "";
    this.backend = net.connect(gw.opts.pgPort, gw.opts.pgHost);
    this.backend.setNoDelay(true);
    this.backend.write(startup.raw);
    this.backend.on("data", (c: Buffer) => this.onBackendData(c));
    this.backend.on("error", () => this.destroy());
    this.backend.on("close", () => this.destroy());
    client.on("data", (c: Buffer) => this.onClientData(c));
    client.on("error", () => this.destroy());
    client.on("close", () => this.destroy());
    if (rest.length) this.onClientData(rest);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.backend.destroy();
    for (const w of this.idleWaiters) w();
    this.idleWaiters = [];
    this.collector?.({ type: "closed", body: Buffer.alloc(0), raw: Buffer.alloc(0) });
    this.onClose();
  }

  // ---- backend -> client

  private onBackendData(chunk: Buffer): void {
    for (const m of this.backendReader.push(chunk)) {
      if (m.type === "Z") this.txStatus = String.fromCharCode(m.body[0]!);
      if (m.type === "K") this.backendPid = m.body.readInt32BE(0);
      if (m.type === "R" && m.body.length >= 4 && m.body.readInt32BE(0) === 0) this.authenticated = true;
      if (this.collector) {
        this.collector(m);
        continue;
      }
      this.outBuf.push(this.toClient(m));
      if (m.type === "Z") {
        this.pendingRfq = Math.max(0, this.pendingRfq - 1);
        if (this.pendingRfq === 0) this.flushIdle();
      }
    }
    this.flushOut();
  }

  private flushOut(): void {
    if (this.outBuf.length === 0) return;
    const b = this.outBuf.length === 1 ? this.outBuf[0]! : Buffer.concat(this.outBuf);
    this.outBuf = [];
    if (!this.closed) this.client.write(b);
  }

  private flushIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private idle(): Promise<void> {
    if (this.pendingRfq === 0 || this.closed) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** A backend frame as the client should see it: Redshift errors, Redshift names. */
  private toClient(m: Msg): Buffer {
    if (m.type === "E" || (m.type === "N" && this.gw.names.size)) return this.rewriteError(m);
    if ((m.type === "D" || m.type === "T") && this.gw.names.size) return translateFrame(this.gw.names, m.type, m.raw) ?? m.raw;
    return m.raw;
  }

  rewriteError(m: Msg): Buffer {
    const f = parseFields(m.body);
    if (!this.authenticated && f.get("C") === "28P01") {
      // PostgreSQL refuses a role past VALID UNTIL like a wrong password; Redshift names the cause.
      const issued = this.gw.opts.iam?.issued.get(this.user);
      if (issued && issued.expiresAt.getTime() <= Date.now()) {
        f.set("S", "FATAL");
        f.set("V", "FATAL");
        f.set("C", "28000");
        f.set("M", "IAM Authentication token has expired");
      }
    }
    const msg = f.get("M") ?? "";
    const marker = /column "redshift_local_reject_(\d+)" does not exist/.exec(msg);
    if (marker) {
      const e = this.rejects.get(Number(marker[1]));
      this.rejects.delete(Number(marker[1]));
      if (e) {
        f.set("C", e.code);
        f.set("M", e.message);
        f.delete("P");
        if (e.detail) f.set("D", e.detail);
        if (e.hint) f.set("H", e.hint);
      }
    }
    if ((f.get("W") ?? "").includes("redshift_local_raise")) f.delete("W");
    if (/MERGE command cannot affect row a second time/.test(msg)) {
      f.set("C", "XX000");
      f.set("M", "Found multiple matches to update the same tuple.");
    }
    if (this.gw.names.size) {
      for (const [k, v] of f) if (!"SVCFLRPp".includes(k)) f.set(k, this.gw.names.inText(v));
    }
    return fieldsToBuffer(m.type, f);
  }

  sendToClient(b: Buffer): void {
    if (!this.closed) this.client.write(b);
  }

  sendError(e: ErrorFields): void {
    this.sendToClient(frame("E", errorBody(e)));
  }

  sendNotice(e: ErrorFields): void {
    this.sendToClient(noticeResponse(e));
  }

  // ---- client -> backend

  private onClientData(chunk: Buffer): void {
    for (const m of this.clientReader.push(chunk)) {
      // While nothing is waiting on the gateway, pass frames straight on in order.
      if (!this.pumping && this.queue.length === 0 && m.type !== "Q" && m.type !== "P") this.forward(m);
      else this.queue.push(m);
    }
    void this.pump();
  }

  private forward(m: Msg): void {
    if (m.type === "S") this.pendingRfq++;
    if (m.type === "B" && this.catalogStatements.size) m = this.bindNames(m);
    if (!this.closed) this.backend.write(m.raw);
    if (m.type === "X") this.destroy();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length && !this.closed) {
        const m = this.queue.shift()!;
        if (m.type === "Q") await this.simpleQuery(m.body.toString("utf8", 0, m.body.length - 1));
        else if (m.type === "P") await this.parse(m);
        else this.forward(m);
      }
    } catch (err) {
      this.gw.opts.log(`gateway session error: ${(err as Error).stack ?? String(err)}`);
      this.destroy();
    } finally {
      this.pumping = false;
    }
  }

  private markerFor(e: GatewayError): string {
    const id = ++this.rejectSeq;
    this.rejects.set(id, e);
    return `SELECT "redshift_local_reject_${id}"`;
  }

  /** Extended protocol: rewrite the statement text; refuse what only the simple-query path emulates. */
  private async parse(m: Msg): Promise<void> {
    const b = m.body;
    const nameEnd = b.indexOf(0);
    const qEnd = b.indexOf(0, nameEnd + 1);
    const name = b.subarray(0, nameEnd);
    const sql = b.toString("utf8", nameEnd + 1, qEnd);
    const tail = b.subarray(qEnd + 1);
    let out: string;
    try {
      const stmts = splitStatements(tokenize(sql)).map((t) => rewriteStatement(t));
      const bad = stmts.find((r) => r.kind === "copy-s3" || (r.kind === "truncate" && this.txStatus !== "I") || r.kind === "alter-type");
      if (bad?.kind === "copy-s3") {
        throw new GatewayError("COPY FROM 's3://...' is emulated only through the simple query protocol (a query without bind parameters)", "0A000");
      } else if (bad?.kind === "truncate") {
        throw new GatewayError("TRUNCATE inside a transaction is emulated (implicit commit) only through the simple query protocol", "0A000");
      } else if (bad?.kind === "alter-type" && this.txStatus !== "I") {
        throw new GatewayError("ALTER TABLE ALTER COLUMN cannot run inside a transaction block", "25001");
      }
      await this.gw.register(stmts);
      if (stmts.some((r) => r.catalog)) this.catalogStatements.add(name.toString("utf8"));
      else this.catalogStatements.delete(name.toString("utf8"));
      out = stmts.map((r) => this.finalSql(r)).join("; ");
      if (stmts.length === 0) out = sql;
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      out = this.markerFor(e);
    }
    this.forward({ type: "P", body: Buffer.alloc(0), raw: frame("P", Buffer.concat([name, Buffer.from([0]), cstr(out), tail])) });
  }

  /**
   * Bind of a catalog statement: a text parameter of more than 63 bytes is a name compared with a name
   * column, and becomes its PostgreSQL name (as literals do, see mapNameLiterals).
   */
  private bindNames(m: Msg): Msg {
    const b = m.body;
    const portalEnd = b.indexOf(0);
    const stmtEnd = b.indexOf(0, portalEnd + 1);
    if (!this.catalogStatements.has(b.toString("utf8", portalEnd + 1, stmtEnd))) return m;
    let off = stmtEnd + 1;
    const nFormats = b.readInt16BE(off);
    const formats: number[] = [];
    for (let i = 0; i < nFormats; i++) formats.push(b.readInt16BE(off + 2 + 2 * i));
    off += 2 + 2 * nFormats;
    const nParams = b.readInt16BE(off);
    off += 2;
    const parts: Buffer[] = [b.subarray(0, off)];
    let changed = false;
    for (let i = 0; i < nParams; i++) {
      const len = b.readInt32BE(off);
      const text = (nFormats === 1 ? formats[0] : (formats[i] ?? 0)) === 0;
      let value = len > 0 ? b.subarray(off + 4, off + 4 + len) : undefined;
      if (value && text && len > 63) {
        value = Buffer.from(pgName(value.toString("utf8")), "utf8");
        changed = true;
      }
      const head = Buffer.allocUnsafe(4);
      head.writeInt32BE(value ? value.length : len);
      parts.push(head);
      if (value) parts.push(value);
      off += 4 + Math.max(len, 0);
    }
    if (!changed) return m;
    parts.push(b.subarray(off));
    const body = Buffer.concat(parts);
    return { type: "B", body, raw: frame("B", body) };
  }

  /** pg_last_copy_count() answers from the gateway's own record of this session's last COPY. */
  finalSql(r: Rewritten): string {
    const t = r.toks;
    let changed = false;
    const out: Tok[] = [];
    for (let i = 0; i < t.length; i++) {
      const tok = t[i]!;
      if (tok.kind === "word" && tok.text.toLowerCase() === "pg_last_copy_count") {
        let j = i + 1;
        while (t[j] && t[j]!.kind === "ws") j++;
        if (t[j]?.text === "(") {
          let k = j + 1;
          while (t[k] && t[k]!.kind === "ws") k++;
          if (t[k]?.text === ")") {
            out.push({ kind: "word", text: `pg_catalog.pg_last_copy_count(${this.lastCopyCount})` });
            i = k;
            changed = true;
            continue;
          }
        }
      }
      out.push(tok);
    }
    return changed ? join(out) : r.sql;
  }

  private async simpleQuery(sql: string): Promise<void> {
    const f = this.gw.opts.faults;
    if (f.sqlLatencyMs > 0) await new Promise((r) => setTimeout(r, f.sqlLatencyMs));
    let stmts: Rewritten[];
    try {
      stmts = splitStatements(tokenize(sql)).map((t) => rewriteStatement(t));
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      await this.idle();
      // Raised inside the backend so an open transaction is aborted just as a real error would.
      this.forward({ type: "Q", body: Buffer.alloc(0), raw: query(raiseSql(e)) });
      this.pendingRfq++;
      return;
    }
    await this.gw.register(stmts);
    const special = stmts.some(
      (r) =>
        r.kind === "copy-s3" ||
        r.kind === "truncate" ||
        r.kind === "alter-type" ||
        (r.kind === "commit" && (f.commitFailures > 0 || f.dropOn.includes("commit") || f.dropOn.includes("commit-applied"))) ||
        (r.kind === "merge" && f.dropOn.includes("merge")) ||
        (f.races.schema + f.races.table + f.races.column > 0 && ddlTarget(r.toks) !== undefined),
    );
    if (!special) {
      const text = stmts.length ? stmts.map((r) => this.finalSql(r)).join(";\n") : sql;
      this.pendingRfq++;
      if (!this.closed) this.backend.write(query(text));
      return;
    }
    await this.idle();
    for (const r of stmts) {
      if (this.closed) return;
      const ok = await this.statement(r);
      if (this.closed) return;
      if (!ok) break;
    }
    this.sendToClient(readyForQuery(this.txStatus));
  }

  /** One statement of a query the gateway runs step by step; false stops the rest (as PostgreSQL does). */
  private async statement(r: Rewritten): Promise<boolean> {
    const f = this.gw.opts.faults;
    switch (r.kind) {
      case "copy-s3":
        return runCopy(this, r);
      case "truncate":
        // Redshift's TRUNCATE commits the open transaction first.
        if (this.txStatus === "T") await this.internal("COMMIT");
        return this.forwarded(this.finalSql(r));
      case "commit":
        if (this.txStatus === "T" && f.dropOn.includes("commit")) {
          f.dropOn.splice(f.dropOn.indexOf("commit"), 1);
          // The COMMIT never reaches the server; closing the backend session rolls the transaction back.
          this.destroy();
          return false;
        }
        if (this.txStatus === "T" && f.dropOn.includes("commit-applied")) {
          f.dropOn.splice(f.dropOn.indexOf("commit-applied"), 1);
          // The transaction is committed, the answer is lost: the client cannot tell which case it is in.
          // (internal() relays nothing to the client; closing the client first would close the backend too.)
          await this.internal(this.finalSql(r));
          this.destroy();
          return false;
        }
        if (f.commitFailures > 0 && this.txStatus === "T") {
          f.commitFailures--;
          await this.internal("ROLLBACK");
          this.sendError({
            code: "XX000",
            message: `1023: Serializable isolation violation on table - 100123, transactions forming the cycle are: 4242, 4243 (pid:${this.backendPid})`,
            detail: `Serializable isolation violation on table - 100123, transactions forming the cycle are: 4242, 4243 (pid:${this.backendPid})`,
          });
          return false;
        }
        return this.forwarded(this.finalSql(r));
      case "merge":
        if (f.dropOn.includes("merge")) {
          f.dropOn.splice(f.dropOn.indexOf("merge"), 1);
          // The statement reaches the server, the client never hears back: like a broken network path.
          this.collector = () => {};
          this.client.destroy();
          await new Promise<void>((res) => this.backend.write(query(this.finalSql(r)), () => res()));
          this.destroy();
          return false;
        }
        return this.forwarded(this.finalSql(r));
      case "alter-type":
        return this.alterType(r);
      default: {
        const target = ddlTarget(r.toks);
        if (target && f.races[target.what] > 0) {
          f.races[target.what]--;
          return this.loseRace(target, this.finalSql(r));
        }
        return this.forwarded(this.finalSql(r));
      }
    }
  }

  /**
   * Another session runs the same DDL first (so the object exists afterwards, as after a real race), then
   * this statement fails as the loser of the race does in PostgreSQL (and Redshift, its fork): the
   * "already exists" error, or with IF NOT EXISTS — where both sessions passed the catalog check — the
   * unique violation of the catalog index.
   */
  private async loseRace(t: DdlTarget, sql: string): Promise<boolean> {
    const other = new pg.Client({ ...this.gw.opts.adminConfig, options: "-c lock_timeout=2000" });
    try {
      await other.connect();
      await other.query(sql);
    } catch (e) {
      // E.g. the schema was created in this session's open transaction: the other session cannot see it.
      this.gw.opts.log(`race fault: the other session's ${t.what} DDL failed: ${(e as Error).message}`);
    } finally {
      await other.end().catch(() => {});
    }
    const err =
      t.what === "schema"
        ? t.ifNotExists
          ? new GatewayError(`duplicate key value violates unique constraint "pg_namespace_nspname_index"`, "23505", `Key (nspname)=(${t.name}) already exists.`)
          : new GatewayError(`schema "${t.name}" already exists`, "42P06")
        : t.what === "table"
          ? t.ifNotExists
            ? new GatewayError(`duplicate key value violates unique constraint "pg_type_typname_nsp_index"`, "23505")
            : new GatewayError(`relation "${t.shortName}" already exists`, "42P07")
          : new GatewayError(`column "${t.column}" of relation "${t.shortName}" already exists`, "42701");
    return this.raise(err);
  }

  private async alterType(r: Rewritten): Promise<boolean> {
    const a = r.alter!;
    if (this.txStatus !== "I") return this.raise(new GatewayError("ALTER TABLE ALTER COLUMN cannot run inside a transaction block", "25001"));
    const cur = await this.internal(
      `SELECT t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = ${quoteLiteral(a.table)}::regclass AND a.attname = ${quoteLiteral(a.column)} AND NOT a.attisdropped`,
    );
    if (cur.error) return this.forwarded(this.finalSql(r));
    const row = cur.rows[0];
    if (!row) return this.forwarded(this.finalSql(r));
    if (row[0] !== "varchar" || a.varcharLen === undefined) {
      return this.raise(new GatewayError(`ALTER COLUMN TYPE is supported only for VARCHAR columns (column "${a.column}" is ${row[0]}, target ${a.typeSql})`, "0A000"));
    }
    const curLen = Number(row[1]) - 4;
    if (a.varcharLen < curLen) {
      return this.raise(new GatewayError(`target column size ${a.varcharLen} should be greater or equal to current maximum column size ${curLen}`, "0A000"));
    }
    return this.forwarded(this.finalSql(r));
  }

  raise(e: GatewayError): Promise<boolean> {
    return this.forwarded(raiseSql(e));
  }

  /** Runs sql on the backend, relaying everything but ReadyForQuery to the client. */
  forwarded(sql: string): Promise<boolean> {
    return new Promise((resolve) => {
      let ok = true;
      this.collector = (m) => {
        if (m.type === "closed") return resolve(false);
        if (m.type === "Z") {
          this.collector = undefined;
          this.flushOut();
          return resolve(ok);
        }
        if (m.type === "E") ok = false;
        this.outBuf.push(this.toClient(m));
      };
      this.backend.write(query(sql));
    });
  }

  /** Runs sql on the backend for the gateway's own use; nothing reaches the client. */
  internal(sql: string): Promise<InternalResult> {
    return new Promise((resolve) => {
      const res: InternalResult = { rows: [], columns: [] };
      this.collector = (m) => {
        switch (m.type) {
          case "closed":
            res.error = new Map([["M", "connection closed"]]);
            return resolve(res);
          case "T":
            res.columns = parseRowDescription(m.body);
            break;
          case "D":
            res.rows.push(parseDataRow(m.body));
            break;
          case "C":
            res.tag = m.body.toString("utf8", 0, m.body.length - 1);
            break;
          case "E":
            res.error = parseFields(m.body);
            break;
          case "S":
            this.sendToClient(m.raw);
            break;
          case "Z":
            this.collector = undefined;
            return resolve(res);
        }
      };
      this.backend.write(query(sql));
    });
  }

  /**
   * COPY ... FROM STDIN on this session. feed() sends data through send(); it should stop when
   * aborted() turns true (the server already failed the COPY).
   */
  copyIn(
    sql: string,
    feed: (send: (chunk: Buffer[]) => Promise<void>, aborted: () => boolean) => Promise<string | undefined>,
  ): Promise<{ tag?: string; error?: Map<string, string> }> {
    return new Promise((resolve, reject) => {
      const res: { tag?: string; error?: Map<string, string> } = {};
      let started = false;
      // Resolve only once feed() is done too: the server may fail the COPY while feed() still runs.
      let fed: Promise<unknown> = Promise.resolve();
      this.collector = (m) => {
        switch (m.type) {
          case "closed":
            res.error = new Map([["M", "connection closed"]]);
            return resolve(res);
          case "G":
            if (started) break;
            started = true;
            {
              // One CopyData message made of the pieces, written without copying them.
              const send = (pieces: Buffer[]): Promise<void> => {
                if (this.closed) return Promise.resolve();
                let len = 0;
                for (const p of pieces) len += p.length;
                const head = Buffer.allocUnsafe(5);
                head[0] = 0x64; // 'd'
                head.writeInt32BE(len + 4, 1);
                this.backend.cork();
                this.backend.write(head);
                let more = true;
                for (const p of pieces) more = this.backend.write(p);
                this.backend.uncork();
                return more ? Promise.resolve() : new Promise((r) => this.backend.once("drain", () => r()));
              };
              fed = feed(send, () => res.error !== undefined || this.closed).then(
                (failMsg) => {
                  if (this.closed) return;
                  if (failMsg !== undefined) this.backend.write(frame("f", cstr(failMsg)));
                  else this.backend.write(frame("c", Buffer.alloc(0)));
                },
                (err) => {
                  this.backend.write(frame("f", cstr(String(err))));
                  reject(err);
                },
              );
            }
            break;
          case "C":
            res.tag = m.body.toString("utf8", 0, m.body.length - 1);
            break;
          case "E":
            res.error = parseFields(m.body);
            break;
          case "N":
          case "S":
            this.sendToClient(m.raw);
            break;
          case "Z":
            this.collector = undefined;
            void fed.then(() => resolve(res), () => resolve(res));
            return;
        }
      };
      this.backend.write(query(sql));
    });
  }

  commandComplete(tag: string): void {
    this.sendToClient(commandComplete(tag));
  }
}

function errorBody(e: ErrorFields): Buffer {
  const f = new Map<string, string>([
    ["S", e.severity ?? "ERROR"],
    ["V", e.severity ?? "ERROR"],
    ["C", e.code],
    ["M", e.message],
  ]);
  if (e.detail) f.set("D", e.detail);
  if (e.hint) f.set("H", e.hint);
  return fieldsToBuffer("E", f).subarray(5);
}

/** A parameter of a start-up message: int32 length, int32 protocol, then name\0value\0 pairs. */
function startupParam(raw: Buffer, name: string): string | undefined {
  const parts = raw.toString("utf8", 8).split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === name) return parts[i + 1];
  return undefined;
}

export function raiseSql(e: GatewayError): string {
  const args = [quoteLiteral(e.message), quoteLiteral(e.code), e.detail !== undefined ? quoteLiteral(e.detail) : "NULL", e.hint !== undefined ? quoteLiteral(e.hint) : "NULL"];
  return `SELECT pg_catalog.redshift_local_raise(${args.join(", ")})`;
}
