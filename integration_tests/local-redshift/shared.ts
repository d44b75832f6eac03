// One stand-in per test file that needs a plain (fault-free) instance.
import { afterAll, beforeAll } from "vitest";
import { startLocalRedshift, type LocalRedshift } from "./index.js";

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
