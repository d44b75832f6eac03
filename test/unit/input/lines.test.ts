import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../../src/input/lines.js";

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

describe("invalid UTF-8", () => {
  it("is noted per line, and decoded with U+FFFD", () => {
    const s = new LineSplitter();
    const lines: string[] = [];
    s.push(Buffer.concat([Buffer.from('{"a":"ok"}\n{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"a":"é"}\n')]), (l) => lines.push(l));
    s.end((l) => lines.push(l));
    expect(s.invalidUtf8Count).toBe(1);
    expect(s.invalidUtf8Lines).toEqual([2]);
    expect(lines[1]).toBe('{"a":"\uFFFD\uFFFD"}');
    expect(lines[2]).toBe('{"a":"é"}');
  });
  it("does not flag a character split across chunks", () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('{"a":"漢字"}\n');
    s.push(bytes.subarray(0, 8), () => {});
    s.push(bytes.subarray(8), () => {});
    expect(s.invalidUtf8Count).toBe(0);
  });
});
