import { describe, expect, it } from "vitest";
import { levelEnabled, parseLogLevel, stderrLogger } from "../../src/log.js";

describe("stderrLogger", () => {
  const scrub = (s: string) => s.replaceAll("hunter2", "***");

  it("json: one object a line, secrets removed from the message and from field strings", () => {
    const out: string[] = [];
    const log = stderrLogger((l) => out.push(l), scrub, { format: "json" });
    log("warn", "password hunter2 refused", { detail: { text: 'say "hunter2"' }, n: 3 });
    log("info", "plain");
    const [a, b] = out.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ level: "warn", message: "password *** refused", fields: { detail: { text: 'say "***"' }, n: 3 } });
    expect(b.fields).toEqual({});
    expect(out.join("\n")).not.toContain("hunter2");
  });

  it("levels below the threshold are dropped, in both formats", () => {
    for (const format of ["text", "json"] as const) {
      const out: string[] = [];
      const log = stderrLogger((l) => out.push(l), scrub, { level: "warn", format });
      log("debug", "d");
      log("info", "i");
      log("warn", "w");
      log("error", "e");
      expect(out).toHaveLength(2);
    }
  });

  it("level names as users write them", () => {
    expect(parseLogLevel("INFO")).toBe("info");
    expect(parseLogLevel(" warning ")).toBe("warn");
    expect(parseLogLevel("trace")).toBeUndefined();
    expect(levelEnabled("error", "info")).toBe(true);
    expect(levelEnabled("debug", "info")).toBe(false);
  });
});
