import assert from "node:assert/strict";
import { ShoalError } from "@shoal/common";
import { NodeAvailability, NodeRole, NodeState } from "@shoal/store";
import { MGR_ID, WRK2_ID, WRK_ID } from "../fake-backend.js";
import { messageOf, useHarness } from "../helpers.js";

interface DockerNode {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name?: string; Labels: Record<string, string>; Role: string; Availability: string };
  Description: {
    Hostname: string;
    Platform: { Architecture: string; OS: string };
    Resources: { NanoCPUs: number; MemoryBytes: number };
    Engine: { EngineVersion: string; Labels?: Record<string, string> };
    TLSInfo: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
  };
  Status: { State: string; Addr: string };
  ManagerStatus?: { Leader: boolean; Reachability: string; Addr: string };
}

function filters(f: Record<string, Record<string, boolean>>): string {
  return encodeURIComponent(JSON.stringify(f));
}

describe("api routes: /nodes", () => {
  const h = useHarness();

  async function list(query = ""): Promise<string[]> {
    const res = await h().call("GET", `/v1.50/nodes${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return (JSON.parse(res.body) as DockerNode[]).map((n) => n.ID).sort();
  }

  async function inspect(ref: string): Promise<DockerNode> {
    const res = await h().call("GET", `/v1.50/nodes/${ref}`);
    assert.equal(res.statusCode, 200, res.body);
    return JSON.parse(res.body) as DockerNode;
  }

  it("GET /nodes lists every node in Docker's shape", async () => {
    const res = await h().call("GET", "/nodes");
    const nodes = JSON.parse(res.body) as DockerNode[];
    assert.equal(nodes.length, 3);
    const mgr = nodes.find((n) => n.ID === MGR_ID)!;
    assert.deepEqual(mgr.Spec, { Labels: {}, Role: "manager", Availability: "active" });
    assert.deepEqual(mgr.Description.Platform, { Architecture: "x86_64", OS: "linux" });
    assert.deepEqual(mgr.Description.Resources, { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 });
    assert.equal(mgr.Description.Hostname, "mgr1");
    assert.deepEqual(mgr.Status, { State: "ready", Addr: "127.0.0.1" });
    assert.deepEqual(mgr.ManagerStatus, { Leader: true, Reachability: "reachable", Addr: "127.0.0.1:2377" });
    assert.equal(mgr.CreatedAt, "2026-11-28T04:15:41.919Z");
    const wrk = nodes.find((n) => n.ID === WRK_ID)!;
    assert.equal(wrk.ManagerStatus, undefined);
  });

  it("shows the cluster root's TLS info for a node that reports none, as /swarm shows it", async () => {
    const swarm = JSON.parse((await h().call("GET", "/v1.50/swarm")).body) as { TLSInfo: DockerNode["Description"]["TLSInfo"] };
    assert.match(swarm.TLSInfo.TrustRoot, /^-----BEGIN CERTIFICATE-----/);
    assert.ok(swarm.TLSInfo.CertIssuerSubject !== "" && swarm.TLSInfo.CertIssuerPublicKey !== "");
    assert.deepEqual((await inspect(WRK_ID)).Description.TLSInfo, swarm.TLSInfo);
    const res = await h().call("GET", "/v1.50/nodes");
    for (const n of JSON.parse(res.body) as DockerNode[]) assert.deepEqual(n.Description.TLSInfo, swarm.TLSInfo, n.ID);
  });

  it("marks a manager Leader only while raft says it leads", async () => {
    h().backend.raft = { ...h().backend.raft, leaderRaftId: 0, members: [] };
    const mgr = await inspect(MGR_ID);
    assert.equal(mgr.ManagerStatus?.Leader, false);
    assert.equal(mgr.ManagerStatus?.Addr, "127.0.0.1:2377");
  });

  it("GET /nodes/{x} finds a node by ID, unique ID prefix and hostname", async () => {
    assert.equal((await inspect(WRK_ID)).ID, WRK_ID);
    assert.equal((await inspect("worker1")).ID, WRK_ID);
    assert.equal((await inspect("wrk2")).ID, WRK2_ID);
    assert.equal((await inspect("selfnode")).ID, MGR_ID);
  });

  it("GET /nodes/{x} answers 404 for an unknown node and 400 for an ambiguous prefix", async () => {
    const missing = await h().call("GET", "/nodes/nosuch");
    assert.equal(missing.statusCode, 404);
    assert.match(messageOf(missing), /nosuch/);
    const ambiguous = await h().call("GET", "/nodes/worker");
    assert.equal(ambiguous.statusCode, 400);
    assert.match(messageOf(ambiguous), /ambiguous/);
  });

  it("filters by role, id prefix, name, membership, engine label and node label", async () => {
    assert.deepEqual(await list(`?filters=${filters({ role: { manager: true } })}`), [MGR_ID]);
    assert.deepEqual(await list(`?filters=${filters({ role: { worker: true } })}`), [WRK_ID, WRK2_ID]);
    assert.deepEqual(await list(`?filters=${filters({ id: { worker2: true } })}`), [WRK2_ID]);
    assert.deepEqual(await list(`?filters=${filters({ name: { wrk: true } })}`), [WRK_ID, WRK2_ID]);
    assert.deepEqual(await list(`?filters=${filters({ membership: { accepted: true } })}`), [MGR_ID, WRK_ID, WRK2_ID]);
    assert.deepEqual(await list(`?filters=${filters({ label: { "zone=b": true } })}`), [WRK2_ID]);
    assert.deepEqual(await list(`?filters=${filters({ "node.label": { tier: true } })}`), [WRK2_ID]);
    assert.deepEqual(await list(`?filters=${filters({ role: { worker: true }, label: { "zone=a": true } })}`), [WRK_ID]);
    assert.deepEqual(await list(`?filters=${encodeURIComponent('{"role":["manager"]}')}`), [MGR_ID], "the older list form");
  });

  it("refuses an unknown filter, a bad filter value and malformed filters with 400", async () => {
    for (const [q, pattern] of [
      [`?filters=${filters({ colour: { red: true } })}`, /invalid filter 'colour'/],
      [`?filters=${filters({ role: { boss: true } })}`, /invalid filter 'role=boss'/],
      ["?filters=%7Bnope", /invalid filters: not JSON/],
    ] as const) {
      const res = await h().call("GET", `/nodes${q}`);
      assert.equal(res.statusCode, 400, q);
      assert.match(messageOf(res), pattern);
    }
  });

  it("POST /nodes/{id}/update passes role, availability and labels to backend.updateNode", async () => {
    const before = await inspect("wrk1");
    const res = await h().call("POST", `/v1.50/nodes/${WRK_ID}/update?version=${before.Version.Index}`, { Labels: { zone: "x" }, Role: "manager", Availability: "drain" });
    assert.equal(res.statusCode, 200, res.body);
    const call = h().backend.calls[0];
    assert.ok(call?.op === "updateNode");
    assert.equal(call.id, WRK_ID);
    assert.equal(call.version, before.Version.Index);
    assert.equal(call.spec.desiredRole, NodeRole.MANAGER);
    assert.equal(call.spec.availability, NodeAvailability.DRAIN);
    assert.deepEqual(call.spec.annotations.labels, { zone: "x" });
    const after = await inspect("wrk1");
    assert.deepEqual(after.Spec, { Labels: { zone: "x" }, Role: "manager", Availability: "drain" });
  });

  it("POST /nodes/{id}/update with a stale version answers 409 update out of sequence", async () => {
    const v = (await inspect("wrk1")).Version.Index;
    assert.equal((await h().call("POST", `/nodes/${WRK_ID}/update?version=${v}`, { Labels: {}, Role: "worker", Availability: "pause" })).statusCode, 200);
    const stale = await h().call("POST", `/nodes/${WRK_ID}/update?version=${v}`, { Labels: {}, Role: "worker", Availability: "active" });
    assert.equal(stale.statusCode, 409);
    assert.match(messageOf(stale), /update out of sequence/);
  });

  it("POST /nodes/{id}/update refuses a bad Availability or Role with 400 naming it and calls nothing", async () => {
    const badAvail = await h().call("POST", `/nodes/${WRK_ID}/update?version=1`, { Labels: {}, Role: "worker", Availability: "sleepy" });
    assert.equal(badAvail.statusCode, 400);
    assert.match(messageOf(badAvail), /invalid Availability "sleepy": must be one of "active", "pause", "drain"/);
    const badRole = await h().call("POST", `/nodes/${WRK_ID}/update?version=1`, { Labels: {}, Role: "boss", Availability: "active" });
    assert.equal(badRole.statusCode, 400);
    assert.match(messageOf(badRole), /invalid Role "boss"/);
    const badLabel = await h().call("POST", `/nodes/${WRK_ID}/update?version=1`, { Labels: { a: 1 }, Role: "worker", Availability: "active" });
    assert.equal(badLabel.statusCode, 400);
    assert.match(messageOf(badLabel), /invalid Labels\.a 1: must be string/);
    // `docker node update --label-add =x` sends a label without a name.
    const noName = await h().call("POST", `/nodes/${WRK_ID}/update?version=1`, { Labels: { "": "x" }, Role: "worker", Availability: "active" });
    assert.equal(noName.statusCode, 400);
    assert.equal(messageOf(noName), 'invalid Labels: a key may not be empty (got "")');
    assert.deepEqual(h().backend.calls, []);
  });

  it("POST /nodes/{id}/update maps the backend's quorum guard to 400 with its message", async () => {
    h().backend.failNext = new ShoalError({ code: "MANAGER_QUORUM_GUARD" }, "can't demote the last manager of the swarm");
    const res = await h().call("POST", `/nodes/${MGR_ID}/update?version=1`, { Labels: {}, Role: "worker", Availability: "active" });
    assert.equal(res.statusCode, 400);
    assert.equal(messageOf(res), "can't demote the last manager of the swarm");
  });

  it("DELETE /nodes/{x} refuses a node that is not down without force, and removes it with force=1", async () => {
    const refused = await h().call("DELETE", "/v1.50/nodes/wrk1");
    assert.equal(refused.statusCode, 400);
    assert.match(messageOf(refused), /is not down/);
    const removed = await h().call("DELETE", "/v1.50/nodes/wrk1?force=1");
    assert.equal(removed.statusCode, 200);
    assert.deepEqual(h().backend.calls, [
      { op: "removeNode", id: WRK_ID, force: false },
      { op: "removeNode", id: WRK_ID, force: true },
    ]);
    assert.equal((await h().call("GET", "/nodes/wrk1")).statusCode, 404);
  });

  it("DELETE /nodes/{x} removes a down node without force", async () => {
    await h().backend.store.update((tx) => {
      const n = tx.get("node", WRK2_ID)!;
      tx.update("node", { ...n, status: { ...n.status, state: NodeState.DOWN } });
    });
    assert.equal((await h().call("DELETE", "/nodes/wrk2")).statusCode, 200);
    assert.deepEqual(await list(), [MGR_ID, WRK_ID]);
  });
});
