// One stand-in per test file that needs a plain (fault-free) instance.
import { afterAll, beforeAll } from "vitest";
import type pg from "pg";
import { startLocalRedshift, type LocalRedshift } from "./index.js";
import { directClient, gatewayClient } from "./test-helpers.js";

export function useLocalRedshift(opts: { slices?: number } = {}): { rs: LocalRedshift } {
  const holder = {} as { rs: LocalRedshift };
  beforeAll(async () => {
    holder.rs = await startLocalRedshift({ quiet: true, ...opts });
  });
  afterAll(async () => {
    await holder.rs?.stop();
  });
  return holder;
}

/**
 * For a test file: a client through the gateway and one straight to the backend, connected before its
 * tests and closed after. The stand-in only exists once beforeAll ran, so what is returned forwards to
 * the clients made then: `const { gateway: c, direct: d } = connectClients(h)` at the top of a file.
 */
export function connectClients(h: { rs: LocalRedshift }): { gateway: pg.Client; direct: pg.Client } {
  let gateway: pg.Client | undefined;
  let direct: pg.Client | undefined;
  beforeAll(async () => {
    gateway = gatewayClient(h.rs);
    direct = directClient(h.rs);
    await gateway.connect();
    await direct.connect();
  });
  afterAll(async () => {
    await gateway?.end();
    await direct?.end();
  });
  return { gateway: connectedLater(() => gateway), direct: connectedLater(() => direct) };
}

function connectedLater(get: () => pg.Client | undefined): pg.Client {
  return new Proxy({} as pg.Client, {
    get(_target, property) {
      const client = get();
      if (!client) throw new Error("stand-in client used before the file's beforeAll connected it");
      const value: unknown = Reflect.get(client, property, client);
      return typeof value === "function" ? value.bind(client) : value;
    },
  });
}
