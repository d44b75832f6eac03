import { describe, expect, it } from "vitest";
import { kindOfS3Error } from "../../../src/stage/s3-stager.js";

const s3Error = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe("S3 errors are typed where the stager catches them", () => {
  it("credentials, permissions and a missing bucket are the user's to fix", () => {
    expect(kindOfS3Error(s3Error("AccessDenied", 403))).toBe("config");
    expect(kindOfS3Error(s3Error("NoSuchBucket", 404))).toBe("config");
    expect(kindOfS3Error(s3Error("InvalidAccessKeyId", 403))).toBe("config");
    expect(kindOfS3Error(s3Error("SignatureDoesNotMatch", 403))).toBe("config");
  });

  it("5xx, throttling and network failures are transient", () => {
    expect(kindOfS3Error(s3Error("InternalError", 500))).toBe("transient");
    expect(kindOfS3Error(s3Error("SlowDown", 503))).toBe("transient");
    expect(kindOfS3Error(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe("transient");
  });

  it("anything else is a system error", () => {
    expect(kindOfS3Error(s3Error("InvalidArgument", 400))).toBe("system");
  });
});
