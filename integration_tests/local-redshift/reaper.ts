// What a stand-in leaves on the machine (child processes, temp dirs) is registered here, so that it goes
// away however the hosting process ends: stop(), process.exit(), an uncaught error, or a signal sent to
// the whole process group (Ctrl-C in a terminal, `kill -INT -<pgid>`). A signal's default action kills
// Node without running 'exit' listeners, so while anything is registered the reaper listens for
// SIGINT/SIGTERM/SIGHUP: when nobody else does, it cleans up synchronously and re-raises the signal (the
// process still dies by it); when the host has its own handler (the CLI, vitest), the host decides when
// to exit and the 'exit' listener cleans up then.
import fs from "node:fs";

export interface Leftover {
  /** Child processes to stop (SIGQUIT for PostgreSQL: immediate shutdown of the postmaster and its backends). */
  pids?: Array<{ pid: number | undefined; signal: NodeJS.Signals }>;
  dirs?: string[];
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const registered = new Set<Leftover>();
let installed = false;

const onExit = (): void => reapAll();
const onSignal = (sig: NodeJS.Signals): void => {
  if (process.listenerCount(sig) > 1) return;
  reapAll();
  uninstall();
  process.kill(process.pid, sig);
};

function install(): void {
  if (installed) return;
  installed = true;
  // First in line: a host's own 'exit' listener may call process.exit() again (vitest does), which ends
  // the process at once and skips every listener after it.
  process.prependListener("exit", onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off("exit", onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Registers what to remove; returns a function that forgets it (after an orderly stop). */
export function track(l: Leftover): () => void {
  registered.add(l);
  install();
  return () => {
    registered.delete(l);
    if (registered.size === 0) uninstall();
  };
}

/**
 * Synchronously stops every registered process (waiting up to 5 s each, then SIGKILL) and removes every
 * registered dir. Never throws: one failure must not keep the other leftovers (this runs in 'exit').
 */
export function reapAll(): void {
  for (const l of [...registered]) {
    for (const p of l.pids ?? []) {
      if (!p.pid) continue;
      try {
        killAndWaitSync(p.pid, p.signal, 5000);
      } catch {
        /* keep going */
      }
    }
    for (const d of l.dirs ?? []) {
      try {
        removeDirSync(d);
      } catch (e) {
        process.stderr.write(`[local-redshift] could not remove ${d}: ${(e as Error).message}\n`);
      }
    }
    registered.delete(l);
  }
}

export function removeDirSync(dir: string): void {
  // A process that is still exiting (a backend outliving a SIGKILLed postmaster, initdb removing its own
  // data dir on SIGINT) may add or remove files meanwhile: retry on ENOTEMPTY/EBUSY (~2 s in all).
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 20 });
}

const sleepSync = (ms: number): void => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

/** True while pid runs; a zombie (exited, not yet reaped by Node's event loop) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    try {
      process.kill(pid, 0);
      return fs.existsSync("/proc") ? false : true;
    } catch {
      return false;
    }
  }
}

export function killAndWaitSync(pid: number, signal: NodeJS.Signals, timeoutMs: number): void {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) sleepSync(10);
  if (alive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}
