import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:net";
import { mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort, silentLogger } from "@shoal/common";
import { startApiServer, type ApiServer } from "../../src/api/index.js";
import { CertificateAuthority, createCsr, createRootCa, generateNodeKey } from "../../src/ca/index.js";
import { FakeBackend } from "./fake-backend.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function getOverSocket(socketPath: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("api server: listeners", () => {
  let dir: string;
  let server: ApiServer | undefined;
  let squatter: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-api-"));
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await new Promise<void>((resolve) => (squatter === undefined ? resolve() : squatter.close(() => resolve())));
    squatter = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the API on a unix socket with mode 0600 in a parent directory it creates 0700", async () => {
    const socketPath = join(dir, "run", "shoal", "api.sock");
    server = await startApiServer({ socketPath }, { backend: await FakeBackend.create(), logger: silentLogger() });
    assert.deepEqual(server.addresses, [`unix://${socketPath}`]);
    assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "run", "shoal"))).mode & 0o777, 0o700);
    const ping = await getOverSocket(socketPath, "/_ping");
    assert.equal(ping.status, 200);
    assert.equal(ping.body, "OK");
    assert.equal(ping.headers["api-version"], "1.50");
    const nodes = await getOverSocket(socketPath, "/v1.50/nodes");
    assert.equal((JSON.parse(nodes.body) as unknown[]).length, 3);
  });

  it("replaces a stale socket file and removes the socket on close", async () => {
    const socketPath = join(dir, "api.sock");
    // A socket file whose server is gone, as a crashed daemon leaves it: bound elsewhere, moved
    // into place, then closed (closing unlinks only the path it was bound at).
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(join(dir, "bound.sock"), resolve));
    await rename(join(dir, "bound.sock"), socketPath);
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    assert.ok((await stat(socketPath)).isSocket(), "the stale socket file is there");
    server = await startApiServer({ socketPath }, { backend: await FakeBackend.create(), logger: silentLogger() });
    assert.equal((await getOverSocket(socketPath, "/_ping")).status, 200);
    await server.close();
    server = undefined;
    await assert.rejects(stat(socketPath), { code: "ENOENT" });
  });

  it("refuses a socket path in use by a live server, and a path that is not a socket", async () => {
    const live = join(dir, "live.sock");
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(live, resolve));
    await assert.rejects(startApiServer({ socketPath: live }, { backend: await FakeBackend.create(), logger: silentLogger() }), /in use by a running server/);
    const file = join(dir, "plain-file");
    await writeFile(file, "not a socket");
    await assert.rejects(startApiServer({ socketPath: file }, { backend: await FakeBackend.create(), logger: silentLogger() }), /is not a socket/);
  });

  it("serves TCP only over TLS, to clients with a certificate signed by the CA", async () => {
    const root = await createRootCa({ clusterId: "c1" });
    const ca = new CertificateAuthority(root);
    const issue = async (nodeId: string): Promise<{ certPem: string; keyPem: string }> => {
      const { keyPem } = await generateNodeKey();
      return { keyPem, certPem: await ca.issue({ csrPem: await createCsr(keyPem), nodeId, role: "manager", clusterId: "c1" }) };
    };
    const serverId = await issue("server");
    const client = await issue("client");
    const port = await freeLoopbackPort();
    server = await startApiServer(
      { tcp: { host: "127.0.0.1", port, tls: { certPem: serverId.certPem, keyPem: serverId.keyPem, caPem: root.certPem } } },
      { backend: await FakeBackend.create(), logger: silentLogger() },
    );
    assert.deepEqual(server.addresses, [`tcp://127.0.0.1:${port}`]);
    const get = (withCert: boolean): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port,
            path: "/_ping",
            ca: root.certPem,
            // Node certificates name the node ID, not an address: trust is the CA's signature here.
            checkServerIdentity: () => undefined,
            ...(withCert ? { cert: client.certPem, key: client.keyPem } : {}),
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end();
      });
    assert.equal(await get(true), 200);
    await assert.rejects(get(false));
  });
});
