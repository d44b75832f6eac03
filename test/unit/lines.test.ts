import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../src/protocol/lines.js";

describe("LineSplitter", () => {
  it("splits across chunk boundaries, including inside a multi-byte character", () => {
    const text = '{"a":"é"}\r\n{"b":2}\n\n{"c":"漢字"}';
    const bytes = Buffer.from(text, "utf8");
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new LineSplitter();
      const lines: string[] = [];
      s.push(bytes.subarray(0, cut), (l) => lines.push(l));
      s.push(bytes.subarray(cut), (l) => lines.push(l));
      s.end((l) => lines.push(l));
      expect(lines).toEqual(['{"a":"é"}', '{"b":2}', "", '{"c":"漢字"}']);
    }
  });
  it("numbers lines from 1", () => {
    const s = new LineSplitter();
    const nums: number[] = [];
    s.push(Buffer.from("a\nb\n"), (_l, n) => nums.push(n));
    expect(nums).toEqual([1, 2]);
  });
});
