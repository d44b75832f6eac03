import { describe, expect, it } from "vitest";
import { type ConnectTarget, explainConnectError, missingPasswordError } from "../../../src/load/connect-errors.js";
import { isConnectionLost } from "../../../src/load/warehouse.js";

const target: ConnectTarget = { host: "db.example.com", port: 5439, database: "dev", user: "loader", ssl: true, sslVerify: true };
const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("explainConnectError", () => {
  it("names host:port, database, user and TLS mode in every message", () => {
    const e = explainConnectError(coded("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:5439"), target);
    expect(e.message).toContain("db.example.com:5439, database dev, user loader, TLS on, certificate verified");
    expect(e.message).toContain("nothing listens on db.example.com:5439");
    expect(e.stage).toBe("connect");
  });

  it("finds ECONNREFUSED inside Node's AggregateError (several addresses tried)", () => {
    const agg = new AggregateError([coded("ECONNREFUSED", "connect ECONNREFUSED ::1:5439"), coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5439")], "");
    expect(explainConnectError(agg, target).message).toContain("nothing listens on");
  });

  it("explains DNS, timeouts, TLS, certificates, refused logins and unknown databases", () => {
    expect(explainConnectError(coded("ENOTFOUND", "getaddrinfo ENOTFOUND db.example.com"), target).message).toContain("does not resolve (DNS)");
    expect(explainConnectError(new Error("timeout expired"), target).message).toContain("security group");
    const tls = explainConnectError(new Error("The server does not support SSL connections"), target);
    expect(tls.stage).toBe("TLS");
    expect(tls.message).toContain("the server does not speak TLS: set ssl false only for local servers");
    const cert = explainConnectError(coded("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"), target);
    expect(cert.stage).toBe("TLS");
    expect(cert.message).toMatch(/ssl_ca.*ssl_verify false/);
    const auth = explainConnectError(coded("28P01", "password authentication failed for user \"loader\""), target);
    expect(auth.stage).toBe("authentication");
    expect(auth.message).toContain("check user and password");
    expect(explainConnectError(coded("28P01", "password authentication failed"), { ...target, iam: true }).message).toContain("temporary IAM credentials were refused");
    const hba = explainConnectError(coded("28000", 'no pg_hba.conf entry for host "1.2.3.4", user "x", database "d", no encryption'), { ...target, ssl: false });
    expect(hba.stage).toBe("TLS");
    expect(hba.message).toContain("set ssl true");
    expect(explainConnectError(coded("3D000", 'database "dev" does not exist'), target).message).toContain("database dev does not exist");
  });

  it("types each failure once: the network transient (and retried as a lost connection), the rest config", () => {
    const refused = explainConnectError(coded("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:5439"), target);
    expect([refused.kind, refused.code, isConnectionLost(refused)]).toEqual(["transient", "ECONNREFUSED", true]);
    expect(explainConnectError(new Error("timeout expired"), target).kind).toBe("transient");
    expect(explainConnectError(new Error("Connection terminated unexpectedly"), target).kind).toBe("transient");
    expect(explainConnectError(coded("EAI_AGAIN", "getaddrinfo EAI_AGAIN db.example.com"), target).kind).toBe("transient");
    const dns = explainConnectError(coded("ENOTFOUND", "getaddrinfo ENOTFOUND db.example.com"), target);
    expect([dns.kind, isConnectionLost(dns)]).toEqual(["config", false]);
    // A TLS failure quoting "socket" is still the user's to fix, not a session to retry.
    const tls = explainConnectError(new Error("Client network socket disconnected before secure TLS connection was established"), target);
    expect([tls.stage, tls.kind, isConnectionLost(tls)]).toEqual(["TLS", "config", false]);
    expect(explainConnectError(coded("28P01", "password authentication failed"), target).kind).toBe("config");
    expect(explainConnectError(coded("3D000", 'database "dev" does not exist'), target).kind).toBe("config");
    expect(missingPasswordError(target).kind).toBe("config");
  });

  it("says a password is missing before any connection", () => {
    const e = missingPasswordError({ ...target, ssl: false });
    expect(e.stage).toBe("password");
    expect(e.message).toBe("no password for user loader (db.example.com:5439, database dev, user loader, TLS off): set password in the config, or iam_auth true to log in with temporary IAM credentials");
  });
});
