import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort } from "@shoal/common";
import { shoal } from "./support/fake-api.js";
import { managerNode, V } from "./support/fixtures.js";

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate (openssl). */
function makePki(dir: string): void {
  const ssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key");
  ssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=shoal-test-ca", "-days", "1", "-out", "ca.pem");
  for (const who of ["server", "client"]) {
    ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${who}.key`);
    ssl("req", "-new", "-key", `${who}.key`, "-subj", `/CN=${who}`, "-out", `${who}.csr`);
    ssl("x509", "-req", "-in", `${who}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${who}.ext`, "-out", `${who}.pem`);
  }
}

describe("TLS to https://host:port", () => {
  let dir: string;
  let server: Server;
  let port: number;
  const paths: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "shoal-cli-tls-"));
    makePki(dir);
    const read = (f: string): string => readFileSync(join(dir, f), "utf8");
    // Like the manager's TCP listener: only clients with a certificate from the cluster CA.
    server = createServer({ key: read("server.key"), cert: read("server.pem"), ca: read("ca.pem"), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      paths.push(req.url ?? "");
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify([managerNode()]));
    });
    port = await freeLoopbackPort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    rmSync(dir, { recursive: true, force: true });
  });

  it("connects with --tlscacert, --tlscert and --tlskey", async () => {
    const r = await shoal(undefined, [
      "-H", `https://127.0.0.1:${port}`,
      "--tlscacert", join(dir, "ca.pem"), "--tlscert", join(dir, "client.pem"), "--tlskey", join(dir, "client.key"),
      "node", "ls", "-q",
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${managerNode().ID}\n`);
    assert.deepEqual(paths, [`${V}/nodes`]);
  });

  it("takes the TLS files from SHOAL_TLS_* for tcp://", async () => {
    const r = await shoal(undefined, ["node", "ls", "-q"], {
      env: { SHOAL_HOST: `tcp://127.0.0.1:${port}`, SHOAL_TLS_CA: join(dir, "ca.pem"), SHOAL_TLS_CERT: join(dir, "client.pem"), SHOAL_TLS_KEY: join(dir, "client.key") },
    });
    assert.equal(r.code, 0, r.stderr);
  });

  it("fails in one line when the server's certificate is not from the given CA", async () => {
    const r = await shoal(undefined, ["-H", `https://127.0.0.1:${port}`, "--tlscert", join(dir, "client.pem"), "--tlskey", join(dir, "client.key"), "node", "ls"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: TLS with https://127.0.0.1:${port} failed: self-signed certificate in certificate chain (give the cluster's CA with --tlscacert)\n`);
  });

  it("fails in one line when the server refuses a client without a certificate", async () => {
    const r = await shoal(undefined, ["-H", `https://127.0.0.1:${port}`, "--tlscacert", join(dir, "ca.pem"), "node", "ls"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: TLS with https://127.0.0.1:${port} failed: the server requires a client certificate (--tlscert and --tlskey)\n`);
  });

  it("hints at https:// when a TLS port hangs up on plain HTTP", async () => {
    const r = await shoal(undefined, ["-H", `tcp://127.0.0.1:${port}`, "node", "ls"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: cannot reach the shoal API at tcp://127.0.0.1:${port} (connection reset): if it serves TLS, use https:// with --tlscacert, --tlscert and --tlskey\n`);
  });
});
