import assert from "node:assert/strict";
import { NodeAvailability } from "@shoal/store";
import { ShoalError } from "@shoal/common";
import { CLUSTER_ID, MGR_ID, SETTING_DEFAULTS } from "../fake-backend.js";
import { messageOf, useHarness } from "../helpers.js";

// Bodies exactly as docker CLI 28.2 sends them (docker-cli-traces.txt).
const INIT_BODY = {
  ListenAddr: "0.0.0.0:2377",
  AdvertiseAddr: "127.0.0.1",
  DataPathAddr: "",
  DataPathPort: 0,
  ForceNewCluster: false,
  Spec: { Labels: null, Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: true } },
  AutoLockManagers: true,
  Availability: "",
  DefaultAddrPool: [],
  SubnetSize: 24,
};
const JOIN_BODY = { ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "", DataPathAddr: "", RemoteAddrs: ["127.0.0.1:2377"], JoinToken: "SHTKN-1-xxx", Availability: "" };
const UPDATE_SPEC = {
  Name: "default",
  Labels: {},
  Orchestration: { TaskHistoryRetentionLimit: 5 },
  Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
  Dispatcher: { HeartbeatPeriod: 5000000000 },
  CAConfig: { NodeCertExpiry: 7776000000000000 },
  TaskDefaults: {},
  EncryptionConfig: { AutoLockManagers: true },
};

interface SwarmBody {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  Spec: typeof UPDATE_SPEC;
  TLSInfo: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
  RootRotationInProgress: boolean;
  JoinTokens: { Worker: string; Manager: string };
}

describe("api routes: /swarm", () => {
  const h = useHarness();

  async function getSwarm(): Promise<SwarmBody> {
    const res = await h().call("GET", "/v1.50/swarm");
    assert.equal(res.statusCode, 200);
    return JSON.parse(res.body) as SwarmBody;
  }

  it("GET /swarm answers the cluster in Docker's shape with join tokens and TLS info", async () => {
    const s = await getSwarm();
    assert.equal(s.ID, CLUSTER_ID);
    assert.equal(s.Version.Index, 1);
    assert.equal(s.CreatedAt, "2026-11-28T04:15:41.919Z");
    assert.deepEqual(s.Spec, { ...UPDATE_SPEC, EncryptionConfig: { AutoLockManagers: false } });
    assert.deepEqual(s.JoinTokens, { Worker: "SHTKN-1-digest-workersecret", Manager: "SHTKN-1-digest-managersecret" });
    assert.match(s.TLSInfo.TrustRoot, /^-----BEGIN CERTIFICATE-----/);
    assert.ok(s.TLSInfo.CertIssuerSubject.length > 0 && s.TLSInfo.CertIssuerPublicKey.length > 0);
    assert.equal(s.RootRotationInProgress, false);
  });

  it("GET /swarm shows each setting the spec leaves unset at the manager's value, and GET /info the same", async () => {
    await h().backend.store.update((tx) => {
      const c = tx.find("cluster")[0]!;
      tx.update("cluster", { ...c, spec: { annotations: c.spec.annotations } });
    });
    const s = await getSwarm();
    const d = SETTING_DEFAULTS;
    const want = {
      Orchestration: { TaskHistoryRetentionLimit: d.taskHistoryRetentionLimit },
      Raft: { SnapshotInterval: d.snapshotInterval, LogEntriesForSlowFollowers: d.logEntriesForSlowFollowers, ElectionTick: d.electionTick, HeartbeatTick: d.heartbeatTick },
      Dispatcher: { HeartbeatPeriod: d.heartbeatPeriodNs },
      CAConfig: { NodeCertExpiry: d.nodeCertExpiryNs },
    };
    assert.deepEqual({ Orchestration: s.Spec.Orchestration, Raft: s.Spec.Raft, Dispatcher: s.Spec.Dispatcher, CAConfig: s.Spec.CAConfig }, want);
    const info = JSON.parse((await h().call("GET", "/v1.50/info")).body) as { Swarm: { Cluster: { Spec: typeof want } } };
    assert.deepEqual(info.Swarm.Cluster.Spec.Raft, want.Raft);
    assert.deepEqual(info.Swarm.Cluster.Spec.Dispatcher, want.Dispatcher);
  });

  it("POST /swarm/update sends the whole spec and rotation flags to the backend and bumps the version", async () => {
    const before = await getSwarm();
    const res = await h().call("POST", `/v1.50/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=${before.Version.Index}`, UPDATE_SPEC);
    assert.equal(res.statusCode, 200, res.body);
    const call = h().backend.calls[0];
    assert.ok(call?.op === "updateCluster");
    assert.equal(call.version, before.Version.Index);
    assert.deepEqual(call.flags, { rotateWorkerToken: true, rotateManagerToken: false, rotateManagerUnlockKey: false });
    assert.equal(call.spec.encryptionConfig?.autoLockManagers, true);
    assert.equal(call.spec.dispatcher?.heartbeatPeriodNs, 5e9);
    assert.equal(call.spec.caConfig?.nodeCertExpiryNs, 7776000000000000);
    const after = await getSwarm();
    assert.ok(after.Version.Index > before.Version.Index);
    assert.deepEqual(after.Spec, UPDATE_SPEC, "the spec reads back as sent");
  });

  it("POST /swarm/update with a stale version answers 409 update out of sequence", async () => {
    const before = await getSwarm();
    assert.equal((await h().call("POST", `/swarm/update?version=${before.Version.Index}`, UPDATE_SPEC)).statusCode, 200);
    const stale = await h().call("POST", `/swarm/update?version=${before.Version.Index}`, UPDATE_SPEC);
    assert.equal(stale.statusCode, 409);
    assert.match(messageOf(stale), /update out of sequence/);
  });

  it("POST /swarm/update without version answers 400 naming it and calls nothing", async () => {
    const res = await h().call("POST", "/swarm/update?rotateWorkerToken=true", UPDATE_SPEC);
    assert.equal(res.statusCode, 400);
    assert.match(messageOf(res), /query parameter version/);
    const bad = await h().call("POST", "/swarm/update?version=-3", UPDATE_SPEC);
    assert.equal(bad.statusCode, 400);
    assert.match(messageOf(bad), /invalid query parameter version "-3"/);
    assert.deepEqual(h().backend.calls, []);
  });

  it("POST /swarm/init accepts the CLI's body, drops its zero settings and answers the node ID as a JSON string", async () => {
    const res = await h().call("POST", "/v1.50/swarm/init", INIT_BODY);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(JSON.parse(res.body), MGR_ID);
    const call = h().backend.calls[0];
    assert.ok(call?.op === "init");
    assert.equal(call.req.listenAddr, "0.0.0.0:2377");
    assert.equal(call.req.advertiseAddr, "127.0.0.1");
    assert.equal(call.req.autoLockManagers, true);
    assert.equal(call.req.availability, undefined);
    assert.equal(call.req.spec?.raft, undefined, "ElectionTick 0 / HeartbeatTick 0 mean defaults");
    assert.equal(call.req.spec?.annotations.name, "default");
  });

  it("POST /swarm/init refuses a non-default address pool rather than ignore it", async () => {
    const res = await h().call("POST", "/swarm/init", { ...INIT_BODY, DefaultAddrPool: ["192.168.0.0/16"] });
    assert.equal(res.statusCode, 400);
    assert.match(messageOf(res), /DefaultAddrPool/);
    assert.deepEqual(h().backend.calls, []);
  });

  it("POST /swarm/join passes addresses, token and availability to the backend", async () => {
    h().backend.setState("inactive");
    const res = await h().call("POST", "/swarm/join", { ...JOIN_BODY, Availability: "drain" });
    assert.equal(res.statusCode, 200, res.body);
    const call = h().backend.calls[0];
    assert.ok(call?.op === "join");
    assert.deepEqual(call.req, { listenAddr: "0.0.0.0:2377", advertiseAddr: "", remoteAddrs: ["127.0.0.1:2377"], joinToken: "SHTKN-1-xxx", availability: NodeAvailability.DRAIN });
  });

  it("POST /swarm/join answers 400 with the backend's message for a rejected token", async () => {
    h().backend.setState("inactive");
    h().backend.failNext = new ShoalError({ code: "CA_TOKEN_REJECTED" }, "invalid join token");
    const res = await h().call("POST", "/swarm/join", JOIN_BODY);
    assert.equal(res.statusCode, 400);
    assert.equal(messageOf(res), "invalid join token");
  });

  it("POST /swarm/leave passes force=1 and force=true as force, and no force as false", async () => {
    for (const q of ["?force=1", "?force=true", ""]) assert.equal((await h().call("POST", `/swarm/leave${q}`)).statusCode, 200);
    assert.deepEqual(h().backend.calls.map((c) => (c.op === "leave" ? c.force : undefined)), [true, true, false]);
  });

  it("answers 500 with the message kept for an error without a known code", async () => {
    h().backend.failNext = new Error("boom: raft unavailable");
    const res = await h().call("POST", "/swarm/leave?force=1");
    assert.equal(res.statusCode, 500);
    assert.deepEqual(JSON.parse(res.body), { message: "boom: raft unavailable" });
    assert.equal(res.headers["content-type"], "application/json");
  });

  it("answers 503 for a temporary backend error such as lost quorum", async () => {
    h().backend.failNext = new ShoalError({ code: "MANAGER_NO_QUORUM" }, "no quorum: cannot commit writes (1 of 3 managers reachable)", { temporary: true });
    const res = await h().call("POST", "/swarm/update?version=1", UPDATE_SPEC);
    assert.equal(res.statusCode, 503);
    assert.match(messageOf(res), /no quorum/);
  });

  it("GET /swarm/unlockkey answers {UnlockKey}, empty when autolock is off", async () => {
    assert.deepEqual(JSON.parse((await h().call("GET", "/swarm/unlockkey")).body), { UnlockKey: "" });
    h().backend.unlockKeyValue = "SWMKEY-1-abc";
    assert.deepEqual(JSON.parse((await h().call("GET", "/swarm/unlockkey")).body), { UnlockKey: "SWMKEY-1-abc" });
  });

  it("POST /swarm/unlock passes the key to the backend, also on a locked node", async () => {
    h().backend.setState("locked");
    const res = await h().call("POST", "/swarm/unlock", { UnlockKey: "SWMKEY-1-abc" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(h().backend.calls, [{ op: "unlock", key: "SWMKEY-1-abc" }]);
  });

  it("manager-only routes answer 503 with Docker's exact wording for an inactive, worker or locked node", async () => {
    const expected: [Parameters<ReturnType<typeof h>["backend"]["setState"]>[0], string][] = [
      ["inactive", 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'],
      ["worker", "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager."],
      ["locked", 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.'],
    ];
    for (const [state, message] of expected) {
      h().backend.setState(state);
      for (const [method, url, body] of [["GET", "/swarm"], ["GET", "/nodes"], ["GET", "/v1.50/nodes/wrk1"], ["GET", "/swarm/unlockkey"], ["POST", "/swarm/update?version=1", UPDATE_SPEC]] as const) {
        const res = await h().call(method, url, body);
        assert.equal(res.statusCode, 503, `${state} ${method} ${url}`);
        assert.deepEqual(JSON.parse(res.body), { message }, `${state} ${method} ${url}`);
      }
    }
    assert.deepEqual(h().backend.calls, []);
  });
});
