/**
 * kill -9 at each moment of a load, then a rerun from the last STATE the killed run printed (as a
 * scheduler does): no row lost, no key doubled. Append streams are at-least-once: rows between the last
 * STATE printed and the kill are sent again. Each case reports rows lost, duplicate keys, append
 * duplicates and staged objects left after the rerun, whose sweep removes the killed run's files (see the
 * table printed at the end). Own stand-in: faults and
 * latency are armed here. Run by `npm run test:slow`.
 */
import pg from "pg";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { useLocalRedshift } from "../local-redshift/shared.js";
import { s3Client } from "../local-redshift/test-helpers.js";
import { startTarget, type TargetProcess } from "../helpers/process.js";

const h = useLocalRedshift();
afterEach(() => h.rs.faults.reset());

const N = 3000;
const STATE_EVERY = 250;
/** Records 1..N of a keyed stream k and an append stream a, interleaved, a STATE {upto} every 250. */
function messages(from: number): unknown[] {
  const out: unknown[] = [
    { type: "SCHEMA", stream: "k", key_properties: ["id"], schema: { properties: { id: { type: "integer" }, v: { type: "string" } } } },
    { type: "SCHEMA", stream: "a", key_properties: [], schema: { properties: { id: { type: "integer" }, v: { type: "string" } } } },
  ];
  for (let i = from; i <= N; i++) {
    out.push({ type: "RECORD", stream: "k", record: { id: i, v: `k${i}` } }, { type: "RECORD", stream: "a", record: { id: i, v: `a${i}` } });
    if (i % STATE_EVERY === 0) out.push({ type: "STATE", value: { upto: i } });
  }
  return out;
}

interface Outcome {
  moment: string;
  happened: string;
  lost: number;
  duplicateKeys: number;
  appendDuplicates: number;
  leftovers: number;
  exitMs: number | string;
}
const table: Outcome[] = [];

async function query<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const c = new pg.Client(h.rs.pg);
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never saw ${what}`);
}

const lastState = (p: TargetProcess): number => {
  const s = p.stdout.map((l) => JSON.parse(l) as { upto: number });
  return s.at(-1)?.upto ?? 0;
};

async function stagedCount(prefix: string): Promise<number> {
  const c = s3Client(h.rs);
  try {
    const r = await c.send(new ListObjectsV2Command({ Bucket: h.rs.s3.bucket, Prefix: prefix }));
    return (r.Contents ?? []).length;
  } finally {
    c.destroy();
  }
}

/**
 * Starts a run, lets `arm` set faults and `killAt` wait for the moment, kills -9, reruns from the last
 * STATE printed (`dropLast`: as if the last STATE line had been lost with the process), and checks.
 */
async function scenario(moment: string, o: { extra?: Record<string, unknown>; arm?: () => void; killAt: (p: TargetProcess, schema: string) => Promise<string>; dropLast?: boolean }) {
  const schema = `kill_${moment.replace(/\W+/g, "_").toLowerCase()}`.slice(0, 60);
  const config = { ...h.rs.config, schema, s3_key_prefix: `${schema}/`, batch_size_rows: 1000, max_batch_age_seconds: 0, staging_sweep_age_minutes: 0, ...o.extra };
  o.arm?.();
  const p = startTarget(config);
  p.send(...messages(1));
  const happened = await o.killAt(p, schema);
  p.child.kill("SIGKILL");
  await p.exited;
  h.rs.faults.reset();
  let from = lastState(p);
  if (o.dropLast && from > 0) from -= STATE_EVERY;
  const re = startTarget({ ...config, batch_size_rows: 1000 });
  re.send(...messages(from + 1));
  re.child.stdin.end();
  const done = await re.exited;
  expect(done.code, re.stderr.join("\n")).toBe(0);
  expect(lastState(re)).toBe(N);
  const [k] = await query<{ n: string; d: string }>(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM "${schema}"."k"`);
  const [a] = await query<{ n: string; d: string }>(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM "${schema}"."a"`);
  const lost = N - Number(k!.d) + (N - Number(a!.d));
  const outcome: Outcome = {
    moment,
    happened: `${happened}; rerun from STATE ${from}`,
    lost,
    duplicateKeys: Number(k!.n) - Number(k!.d),
    appendDuplicates: Number(a!.n) - Number(a!.d),
    leftovers: await stagedCount(`${schema}/`),
    exitMs: "kill -9",
  };
  table.push(outcome);
  expect(outcome.lost).toBe(0);
  expect(outcome.duplicateKeys).toBe(0);
  // The rerun's sweep (staging_sweep_age_minutes 0) removed what the killed run had staged, marker included.
  expect(outcome.leftovers).toBe(0);
  return outcome;
}

/** Waits until the warehouse's last statement on some session matches `re` (the next one is held by the SQL latency). */
const lastStatement = (re: RegExp, state?: string) =>
  until(async () => {
    const rows = await query<{ query: string; state: string }>(`SELECT query, state FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`);
    return rows.find((r) => re.test(r.query) && (!state || r.state === state))?.query;
  }, String(re));

describe("kill -9, then rerun from the last STATE", () => {
  afterAll(() => {
    console.log(["| moment | what happened | rows lost | duplicate keys | append duplicates | staged objects left |", "|---|---|---|---|---|---|", ...table.map((t) => `| ${t.moment} | ${t.happened} | ${t.lost} | ${t.duplicateKeys} | ${t.appendDuplicates} | ${t.leftovers} |`)].join("\n"));
  });

  it("while buffering (nothing sealed yet)", async () => {
    await scenario("buffering", {
      extra: { batch_size_rows: 100_000 },
      killAt: async (p) => {
        await p.waitFor(/created table .*\.a /);
        return "killed after both tables were created, rows buffered";
      },
    });
  });

  it("during the S3 upload", async () => {
    const before = h.rs.faults.s3RequestCount();
    await scenario("S3 upload", {
      arm: () => h.rs.faults.s3HangNext(100_000, { method: "PUT" }),
      killAt: async () => {
        await until(async () => (h.rs.faults.s3RequestCount() > before ? true : undefined), "a PUT");
        return "killed with a part PUT pending";
      },
    });
  });

  it("during COPY", async () => {
    await scenario("COPY", {
      arm: () => h.rs.faults.sqlLatency(1500),
      killAt: async () => {
        await lastStatement(/^CREATE TEMP TABLE "stage_|^COPY "stage_/i);
        return "killed with the COPY sent and not finished";
      },
    });
  });

  it("after COPY, before COMMIT", async () => {
    await scenario("after COPY before COMMIT", {
      arm: () => h.rs.faults.sqlLatency(800),
      killAt: async () => {
        await lastStatement(/_target_redshift_load_journal/, "idle in transaction");
        return "killed with the upsert and journal row done, COMMIT pending";
      },
    });
  });

  it("after COMMIT, before STATE (simulated: the last STATE printed is treated as lost)", async () => {
    await scenario("after COMMIT before STATE", {
      dropLast: true,
      killAt: async (p) => {
        await p.waitFor(/"upto":1500/);
        return "killed after STATE 1500; rerun from the STATE before it";
      },
    });
  });

  it("during cleanup (DeleteObjects hung)", async () => {
    await scenario("cleanup", {
      arm: () => h.rs.faults.s3HangNext(100_000, { method: "POST" }),
      killAt: async (p) => {
        await p.waitFor(/"upto":1000/);
        return "killed with staged-object deletes pending";
      },
    });
  });
});
