// A signal to the whole process group (Ctrl-C in a terminal) reaches the host and every child at once.
// Whatever the host is — the CLI, a script with no handler, a test runner with its own — the stand-in's
// temp dirs must be gone and no process of the group may survive. Each case runs in its own TMPDIR so
// stand-ins of other suites running in parallel are never counted.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const index = path.join(here, "index.ts");
const repoRoot = path.resolve(here, "../..");

const tmpRoots: string[] = [];
afterEach(() => {
  for (const d of tmpRoots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns args as a new process group with a private TMPDIR, waits for `ready` (stdout line or the first
 * temp dir), signals the group, and returns what is left in TMPDIR and whether the group still lives.
 */
async function signalGroup(cmd: string, args: string[], sig: NodeJS.Signals, ready: "line" | "first-dir"): Promise<{ seen: string[]; left: string[]; groupAlive: boolean }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "standin-signal-"));
  tmpRoots.push(tmp);
  fs.chmodSync(tmp, 0o755); // PostgreSQL runs as another OS user when we are root
  const ours = () => fs.readdirSync(tmp).filter((n) => n.startsWith("local-redshift-"));
  const child = spawn(cmd, args, { cwd: repoRoot, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: tmp } });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 45_000;
  while (!gone && Date.now() < deadline && !(ready === "line" ? out.includes("\n") : ours().some((n) => n.startsWith("local-redshift-pg-")))) await sleep(10);
  if (gone) throw new Error(`the process ended before it was signalled: ${err}`);
  const seen = ours();
  process.kill(-child.pid!, sig);
  await exited;
  // The leader is gone; its children may take a moment more (a polling wait, not an assertion).
  for (let i = 0; i < 500 && groupAlive(child.pid!); i++) await sleep(20);
  return { seen, left: ours(), groupAlive: groupAlive(child.pid!) };
}

const hostScript = (prelude: string) =>
  `${prelude}\nconst { startLocalRedshift } = await import(${JSON.stringify(index)});\n` +
  `await startLocalRedshift({ quiet: true });\nprocess.stdout.write("ready\\n");\nsetInterval(() => {}, 1000);\n`;

describe("a signal to the process group leaves no temp dir and no process", { timeout: 120_000 }, () => {
  // Through npm, as a user runs it: npm, node and the stand-in's children all get the signal. (With the
  // `tsx` CLI as the script, its wrapper process SIGKILLed the stand-in when it did not acknowledge the
  // relayed signal within 30 ms — busy starting up — so the script runs `node --import tsx` instead.)
  it("npm run -s redshift-local, SIGINT once it is up", async () => {
    const r = await signalGroup("npm", ["run", "-s", "redshift-local", "--", "--quiet"], "SIGINT", "line");
    expect(r.seen.some((n) => n.startsWith("local-redshift-pg-"))).toBe(true);
    expect(r.seen.some((n) => n.startsWith("local-redshift-s3-"))).toBe(true);
    expect(r.left).toEqual([]);
    expect(r.groupAlive).toBe(false);
  });

  it("npm run -s redshift-local, SIGTERM during start-up (before the CLI's own handlers exist)", async () => {
    const r = await signalGroup("npm", ["run", "-s", "redshift-local", "--", "--quiet"], "SIGTERM", "first-dir");
    expect(r.seen.length).toBeGreaterThan(0);
    expect(r.left).toEqual([]);
    expect(r.groupAlive).toBe(false);
  });

  it("a host script with no signal handler, SIGTERM", async () => {
    const r = await signalGroup(process.execPath, ["--import", "tsx", "--input-type=module", "-e", hostScript("")], "SIGTERM", "line");
    expect(r.seen.length).toBe(2);
    expect(r.left).toEqual([]);
    expect(r.groupAlive).toBe(false);
  });

  it("a host like vitest (SIGINT handler calls process.exit, its own 'exit' listener exits again), SIGINT", async () => {
    const prelude = `process.once("SIGINT", () => process.exit(130)); process.once("exit", () => process.exit());`;
    const r = await signalGroup(process.execPath, ["--import", "tsx", "--input-type=module", "-e", hostScript(prelude)], "SIGINT", "line");
    expect(r.seen.length).toBe(2);
    expect(r.left).toEqual([]);
    expect(r.groupAlive).toBe(false);
  });
});
