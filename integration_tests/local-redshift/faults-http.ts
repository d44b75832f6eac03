// The fault controls over HTTP, so a script in any language (or a connector run in another process) can
// rehearse failures: POST <faults_url> {"fault": "<FaultControls method>", "args": [...]}.
import http from "node:http";
import { z } from "zod";
import type { FaultControls } from "./index.js";

const count = z.number().int().min(1);
const ms = z.number().int().min(0);
const s3Match = { method: z.string().min(1).optional(), op: z.string().min(1).optional() };
const none = z.tuple([]);
const optCount = z.tuple([count.optional()]);

/** Each callable method and the shape of its args (positional, as in the TypeScript interface). */
const ARGS: { [K in keyof FaultControls]: z.ZodType<unknown[]> } = {
  s3FailNext: z.tuple([count, z.strictObject({ status: z.union([z.literal(500), z.literal(503)]).optional(), ...s3Match }).optional()]),
  s3SlowDown: z.tuple([count, z.strictObject(s3Match).optional()]),
  s3HangNext: z.tuple([count, z.strictObject(s3Match).optional()]),
  s3DelayNext: z.tuple([count, ms, z.strictObject(s3Match).optional()]),
  s3Latency: z.tuple([ms]),
  sqlLatency: z.tuple([ms]),
  dropConnectionDuringNextCopy: none,
  dropConnectionDuringNextMerge: none,
  dropConnectionDuringNextCommit: none,
  dropConnectionAfterNextCommit: none,
  failNextCommit: optCount,
  raceNextCreateSchema: optCount,
  raceNextCreateTable: optCount,
  raceNextAddColumn: optCount,
  dropAllConnections: none,
  expireIamCredentials: none,
  reset: none,
  s3RequestCount: none,
};

const Body = z.strictObject({ fault: z.string(), args: z.array(z.unknown()).optional() });

export interface FaultsServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the fault controls on 127.0.0.1 (never another interface) at `/faults`.
 * POST body: `{"fault": name, "args"?: [...]}`; answers 200 `{"ok":true}` (plus `"result"` for
 * s3RequestCount), 400 `{"ok":false,"error":…}` for an unknown name, bad JSON or args of the wrong shape.
 * GET answers `{"faults": [names]}`.
 */
export async function startFaultsServer(faults: FaultControls): Promise<FaultsServer> {
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path !== "/faults") return send(res, 404, { ok: false, error: `no such path ${path}; POST /faults` });
    if (req.method === "GET") return send(res, 200, { faults: Object.keys(ARGS) });
    if (req.method !== "POST") return send(res, 405, { ok: false, error: "use POST (or GET for the list of faults)" });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let parsed: z.infer<typeof Body>;
      try {
        parsed = Body.parse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        return send(res, 400, { ok: false, error: `body must be JSON {"fault": string, "args"?: array}: ${e instanceof z.ZodError ? z.prettifyError(e) : (e as Error).message}` });
      }
      const name = parsed.fault;
      if (!Object.hasOwn(ARGS, name)) return send(res, 400, { ok: false, error: `unknown fault "${name}"; known: ${Object.keys(ARGS).join(", ")}` });
      const key = name as keyof FaultControls;
      const args = ARGS[key].safeParse(parsed.args ?? []);
      if (!args.success) return send(res, 400, { ok: false, error: `bad args for ${name}: ${z.prettifyError(args.error)}` });
      const fn = faults[key] as (...a: unknown[]) => unknown;
      const result = fn(...args.data);
      return send(res, 200, result === undefined ? { ok: true } : { ok: true, result });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  const port = typeof a === "object" && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}/faults`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
