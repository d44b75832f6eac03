import { describe, expect, it } from "vitest";
import { CheckpointLedger } from "../../../src/engine/ledger.js";

function setup() {
  const out: string[] = [];
  const ledger = new CheckpointLedger<string>((s) => out.push(s));
  return { out, ledger };
}

describe("CheckpointLedger", () => {
  it("releases a checkpoint with nothing pending at once", () => {
    const { out, ledger } = setup();
    ledger.checkpoint("s0");
    expect(out).toEqual(["s0"]);
  });

  it("holds a checkpoint until every earlier record of every stream is committed", () => {
    const { out, ledger } = setup();
    const a = ledger.openBatch("a");
    a.add(ledger.nextPosition());
    const b = ledger.openBatch("b");
    b.add(ledger.nextPosition());
    ledger.checkpoint("s1");
    expect(out).toEqual([]);
    ledger.commit(a);
    expect(out).toEqual([]);
    ledger.commit(b);
    expect(out).toEqual(["s1"]);
  });

  it("does not wait for records that arrived after the checkpoint", () => {
    const { out, ledger } = setup();
    const a1 = ledger.openBatch("a");
    a1.add(ledger.nextPosition());
    ledger.checkpoint("s1");
    a1.add(ledger.nextPosition()); // same open batch, after the checkpoint
    const b = ledger.openBatch("b");
    b.add(ledger.nextPosition());
    ledger.commit(a1);
    expect(out).toEqual(["s1"]);
  });

  it("releases in arrival order, and a stream-scoped checkpoint only waits for its streams", () => {
    const { out, ledger } = setup();
    const a = ledger.openBatch("a");
    a.add(ledger.nextPosition());
    const b = ledger.openBatch("b");
    b.add(ledger.nextPosition());
    ledger.checkpoint("a-state", { kind: "streams", streams: ["a"] });
    ledger.checkpoint("global");
    ledger.commit(a);
    expect(out).toEqual(["a-state"]);
    ledger.commit(b);
    expect(out).toEqual(["a-state", "global"]);
  });

  it("a batch that never commits (its load failed) holds back every checkpoint after it, of any stream", () => {
    const { out, ledger } = setup();
    const a = ledger.openBatch("a");
    a.add(ledger.nextPosition());
    ledger.checkpoint("s1");
    const b = ledger.openBatch("b");
    b.add(ledger.nextPosition());
    ledger.checkpoint("s2");
    ledger.commit(b);
    ledger.checkpoint("s3");
    expect(out).toEqual([]);
  });

  it("treats batches of one stream in order: a later commit does not free an earlier batch", () => {
    const { out, ledger } = setup();
    const a1 = ledger.openBatch("a");
    a1.add(ledger.nextPosition());
    const a2 = ledger.openBatch("a");
    a2.add(ledger.nextPosition());
    ledger.checkpoint("s");
    ledger.commit(a2);
    expect(out).toEqual([]);
    ledger.commit(a1);
    expect(out).toEqual(["s"]);
  });
});

import { NumericKeyLog } from "../../../src/encode/batch-keys.js";

describe("NumericKeyLog", () => {
  const log = (...v: number[]) => {
    const l = new NumericKeyLog();
    for (const x of v) l.push(x);
    return l;
  };
  it("increasing keys cannot repeat", () => {
    expect(log(1, 2, 5, 9).hasRepeats()).toBe(false);
  });
  it("finds a repeat among keys out of order", () => {
    expect(log(3, 1, 2).hasRepeats()).toBe(false);
    expect(log(1, 5, 3, 5).hasRepeats()).toBe(true);
    expect(log(2, 2).hasRepeats()).toBe(true);
  });
  it("grows past its first buffer", () => {
    const l = new NumericKeyLog();
    for (let i = 0; i < 5000; i++) l.push(i);
    expect(l.hasRepeats()).toBe(false);
    l.push(4999);
    expect(l.hasRepeats()).toBe(true);
  });
});
