import assert from "node:assert/strict";
import { messageOf, useHarness } from "./helpers.js";

describe("api app: version negotiation, parsing and errors", () => {
  const h = useHarness({ bodyLimitBytes: 4096 });

  it("answers HEAD and GET /_ping with OK and Docker's negotiation headers", async () => {
    for (const method of ["HEAD", "GET"] as const) {
      const res = await h().call(method, "/_ping");
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers["api-version"], "1.50");
      assert.equal(res.headers["ostype"], "linux");
      assert.equal(res.headers["docker-experimental"], "false");
      assert.equal(res.headers["swarm"], "active/manager");
      assert.equal(res.headers["cache-control"], "no-cache");
      if (method === "GET") assert.equal(res.body, "OK");
    }
  });

  it("reports the node's swarm state in the Swarm header of /_ping", async () => {
    h().backend.setState("worker");
    assert.equal((await h().call("HEAD", "/_ping")).headers["swarm"], "active/worker");
    h().backend.setState("locked");
    assert.equal((await h().call("HEAD", "/_ping")).headers["swarm"], "locked");
    h().backend.setState("inactive");
    assert.equal((await h().call("HEAD", "/_ping")).headers["swarm"], "inactive");
  });

  it("serves every route with a /v1.24 … /v1.50 prefix and without one", async () => {
    for (const prefix of ["", "/v1.24", "/v1.41", "/v1.44", "/v1.50"]) {
      assert.equal((await h().call("GET", `${prefix}/version`)).statusCode, 200, `${prefix}/version`);
      assert.equal((await h().call("GET", `${prefix}/nodes`)).statusCode, 200, `${prefix}/nodes`);
      assert.equal((await h().call("HEAD", `${prefix}/_ping`)).statusCode, 200, `${prefix}/_ping`);
    }
  });

  it("refuses an API version outside 1.24–1.50 with Docker's wording", async () => {
    const tooNew = await h().call("GET", "/v1.51/version");
    assert.equal(tooNew.statusCode, 400);
    assert.equal(messageOf(tooNew), "client version 1.51 is too new. Maximum supported API version is 1.50");
    const tooOld = await h().call("GET", "/v1.23/nodes");
    assert.equal(tooOld.statusCode, 400);
    assert.match(messageOf(tooOld), /client version 1\.23 is too old\. Minimum supported API version is 1\.24/);
  });

  it("answers an unknown route 404 with a JSON message", async () => {
    const res = await h().call("GET", "/v1.50/nosuch");
    assert.equal(res.statusCode, 404);
    assert.match(messageOf(res), /page not found/);
    // An Engine route Shoal has no counterpart for says what a Shoal node serves instead.
    const ps = await h().call("GET", "/v1.50/containers/json");
    assert.equal(ps.statusCode, 404);
    assert.equal(messageOf(ps), "page not found: GET /containers/json: a Shoal node serves the Docker Engine API's swarm endpoints (swarm, nodes, services, tasks), not containers; see tasks with 'docker service ps' or 'docker node ps'");
    assert.doesNotMatch(messageOf(res), /swarm endpoints/);
  });

  it("refuses malformed JSON with 400 'invalid JSON body' and writes nothing", async () => {
    const res = await h().app.inject({ method: "POST", url: "/nodes/wrk1/update?version=1", headers: { "content-type": "application/json" }, payload: '{"Role": "manager",' });
    assert.equal(res.statusCode, 400);
    assert.match(messageOf(res), /^invalid JSON body: /);
    assert.deepEqual(h().backend.calls, []);
  });

  it("refuses a missing body where one is required with 400 saying so", async () => {
    const res = await h().call("POST", "/swarm/unlock");
    assert.equal(res.statusCode, 400);
    assert.match(messageOf(res), /^missing request body/);
    assert.deepEqual(h().backend.calls, []);
  });

  it("refuses a body over the limit with 413", async () => {
    const res = await h().call("POST", "/swarm/update?version=1", { Name: "default", Labels: { big: "x".repeat(5000) } });
    assert.equal(res.statusCode, 413);
    assert.match(messageOf(res), /larger than the API accepts/);
    assert.deepEqual(h().backend.calls, []);
  });

  it("refuses an unknown body field with 400 naming it, at any depth", async () => {
    const top = await h().call("POST", "/nodes/wrk1/update?version=1", { Role: "worker", Availability: "active", Colour: "blue" });
    assert.equal(top.statusCode, 400);
    assert.match(messageOf(top), /unknown field Colour/);
    const nested = await h().call("POST", "/swarm/update?version=1", { Name: "default", Raft: { ElectionTick: 10, Bogus: 1 } });
    assert.equal(nested.statusCode, 400);
    assert.match(messageOf(nested), /unknown field Raft\.Bogus/);
    assert.deepEqual(h().backend.calls, []);
  });

  it("refuses wrong types and negative numbers with 400 naming the field (no coercion)", async () => {
    const wrongType = await h().call("POST", "/swarm/update?version=1", { Name: "default", Raft: { ElectionTick: "10" } });
    assert.equal(wrongType.statusCode, 400);
    assert.match(messageOf(wrongType), /invalid Raft\.ElectionTick "10": must be integer/);
    const negative = await h().call("POST", "/swarm/update?version=1", { Name: "default", Dispatcher: { HeartbeatPeriod: -1 } });
    assert.equal(negative.statusCode, 400);
    assert.match(messageOf(negative), /invalid Dispatcher\.HeartbeatPeriod -1: must be >= 0/);
    assert.deepEqual(h().backend.calls, []);
  });

  it("serves an OpenAPI document listing the routes", async () => {
    const res = await h().call("GET", "/openapi.json");
    assert.equal(res.statusCode, 200);
    const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    for (const path of ["/_ping", "/version", "/info", "/swarm", "/swarm/init", "/swarm/join", "/swarm/leave", "/swarm/update", "/swarm/unlockkey", "/swarm/unlock", "/nodes", "/nodes/{id}", "/nodes/{id}/update", "/shoal/cluster", "/metrics"]) {
      assert.ok(doc.paths[path] !== undefined, `${path} in the OpenAPI document`);
    }
    assert.ok(doc.paths["/nodes/{id}/update"]!["post"] !== undefined);
    assert.ok(doc.paths["/nodes/{id}"]!["delete"] !== undefined);
  });
});
