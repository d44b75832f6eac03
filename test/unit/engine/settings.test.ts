import { describe, expect, it } from "vitest";
import { cpuQuota, defaultEncodeWorkers } from "../../../src/engine/settings.js";

describe("encode workers default", () => {
  it("reads a cgroup v2 cpu.max quota, rounded up", () => {
    expect(cpuQuota("100000 100000\n")).toBe(1);
    expect(cpuQuota("150000 100000")).toBe(2);
    expect(cpuQuota("50000 100000")).toBe(1);
    expect(cpuQuota("400000 100000")).toBe(4);
  });

  it("no quota: unlimited, unreadable or malformed", () => {
    expect(cpuQuota("max 100000")).toBeUndefined();
    expect(cpuQuota(undefined)).toBeUndefined();
    expect(cpuQuota("")).toBeUndefined();
    expect(cpuQuota("garbage")).toBeUndefined();
    expect(cpuQuota("0 100000")).toBeUndefined();
  });

  it("is between 1 and 4 on this machine", () => {
    const n = defaultEncodeWorkers();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(4);
  });
});
