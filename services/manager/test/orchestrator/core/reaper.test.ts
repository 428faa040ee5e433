import assert from "node:assert/strict";
import { NodeState, TaskState, type Cluster, type Service } from "@shoal/store";
import { ORPHAN_AFTER_MS, retentionLimit, servicesToDelete, tasksToOrphan, tasksToReap } from "../../../src/orchestrator/index.js";
import { NOW, nodeObj, nodesMap, service, taskOf } from "../fixtures.js";

describe("orchestrator core: task reaper", () => {
  const svc = service("s", { replicated: { replicas: 1 } });
  const services = new Map<string, Service>([["s", svc]]);
  const nodes = nodesMap(nodeObj("n1"), nodeObj("down", { state: NodeState.DOWN }));

  it("keeps the newest 5 old tasks per slot besides the current one and deletes the older ones", () => {
    const history = Array.from({ length: 8 }, (_, i) =>
      taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.FAILED, desired: TaskState.SHUTDOWN, createdAt: NOW - 100_000 + i * 1000 }),
    );
    const current = taskOf(svc, { slot: 1, nodeId: "n1", createdAt: NOW });
    const otherSlot = taskOf(svc, { slot: 2, nodeId: "n1", state: TaskState.FAILED, desired: TaskState.SHUTDOWN });
    const reaped = tasksToReap({ tasks: [...history, current, otherSlot], services, nodes, retentionLimit: 5 });
    assert.deepEqual(reaped.map((t) => t.id), history.slice(0, 3).map((t) => t.id));
  });

  it("counts a global service's history per node", () => {
    const g = service("g", { global: {} });
    const old = (nodeId: string, i: number) => taskOf(g, { nodeId, state: TaskState.FAILED, desired: TaskState.SHUTDOWN, createdAt: NOW - 10_000 + i });
    const onN1 = [0, 1, 2].map((i) => old("n1", i));
    const onN2 = [old("n2", 0)];
    const reaped = tasksToReap({ tasks: [...onN1, ...onN2], services: new Map([["g", g]]), nodes, retentionLimit: 1 });
    assert.deepEqual(reaped.map((t) => t.id), [onN1[0]!.id, onN1[1]!.id]);
  });

  it("deletes a REMOVE task once it stopped (or never reached a node, or its node is down), not while it runs", () => {
    const stopped = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.SHUTDOWN, desired: TaskState.REMOVE });
    const unassigned = taskOf(svc, { slot: 2, state: TaskState.PENDING, desired: TaskState.REMOVE });
    const onDown = taskOf(svc, { slot: 3, nodeId: "down", desired: TaskState.REMOVE });
    const stillRunning = taskOf(svc, { slot: 4, nodeId: "n1", desired: TaskState.REMOVE });
    const reaped = tasksToReap({ tasks: [stopped, unassigned, onDown, stillRunning], services, nodes, retentionLimit: 5 });
    assert.deepEqual(reaped.map((t) => t.id).sort(), [stopped.id, unassigned.id, onDown.id].sort());
  });

  it("deletes every stopped task of a deleted service", () => {
    const gone = service("gone", { replicated: { replicas: 1 } });
    const a = taskOf(gone, { slot: 1, nodeId: "n1", state: TaskState.FAILED, desired: TaskState.SHUTDOWN });
    const b = taskOf(gone, { slot: 2, nodeId: "n1", state: TaskState.RUNNING, desired: TaskState.REMOVE });
    assert.deepEqual(tasksToReap({ tasks: [a, b], services, nodes, retentionLimit: 5 }).map((t) => t.id), [a.id]);
  });

  it("never deletes a job's completed result", () => {
    const job = service("j", { replicatedJob: { maxConcurrent: 1 } });
    const done = taskOf(job, { slot: 1, nodeId: "n1", state: TaskState.COMPLETE, desired: TaskState.COMPLETE });
    assert.deepEqual(tasksToReap({ tasks: [done], services: new Map([["j", job]]), nodes, retentionLimit: 0 }), []);
  });

  it("reads the retention limit from the cluster, defaulting to 5", () => {
    assert.equal(retentionLimit(undefined), 5);
    const cluster = { spec: { annotations: { name: "default" }, orchestration: { taskHistoryRetentionLimit: 2 } } } as Cluster;
    assert.equal(retentionLimit(cluster), 2);
  });
});

describe("orchestrator core: service deletion and orphans", () => {
  it("a pendingDelete service is deleted once none of its tasks is left, and its stopped tasks are reaped", () => {
    const svc = { ...service("s", { replicated: { replicas: 1 } }), pendingDelete: true };
    const stopped = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN });
    const services = new Map([["s", svc]]);
    assert.deepEqual(tasksToReap({ tasks: [stopped], services, nodes: nodesMap(nodeObj("n1")), retentionLimit: 5 }).map((t) => t.id), [stopped.id]);
    assert.deepEqual(servicesToDelete(services, [stopped]), []);
    assert.deepEqual(servicesToDelete(services, []).map((s) => s.id), ["s"]);
  });

  it("the tasks of a node down for 24 h are orphaned (those it may still run), not before", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const node = nodeObj("n1", { state: NodeState.DOWN });
    const running = taskOf(svc, { slot: 1, nodeId: "n1", desired: TaskState.SHUTDOWN });
    const failed = taskOf(svc, { slot: 2, nodeId: "n1", state: TaskState.FAILED });
    assert.deepEqual(tasksToOrphan(node, [running, failed], NOW, NOW + ORPHAN_AFTER_MS - 1), []);
    assert.deepEqual(tasksToOrphan(node, [running, failed], NOW, NOW + ORPHAN_AFTER_MS).map((t) => t.id), [running.id]);
    assert.deepEqual(tasksToOrphan(nodeObj("n1"), [running], NOW, NOW + ORPHAN_AFTER_MS), []);
  });
});
