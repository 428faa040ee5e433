import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { freeLoopbackPort } from "@shoal/common";
import { ApiClient, ApiError, CliError } from "../src/index.js";
import { FakeApi } from "./support/fake-api.js";

describe("ApiClient", () => {
  let api: FakeApi;
  let client: ApiClient;

  beforeEach(async () => {
    api = await FakeApi.start();
    client = new ApiClient({ endpoint: { kind: "unix", socketPath: api.socketPath } });
  });

  afterEach(async () => {
    client.close();
    await api.close();
  });

  it("prefixes Docker routes with /v1.50, keeps query order, drops undefined values and sends JSON", async () => {
    api.on("POST", "/v1.50/things", { body: { ok: true } });
    const body = await client.post("/things", { query: { b: 2, a: "x y", skip: undefined, flag: false }, body: { Name: "n" } });
    assert.deepEqual(body, { ok: true });
    assert.equal(api.requests[0]!.rawQuery, "b=2&a=x+y&flag=false");
    assert.equal(api.requests[0]!.contentType, "application/json");
    assert.deepEqual(api.requests[0]!.body, { Name: "n" });
  });

  it("leaves native routes unversioned and can speak another API version", async () => {
    api.on("GET", "/shoal/cluster", { body: {} }).on("GET", "/v1.41/info", { body: {} });
    await client.get("/shoal/cluster", { versioned: false });
    const old = new ApiClient({ endpoint: { kind: "unix", socketPath: api.socketPath }, apiVersion: "1.41" });
    await old.get("/info");
    old.close();
    assert.deepEqual(api.calls(), ["GET /shoal/cluster", "GET /v1.41/info"]);
  });

  it("rejects a non-2xx answer with ApiError carrying status and message", async () => {
    api.on("GET", "/v1.50/nodes/x", { status: 404, body: { message: "node x not found" } });
    await assert.rejects(client.get("/nodes/x"), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 404);
      assert.equal(err.message, "node x not found");
      assert.equal(err.code, "CLI_API");
      return true;
    });
  });

  it("rejects invalid JSON sent as JSON with CLI_BAD_RESPONSE", async () => {
    api.on("GET", "/v1.50/info", { text: "{not json", contentType: "application/json" });
    await assert.rejects(client.get("/info"), (err: unknown) => err instanceof CliError && err.code === "CLI_BAD_RESPONSE");
  });

  it("resolves an empty 2xx body as undefined", async () => {
    api.on("POST", "/v1.50/swarm/leave", {});
    assert.equal(await client.post("/swarm/leave"), undefined);
  });

  describe("over TCP", () => {
    let server: Server;
    let port: number;

    before(async () => {
      port = await freeLoopbackPort();
      server = createServer((req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ url: req.url }));
      });
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    });

    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("talks plain HTTP to tcp://127.0.0.1:port", async () => {
      const tcp = new ApiClient({ endpoint: { kind: "tcp", host: "127.0.0.1", port, tls: undefined } });
      try {
        assert.deepEqual(await tcp.get("/_ping", { versioned: false }), { url: "/_ping" });
      } finally {
        tcp.close();
      }
    });

    it("reports a refused port as CLI_UNREACHABLE naming the host", async () => {
      const closedPort = await freeLoopbackPort();
      const tcp = new ApiClient({ endpoint: { kind: "tcp", host: "127.0.0.1", port: closedPort, tls: undefined } });
      await assert.rejects(tcp.get("/info"), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.code, "CLI_UNREACHABLE");
        assert.equal(err.message, `cannot reach the shoal API at tcp://127.0.0.1:${closedPort} (connection refused): is shoald running?`);
        return true;
      });
      tcp.close();
    });
  });
});
