/**
 * Runs the connector as a real process (node + tsx on src/cli.ts), as an operator would, so signals,
 * kill -9 and a closed stdout can be tried on it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { writeConfig } from "./target.js";

const CLI = join(import.meta.dirname, "../../src/cli.ts");

export interface TargetProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: string[];
  stderr: string[];
  /** resolves with the first line (stdout or stderr) matching, or undefined after timeoutMs */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string | undefined>;
  /** write lines (objects are JSON-encoded) to stdin */
  send(...msgs: unknown[]): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export function startTarget(config: Record<string, unknown>, args: string[] = [], env: NodeJS.ProcessEnv = {}): TargetProcess {
  const { path, cleanup } = writeConfig(config);
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "--config", path, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers: { re: RegExp; resolve: (l: string) => void }[] = [];
  const feed = (into: string[]) => {
    let rest = "";
    return (d: Buffer) => {
      rest += d.toString();
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        into.push(l);
        for (const w of [...watchers]) {
          if (w.re.test(l)) {
            watchers.splice(watchers.indexOf(w), 1);
            w.resolve(l);
          }
        }
      }
    };
  };
  child.stdout.on("data", feed(stdout));
  child.stderr.on("data", feed(stderr));
  child.stdin.on("error", () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("close", (code, signal) => {
      cleanup();
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return {
    child,
    stdout,
    stderr,
    waitFor(re, timeoutMs = 60_000) {
      const seen = [...stdout, ...stderr].find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const w = { re, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
        const timer = setTimeout(() => {
          watchers.splice(watchers.indexOf(w), 1);
          resolve(undefined);
        }, timeoutMs);
        watchers.push(w);
      });
    },
    send(...msgs) {
      child.stdin.write(msgs.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join("\n") + "\n");
    },
    exited,
  };
}
