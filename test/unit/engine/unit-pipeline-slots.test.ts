import { describe, expect, it } from "vitest";
import { SlotPool } from "../../../src/engine/unit-pipeline.js";

describe("UnitPipeline input slots", () => {
  it("a slot for a line longer than a unit grows in place after its first growth: one memory, bytes kept", () => {
    const pool = new SlotPool(1024);
    const slot = pool.take();
    slot.bytes.fill(7);
    const once = pool.grow(slot, 2048)!;
    expect(once.bytes.length).toBe(2048);
    expect(once.bytes.subarray(0, 1024).every((b) => b === 7)).toBe(true);
    once.bytes.fill(9, 1024);
    const twice = pool.grow(once, 4096)!;
    // The same shared memory, not a copy left for the garbage collector.
    expect(twice.bytes.buffer).toBe(once.bytes.buffer);
    expect(twice.view.length).toBe(4096);
    expect(twice.bytes[1023]).toBe(7);
    expect(twice.bytes[2047]).toBe(9);
    expect(twice.view.lastIndexOf(9)).toBe(2047);
  });

  it("grown slots never return to the free list (it holds unit-sized slots only)", () => {
    const pool = new SlotPool(1024);
    const grown = pool.grow(pool.take(), 2048)!;
    pool.release(grown);
    expect(pool.take().bytes.length).toBe(1024);
  });
});
