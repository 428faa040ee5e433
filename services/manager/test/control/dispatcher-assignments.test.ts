// The Dispatcher's node RPCs (heartbeats, assignments, status reports) over mTLS on loopback, as
// agents call them: node identity from the certificate, leader-only with redirects, streams ended
// with leadership. The store is a local MemoryStore behind a fake ReplicatedStore.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { FakeClock, freeLoopbackPort, silentLogger } from "@shoal/common";
import { CallStream, LEADER_ADDR_KEY, RemoteError, callUnary, controlpb, dispatcherServiceDefinition, remoteErrorOf } from "@shoal/proto";
import { MemoryStore, NodeAvailability, NodeRole, NodeState, TaskState, type Node, type Task } from "@shoal/store";
import { CertificateAuthority, clientCredentials, createCsr, createRootCa, generateNodeKey, serverCredentials, type RootCaMaterial } from "../../src/ca/index.js";
import { Dispatcher, managersVersion } from "../../src/control/dispatcher.js";
import type { ReplicatedStore } from "../../src/replication/index.js";

const CLUSTER = "cluster-d";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function nodeCert(ca: CertificateAuthority, nodeId: string, role: "manager" | "worker"): Promise<{ certPem: string; keyPem: string }> {
  const { keyPem } = await generateNodeKey();
  const certPem = await ca.issue({ csrPem: await createCsr(keyPem), nodeId, role, clusterId: CLUSTER });
  return { certPem, keyPem };
}

function newTask(id: string, nodeId: string): Omit<Task, "meta"> {
  return { id, spec: { container: { image: "busybox" } }, serviceId: "svc", slot: 1, nodeId, status: { timestamp: 0, state: TaskState.ASSIGNED }, desiredState: TaskState.RUNNING };
}

interface StreamProbe {
  messages: controlpb.AssignmentsMessage[];
  ended: Promise<RemoteError | undefined>;
  cancel(): void;
}

function openStream(client: grpc.Client): StreamProbe {
  const m = dispatcherServiceDefinition.assignments;
  const call = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, new grpc.Metadata(), {});
  const messages: controlpb.AssignmentsMessage[] = [];
  call.on("data", (msg: controlpb.AssignmentsMessage) => messages.push(msg));
  const ended = new Promise<RemoteError | undefined>((resolve) => {
    call.on("error", (err: grpc.ServiceError) => resolve(remoteErrorOf(err)));
    call.on("end", () => resolve(undefined));
  });
  return { messages, ended, cancel: () => call.cancel() };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("control/dispatcher: node RPCs over mTLS", function () {
  this.timeout(20_000);
  let root: RootCaMaterial;
  let ca: CertificateAuthority;
  let store: MemoryStore;
  let leader: boolean;
  let dispatcher: Dispatcher;
  let server: grpc.Server;
  let addr: string;
  let clock: FakeClock;
  const clients: grpc.Client[] = [];

  const dial = async (nodeId: string): Promise<grpc.Client> => {
    const cert = await nodeCert(ca, nodeId, "worker");
    const c = clientCredentials({ rootCertPem: root.certPem, ...cert, expect: { role: "manager", clusterId: CLUSTER } });
    const client = new grpc.Client(addr, c.credentials, c.channelOptions);
    clients.push(client);
    return client;
  };
  const report = (client: grpc.Client, taskId: string, state: TaskState): Promise<controlpb.UpdateTaskStatusResponse> =>
    callUnary(client, dispatcherServiceDefinition.updateTaskStatus, { updates: [{ taskId, status: encoder.encode(JSON.stringify({ timestamp: 1, state })) }] });

  before(async () => {
    root = await createRootCa({ clusterId: CLUSTER });
    ca = new CertificateAuthority(root);
  });

  beforeEach(async () => {
    store = new MemoryStore();
    leader = true;
    const rs = { store, isLeader: () => leader, leaderInfo: () => ({ id: 2, address: "10.0.0.2:2377" }), raft: { memberStatus: () => [] } } as unknown as ReplicatedStore;
    clock = new FakeClock();
    dispatcher = new Dispatcher({ clusterId: CLUSTER, assignmentBatchWindowMs: 0 }, { rs, logger: silentLogger(), clock });
    const serverCert = await nodeCert(ca, "manager-1", "manager");
    server = new grpc.Server();
    dispatcher.register(server);
    const port = await freeLoopbackPort();
    addr = `127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => server.bindAsync(addr, serverCredentials(() => ({ rootCertPem: root.certPem, ...serverCert })), (err) => (err ? reject(err) : resolve())));
    dispatcher.start();
  });

  afterEach(() => {
    dispatcher.stop();
    for (const c of clients.splice(0)) c.close();
    server.forceShutdown();
    store.close();
  });

  it("streams the calling node's tasks (full set, then changes) and takes its status reports", async () => {
    await store.update((tx) => {
      tx.create("task", newTask("t1", "node-a"));
      tx.create("task", newTask("t2", "node-b"));
    });
    const client = await dial("node-a");
    const s = openStream(client);
    await until("the full set", () => s.messages.length === 1);
    assert.equal(s.messages[0]?.type, controlpb.AssignmentsMessage.Type.COMPLETE);
    assert.deepEqual((s.messages[0]?.tasks as Uint8Array[]).map((b) => (JSON.parse(decoder.decode(b)) as Task).id), ["t1"]);
    await store.update((tx) => tx.create("task", newTask("t3", "node-a")));
    await until("the change", () => s.messages.length === 2);
    assert.equal(Number(s.messages[1]?.sequence), 2);
    await report(client, "t1", TaskState.RUNNING);
    assert.equal(store.view((tx) => tx.get("task", "t1"))?.status.state, TaskState.RUNNING);
    await assert.rejects(report(client, "t2", TaskState.RUNNING), (err: RemoteError) => err.meta.grpcStatus === grpc.status.PERMISSION_DENIED);
    s.cancel();
  });

  it("takes status reports on a ReportTaskStatus stream: an ack per request, a refusal in its ack, the stream ended with leadership", async () => {
    await store.update((tx) => {
      tx.create("task", newTask("t1", "node-a"));
      tx.create("task", newTask("t2", "node-b"));
    });
    const m = dispatcherServiceDefinition.reportTaskStatus;
    const call = (await dial("node-a")).makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new grpc.Metadata(), {});
    const acks: controlpb.TaskStatusAck[] = [];
    call.on("data", (ack: controlpb.TaskStatusAck) => acks.push(ack));
    const ended = new Promise<RemoteError | undefined>((resolve) => {
      call.on("error", (err: grpc.ServiceError) => resolve(remoteErrorOf(err)));
      call.on("end", () => resolve(undefined));
    });
    const status = (taskId: string, state: TaskState): controlpb.ITaskStatusUpdate => ({ taskId, status: encoder.encode(JSON.stringify({ timestamp: 1, state })) });
    call.write({ sequence: 1, updates: [status("t1", TaskState.STARTING)] });
    call.write({ sequence: 2, updates: [status("t2", TaskState.RUNNING)] });
    call.write({ sequence: 3, updates: [status("t1", TaskState.RUNNING)] });
    await until("three acks", () => acks.length === 3);
    const bySeq = new Map(acks.map((a) => [Number(a.sequence), a]));
    assert.equal(bySeq.get(1)?.errorCode, "");
    assert.equal(bySeq.get(2)?.errorCode, "ASSIGNMENTS_PERMISSION_DENIED");
    assert.match(bySeq.get(2)?.errorMessage ?? "", /task t2 is not assigned to node node-a/);
    assert.equal(bySeq.get(3)?.errorCode, "");
    assert.equal(store.view((tx) => tx.get("task", "t1"))?.status.state, TaskState.RUNNING);
    assert.equal(store.view((tx) => tx.get("task", "t2"))?.status.state, TaskState.ASSIGNED);
    leader = false;
    dispatcher.stop();
    assert.equal(await ended, undefined);
  });

  it("ends the streams when leadership is lost", async () => {
    const s = openStream(await dial("node-a"));
    await until("the full set", () => s.messages.length === 1);
    leader = false;
    dispatcher.stop();
    assert.equal(await s.ended, undefined);
  });

  it("on a follower, refuses the status, assignment and heartbeat RPCs with FAILED_PRECONDITION naming the leader", async () => {
    leader = false;
    const client = await dial("node-a");
    const err = await openStream(client).ended;
    assert.equal(err?.meta.grpcStatus, grpc.status.FAILED_PRECONDITION);
    assert.equal(err?.meta[LEADER_ADDR_KEY], "10.0.0.2:2377");
    await assert.rejects(report(client, "t1", TaskState.RUNNING), (e: RemoteError) => e.meta[LEADER_ADDR_KEY] === "10.0.0.2:2377");
    const m = dispatcherServiceDefinition.reportTaskStatus;
    const status = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new grpc.Metadata(), {});
    const refused = await new Promise<RemoteError>((resolve) => status.on("error", (e: grpc.ServiceError) => resolve(remoteErrorOf(e))));
    assert.equal(refused.meta.grpcStatus, grpc.status.FAILED_PRECONDITION);
    assert.equal(refused.meta[LEADER_ADDR_KEY], "10.0.0.2:2377");
    const beats = new CallStream(client, dispatcherServiceDefinition.heartbeats);
    await assert.rejects(beats.request({ newSession: true }), (e: RemoteError) => e.meta.grpcStatus === grpc.status.FAILED_PRECONDITION && e.meta[LEADER_ADDR_KEY] === "10.0.0.2:2377");
  });

  it("answers heartbeats on a Heartbeats stream with the period, and registers the node READY at its address", async () => {
    await store.update((tx) => tx.create("node", { id: "node-a", spec: { availability: "active", desiredRole: "worker", labels: {} }, description: { hostname: "a" }, status: { state: NodeState.DOWN, addr: "" }, role: "worker" } as unknown as Omit<Node, "meta">));
    const beats = new CallStream(await dial("node-a"), dispatcherServiceDefinition.heartbeats);
    const first = await beats.request({ newSession: true, advertiseAddr: "10.0.0.7" });
    assert.equal(first.removed, false);
    assert.ok(Number(first.periodMs) > 0);
    assert.equal(store.view((tx) => tx.get("node", "node-a"))?.status.state, NodeState.READY);
    assert.equal(store.view((tx) => tx.get("node", "node-a"))?.status.addr, "10.0.0.7");
    const again = await beats.request({});
    assert.equal(again.removed, false);
    assert.equal(beats.broken, false);
    beats.close();
  });

  it("sends the manager list with its version, and leaves it out while the node names the current version", async () => {
    const manager = (id: string, managerAddr: string): Omit<Node, "meta"> =>
      ({ id, spec: { availability: NodeAvailability.ACTIVE, desiredRole: NodeRole.MANAGER, labels: {} }, description: { hostname: id }, status: { state: NodeState.READY, addr: "" }, role: NodeRole.MANAGER, managerStatus: { raftId: 1, addr: managerAddr } }) as unknown as Omit<Node, "meta">;
    await store.update((tx) => {
      tx.create("node", manager("manager-1", "10.0.0.1:2377"));
      tx.create("node", { id: "node-a", spec: { availability: "active", desiredRole: "worker", labels: {} }, description: { hostname: "a" }, status: { state: NodeState.READY, addr: "10.0.0.7" }, role: "worker" } as unknown as Omit<Node, "meta">);
    });
    const beats = new CallStream(await dial("node-a"), dispatcherServiceDefinition.heartbeats);
    const first = await beats.request({ advertiseAddr: "10.0.0.7" });
    assert.deepEqual(first.managers.map((m: controlpb.IManagerPeer) => m.addr), ["10.0.0.1:2377"]);
    assert.notEqual(first.managersVersion, "");
    const current = await beats.request({ advertiseAddr: "10.0.0.7", managersVersion: first.managersVersion });
    assert.deepEqual(current.managers, [], "the node's list is current");
    assert.equal(current.managersVersion, first.managersVersion);
    const stale = await beats.request({ advertiseAddr: "10.0.0.7", managersVersion: "something-else" });
    assert.deepEqual(stale.managers.map((m: controlpb.IManagerPeer) => m.addr), ["10.0.0.1:2377"]);
    // A manager joins: within a second the version changes and the node gets the new list.
    await store.update((tx) => tx.create("node", manager("manager-2", "10.0.0.2:2377")));
    clock.advance(1_000);
    const changed = await beats.request({ advertiseAddr: "10.0.0.7", managersVersion: first.managersVersion });
    assert.deepEqual(changed.managers.map((m: controlpb.IManagerPeer) => m.addr).sort(), ["10.0.0.1:2377", "10.0.0.2:2377"]);
    assert.notEqual(changed.managersVersion, first.managersVersion);
    beats.close();
  });

  it("names the same manager list with the same version whatever its order", () => {
    const a = { nodeId: "m1", addr: "10.0.0.1:2377" };
    const b = { nodeId: "m2", addr: "10.0.0.2:2377" };
    assert.equal(managersVersion([a, b]), managersVersion([b, a]));
    assert.notEqual(managersVersion([a, b]), managersVersion([a]));
    assert.notEqual(managersVersion([a]), managersVersion([{ ...a, addr: "10.0.0.1:2378" }]));
  });
});
