// AgentSession against fake Dispatchers on loopback (insecure): heartbeats as messages on one
// Heartbeats stream (calls to a manager without it), a follower's refusal followed to the leader,
// and a new session (description re-sent) after the stream fails.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { freeLoopbackPorts, silentLogger } from "@shoal/common";
import { StatusError, controlpb, dispatcherServiceDefinition, serveCallStream, toServiceError } from "@shoal/proto";
import type { NodeDescription } from "@shoal/store";
import { AgentSession } from "../src/index.js";
import { until } from "./worker/fixtures.js";

/** Records heartbeats; a follower (`redirectTo`) refuses them naming the leader. */
class FakeManager {
  readonly server = new grpc.Server();
  readonly beats: controlpb.HeartbeatRequest[] = [];
  calls = 0;
  streams = 0;
  redirectTo: string | undefined;
  /** Heartbeats to fail (the stream ends with UNAVAILABLE, as a leader losing quorum). */
  failBeats = 0;
  /** Heartbeats to answer only after 1.5 s (past the agent's deadline), as a loaded new leader. */
  slowBeats = 0;
  /** The managers each answer names (default: this one). */
  peers: string[] | undefined;
  /** Set: the list's version, named in every answer; the list is left out for a node that names it. */
  listVersion: string | undefined;
  addr = "";

  constructor(stream = true) {
    const answer = (req: controlpb.HeartbeatRequest): controlpb.IHeartbeatResponse => {
      if (this.redirectTo !== undefined) throw new StatusError({ code: "MANAGER_NOT_LEADER", grpcStatus: grpc.status.FAILED_PRECONDITION, metadata: { "shoal-leader-addr": this.redirectTo } }, "not the leader", { temporary: true });
      if (this.failBeats > 0) {
        this.failBeats--;
        throw new StatusError({ code: "MANAGER_NO_QUORUM", grpcStatus: grpc.status.UNAVAILABLE }, "no quorum", { temporary: true });
      }
      this.beats.push(req);
      const managers = (this.peers ?? [this.addr]).map((addr) => ({ nodeId: "m", addr }));
      // An older manager: the list in every answer, no version.
      if (this.listVersion === undefined) return { periodMs: 100, managers };
      return { periodMs: 100, managers: req.managersVersion === this.listVersion ? [] : managers, managersVersion: this.listVersion };
    };
    const heartbeats = (call: grpc.ServerDuplexStream<controlpb.HeartbeatRequest, controlpb.HeartbeatResponse>): void => {
      this.streams++;
      serveCallStream(call, async (req) => {
        if (this.slowBeats > 0) {
          this.slowBeats--;
          await new Promise((r) => setTimeout(r, 1_500));
        }
        return controlpb.HeartbeatResponse.create(answer(req));
      });
    };
    this.server.addService(dispatcherServiceDefinition, {
      ...(stream ? { heartbeats } : {}),
      heartbeat: (call: grpc.ServerUnaryCall<controlpb.HeartbeatRequest, unknown>, cb: grpc.sendUnaryData<controlpb.IHeartbeatResponse>) => {
        this.calls++;
        try {
          cb(null, answer(call.request));
        } catch (err) {
          cb(toServiceError(err) as grpc.ServiceError);
        }
      },
    });
  }

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    this.addr = `127.0.0.1:${port}`;
    return this.addr;
  }
}

describe("agent session: heartbeats", function () {
  this.timeout(10_000);
  const managers: FakeManager[] = [];
  let session: AgentSession | undefined;

  const start = async (...ms: FakeManager[]): Promise<string[]> => {
    const ports = await freeLoopbackPorts(ms.length);
    const addrs: string[] = [];
    for (const [i, m] of ms.entries()) {
      managers.push(m);
      addrs.push(await m.listen(ports[i] as number));
    }
    return addrs;
  };
  const open = (first: string, describe = (): NodeDescription => ({ hostname: "w1" })): AgentSession => {
    session = new AgentSession(
      { advertiseAddr: "10.0.0.9", managers: [first], describe, initialPeriodMs: 100 },
      { logger: silentLogger(), tls: () => ({ credentials: grpc.credentials.createInsecure(), channelOptions: {} }) },
    );
    session.start();
    return session;
  };

  afterEach(async () => {
    await session?.stop();
    session = undefined;
    for (const m of managers.splice(0)) m.server.forceShutdown();
  });

  it("follows a follower's refusal to the leader and beats there on one stream, describing the node once", async () => {
    const leader = new FakeManager();
    const follower = new FakeManager();
    const [leaderAddr, followerAddr] = await start(leader, follower);
    follower.redirectTo = leaderAddr;
    const s = open(followerAddr as string);
    await until("5 heartbeats at the leader", () => leader.beats.length >= 5);
    assert.equal(s.leader, leaderAddr);
    assert.equal(leader.streams, 1);
    assert.equal(leader.calls, 0);
    assert.equal(follower.beats.length, 0);
    assert.equal(leader.beats[0]?.newSession, true);
    assert.equal(JSON.parse(new TextDecoder().decode(leader.beats[0]?.description)).hostname, "w1");
    assert.ok(leader.beats.slice(1).every((b) => !b.newSession && b.description.length === 0));
  });

  it("after the stream fails, starts a new session on a new stream (the node described again)", async () => {
    const leader = new FakeManager();
    const [addr] = await start(leader);
    open(addr as string);
    await until("2 heartbeats", () => leader.beats.length >= 2);
    leader.failBeats = 1;
    const before = leader.beats.length;
    await until("a heartbeat after the failure", () => leader.beats.length > before);
    assert.equal(leader.streams, 2);
    assert.equal(leader.beats[before]?.newSession, true);
    assert.ok((leader.beats[before]?.description.length ?? 0) > 0);
  });

  it("describes the node once per new session, not once per attempt while the managers refuse it", async () => {
    const leader = new FakeManager();
    const [addr] = await start(leader);
    let described = 0;
    open(addr as string, () => ({ hostname: `w1-${++described}` }));
    await until("2 heartbeats", () => leader.beats.length >= 2);
    assert.equal(described, 1);
    leader.failBeats = 3;
    const before = leader.beats.length;
    await until("a heartbeat after three refused", () => leader.beats.length > before);
    assert.equal(leader.failBeats, 0, "the three were refused");
    assert.equal(described, 2, "read once for the new session's four attempts");
    assert.equal(JSON.parse(new TextDecoder().decode(leader.beats[before]?.description)).hostname, "w1-2");
    const next = leader.beats.length + 1;
    await until("another heartbeat", () => leader.beats.length > next);
    assert.equal(described, 2, "not read again once the session is established");
  });

  /** A leader and another manager (next in the agent's rotation, redirecting to the leader), beating. */
  const leaderAndOther = async (): Promise<{ leader: FakeManager; other: FakeManager }> => {
    const leader = new FakeManager();
    const other = new FakeManager();
    const [leaderAddr, otherAddr] = await start(leader, other);
    other.redirectTo = leaderAddr;
    leader.peers = [leaderAddr as string, otherAddr as string];
    open(leaderAddr as string);
    await until("2 heartbeats", () => leader.beats.length >= 2);
    return { leader, other };
  };

  it("asks a leader that answers late again, rather than going round the other managers", async () => {
    const { leader, other } = await leaderAndOther();
    // Two heartbeats answered after the agent's 1 s deadline; the third in time.
    leader.slowBeats = 2;
    const before = leader.beats.length;
    await until("heartbeats answered in time again", () => leader.beats.length >= before + 4, 8_000);
    assert.equal(other.streams, 0, "the other manager was not tried");
    assert.equal(other.calls, 0);
  });

  it("goes round the other managers once the leader has left MAX_UNANSWERED heartbeats in a row unanswered", async () => {
    const { leader, other } = await leaderAndOther();
    leader.slowBeats = 3;
    await until("the other manager asked", () => other.streams > 0, 8_000);
  });

  it("keeps a connection open to the other managers, ready for a leader change", async () => {
    const { other } = await leaderAndOther();
    const channel = session!.client(other.addr).getChannel();
    await until("the other manager's channel is connected", () => channel.getConnectivityState(false) === grpc.connectivityState.READY);
    assert.equal(other.streams + other.calls, 0, "connected without a call");
  });

  it("sends the version of the manager list it holds, and keeps the list when an answer leaves it out", async () => {
    const leader = new FakeManager();
    const other = new FakeManager();
    const [leaderAddr, otherAddr] = await start(leader, other);
    leader.peers = [leaderAddr as string, otherAddr as string];
    leader.listVersion = "v1";
    const s = open(leaderAddr as string);
    await until("4 heartbeats", () => leader.beats.length >= 4);
    assert.equal(leader.beats[0]?.managersVersion, "", "nothing held yet");
    assert.ok(leader.beats.slice(1).every((b) => b.managersVersion === "v1"));
    assert.deepEqual(s.knownManagers, [leaderAddr, otherAddr], "kept through the answers without a list");
    // The list changes: the next answer carries it with the new version.
    leader.peers = [leaderAddr as string];
    leader.listVersion = "v2";
    await until("the new list", () => s.knownManagers.length === 1);
    const at = leader.beats.length;
    await until("2 more heartbeats", () => leader.beats.length >= at + 2);
    assert.equal(leader.beats.at(-1)?.managersVersion, "v2");
    assert.deepEqual(s.knownManagers, [leaderAddr]);
  });

  it("on a manager, keeps its own manager in the list, and finds a new leader through it when the leader's list named no other", async () => {
    const old = new FakeManager();
    const local = new FakeManager();
    const next = new FakeManager();
    const [oldAddr, localAddr, nextAddr] = (await start(old, local, next)) as [string, string, string];
    old.peers = [oldAddr]; // the list a leader sends before this manager is in it
    local.redirectTo = oldAddr;
    session = new AgentSession(
      { advertiseAddr: "10.0.0.9", managers: [oldAddr], self: () => localAddr, describe: () => ({ hostname: "m2" }), initialPeriodMs: 100 },
      { logger: silentLogger(), tls: () => ({ credentials: grpc.credentials.createInsecure(), channelOptions: {} }) },
    );
    session.start();
    await until("heartbeats at the leader", () => old.beats.length >= 2);
    assert.deepEqual(session.knownManagers, [localAddr, oldAddr]);
    // The leader is gone; this node's own manager knows the new one.
    local.redirectTo = nextAddr;
    old.server.forceShutdown();
    const s = session;
    await until("a session with the new leader", () => s.leader === nextAddr);
    assert.ok(next.beats.length >= 1);
  });

  it("heartbeats with calls to a manager that has no Heartbeats stream", async () => {
    const old = new FakeManager(false);
    const [addr] = await start(old);
    open(addr as string);
    await until("3 heartbeats", () => old.beats.length >= 3);
    assert.ok(old.calls >= 3);
    assert.equal(old.beats[0]?.newSession, true);
  });
});
