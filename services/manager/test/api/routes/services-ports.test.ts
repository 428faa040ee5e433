import assert from "node:assert/strict";
import { messageOf, useHarness, type Harness } from "../helpers.js";

// Docker refuses a spec whose published port another service holds, before anything is stored.
// Names carry a "-" so they can never be mistaken for a prefix of a (random, base36) service ID.
function spec(name: string, port: number, container: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: "busybox", ...container } },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: port, PublishMode: "ingress" }] },
  };
}

async function versionOf(h: Harness, ref: string): Promise<number> {
  const res = await h.call("GET", `/services/${ref}`);
  return (JSON.parse(res.body) as { Version: { Index: number } }).Version.Index;
}

describe("api routes: /services published port conflicts", () => {
  const h = useHarness();

  it("a published port another service holds is a 400 naming the port, and nothing is stored", async () => {
    assert.equal((await h().call("POST", "/services/create", spec("svc-a", 8080))).statusCode, 201);
    const taken = await h().call("POST", "/services/create", spec("svc-b", 8080));
    assert.equal(taken.statusCode, 400, taken.body);
    assert.match(messageOf(taken), /8080/);
    assert.equal((await h().call("GET", "/services/svc-b")).statusCode, 404);
    assert.equal((await h().call("POST", "/services/create", spec("svc-b", 8081))).statusCode, 201);
    const moved = await h().call("POST", `/services/svc-b/update?version=${await versionOf(h(), "svc-b")}`, spec("svc-b", 8080));
    assert.equal(moved.statusCode, 400, moved.body);
    assert.match(messageOf(moved), /8080/);
  });

  it("an update that keeps the service's own published port is accepted", async () => {
    assert.equal((await h().call("POST", "/services/create", spec("svc-a", 8080))).statusCode, 201);
    const res = await h().call("POST", `/services/svc-a/update?version=${await versionOf(h(), "svc-a")}`, { ...spec("svc-a", 8080), Mode: { Replicated: { Replicas: 4 } } });
    assert.equal(res.statusCode, 200, res.body);
  });

  it("a port without the port its tasks listen on (TargetPort 0 or none) is a 400, and nothing is stored", async () => {
    const zero = spec("svc-z", 8080);
    (zero["EndpointSpec"] as { Ports: Record<string, unknown>[] }).Ports[0]!["TargetPort"] = 0;
    const res = await h().call("POST", "/services/create", zero);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(messageOf(res), /EndpointSpec\.Ports\.0\.TargetPort/);
    // docker's CLI leaves TargetPort out for `-p 8080:0`.
    const none = spec("svc-z", 8080);
    delete (none["EndpointSpec"] as { Ports: Record<string, unknown>[] }).Ports[0]!["TargetPort"];
    const missing = await h().call("POST", "/services/create", none);
    assert.equal(missing.statusCode, 400, missing.body);
    assert.match(messageOf(missing), /^missing field EndpointSpec\.Ports\.0\.TargetPort/);
    assert.equal((await h().call("GET", "/services/svc-z")).statusCode, 404);
  });
});
