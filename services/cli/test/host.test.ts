import assert from "node:assert/strict";
import { CliError, DEFAULT_HOST, describeEndpoint, parseHost, resolveEndpoint, UsageError } from "../src/index.js";

const NO_TLS = { ca: undefined, cert: undefined, key: undefined };

describe("host selection", () => {
  it("reads unix:///path and a bare absolute path as unix sockets", () => {
    assert.deepEqual(parseHost("unix:///run/shoal/api.sock"), { kind: "unix", socketPath: "/run/shoal/api.sock" });
    assert.deepEqual(parseHost("/tmp/lab/api.sock"), { kind: "unix", socketPath: "/tmp/lab/api.sock" });
  });

  it("reads tcp:// as plain HTTP and https:// or tcp:// with TLS files as TLS", () => {
    assert.deepEqual(parseHost("tcp://10.0.0.1:2376"), { kind: "tcp", host: "10.0.0.1", port: 2376, tls: undefined });
    const files: Record<string, string> = { "/ca.pem": "CA", "/c.pem": "CERT", "/k.pem": "KEY" };
    const read = (p: string): string => files[p]!;
    assert.deepEqual(parseHost("https://mgr1:2376", { ca: "/ca.pem", cert: "/c.pem", key: "/k.pem" }, read), {
      kind: "tcp",
      host: "mgr1",
      port: 2376,
      tls: { caPem: "CA", certPem: "CERT", keyPem: "KEY" },
    });
    assert.deepEqual(parseHost("tcp://[::1]:2376", { ...NO_TLS, ca: "/ca.pem" }, read), { kind: "tcp", host: "::1", port: 2376, tls: { caPem: "CA" } });
    assert.equal(describeEndpoint(parseHost("tcp://[::1]:2376", { ...NO_TLS, ca: "/ca.pem" }, read)), "https://[::1]:2376");
  });

  it("refuses hosts it cannot use with a usage error saying why", () => {
    for (const [raw, why] of [
      ["ssh://mgr1", /use unix:\/\/\/path/],
      ["tcp://mgr1", /port is missing/],
      ["tcp://mgr1:2376/v1", /give only tcp:\/\/host:port/],
      ["unix://relative.sock", /must be absolute/],
      ["mgr1:2376", /use unix:\/\/\/path/],
    ] as const) {
      assert.throws(() => parseHost(raw), (err: unknown) => err instanceof UsageError && why.test(err.message), raw);
    }
    assert.throws(() => parseHost("https://mgr1:2376", { ...NO_TLS, cert: "/c.pem" }, () => ""), /--tlscert and --tlskey go together/);
  });

  it("names an unreadable TLS file and the flag it came from", () => {
    assert.throws(
      () => parseHost("https://mgr1:2376", { ...NO_TLS, ca: "/nope.pem" }, () => {
        throw new Error("ENOENT: no such file");
      }),
      (err: unknown) => err instanceof CliError && err.code === "CLI_FAILED" && err.message === "cannot read --tlscacert /nope.pem: ENOENT: no such file",
    );
  });

  it("defaults to the local node socket, and takes TLS paths from SHOAL_TLS_* when flags are absent", () => {
    assert.deepEqual(resolveEndpoint({}, {}), parseHost(DEFAULT_HOST));
    const seen: string[] = [];
    resolveEndpoint({ tlscert: "/flag-cert.pem" }, { SHOAL_HOST: "https://m:1", SHOAL_TLS_CA: "/env-ca.pem", SHOAL_TLS_CERT: "/env-cert.pem", SHOAL_TLS_KEY: "/env-key.pem" }, (p) => {
      seen.push(p);
      return "";
    });
    assert.deepEqual(seen, ["/env-ca.pem", "/flag-cert.pem", "/env-key.pem"]);
  });
});
