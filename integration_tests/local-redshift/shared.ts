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
 * tests and closed after. `use` receives them once connected.
 */
export function connectClients(h: { rs: LocalRedshift }, use: (gateway: pg.Client, direct: pg.Client) => void): void {
  let gateway: pg.Client | undefined;
  let direct: pg.Client | undefined;
  beforeAll(async () => {
    gateway = gatewayClient(h.rs);
    direct = directClient(h.rs);
    await gateway.connect();
    await direct.connect();
    use(gateway, direct);
  });
  afterAll(async () => {
    await gateway?.end();
    await direct?.end();
  });
}
