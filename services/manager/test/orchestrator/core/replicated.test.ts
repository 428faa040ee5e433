import assert from "node:assert/strict";
import { NodeAvailability, NodeState, RestartCondition, TaskState, type Task } from "@shoal/store";
import { reconcileReplicated, removeServiceTasks, type Plan } from "../../../src/orchestrator/index.js";
import { NOW, SECOND_NS, ctxFor, nodeObj, nodesMap, service, taskOf } from "../fixtures.js";

const created = (plan: Plan): Task[] => plan.changes.flatMap((c) => c.create as Task[]);
const desiredOf = (plan: Plan): Record<string, string> =>
  Object.fromEntries(plan.changes.flatMap((c) => c.desired.map((d) => [d.taskId, TaskState[d.desiredState]])));

describe("orchestrator core: replicated services", () => {
  const nodes = nodesMap(nodeObj("n1"), nodeObj("n2"), nodeObj("n3"));

  it("a new service gets one NEW task per slot 1..replicas", () => {
    const svc = service("s", { replicated: { replicas: 3 } });
    const plan = reconcileReplicated(ctxFor(svc, nodes), []);
    assert.deepEqual(created(plan).map((t) => t.slot), [1, 2, 3]);
    assert.ok(created(plan).every((t) => t.status.state === TaskState.NEW && t.desiredState === TaskState.RUNNING));
  });

  it("scaling up fills the lowest missing slots and leaves running ones alone", () => {
    const svc = service("s", { replicated: { replicas: 4 } });
    const tasks = [taskOf(svc, { slot: 1, nodeId: "n1" }), taskOf(svc, { slot: 3, nodeId: "n2" })];
    const plan = reconcileReplicated(ctxFor(svc, nodes), tasks);
    assert.deepEqual(created(plan).map((t) => t.slot), [2, 4]);
    assert.deepEqual(desiredOf(plan), {});
  });

  it("a converged service yields an empty plan", () => {
    const svc = service("s", { replicated: { replicas: 2 } });
    const plan = reconcileReplicated(ctxFor(svc, nodes), [taskOf(svc, { slot: 1, nodeId: "n1" }), taskOf(svc, { slot: 2, nodeId: "n2" })]);
    assert.deepEqual(plan.changes, []);
  });

  it("scaling down removes the highest slots when all tasks run on equally busy nodes", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const tasks = [taskOf(svc, { slot: 1, nodeId: "n1" }), taskOf(svc, { slot: 2, nodeId: "n2" }), taskOf(svc, { slot: 3, nodeId: "n3" })];
    const plan = reconcileReplicated(ctxFor(svc, nodes), tasks);
    assert.deepEqual(desiredOf(plan), { [tasks[1]!.id]: "REMOVE", [tasks[2]!.id]: "REMOVE" });
    assert.deepEqual(created(plan), []);
  });

  it("scaling down prefers tasks not yet running, then tasks on the busiest node", () => {
    const svc = service("s", { replicated: { replicas: 2 } });
    const a = taskOf(svc, { slot: 1, nodeId: "n1" });
    const b = taskOf(svc, { slot: 2, nodeId: "n1" });
    const c = taskOf(svc, { slot: 3, nodeId: "n2" });
    const pending = taskOf(svc, { slot: 4, state: TaskState.PENDING });
    const plan = reconcileReplicated(ctxFor(svc, nodes), [a, b, c, pending]);
    // pending goes first; then n1 (two tasks) loses its highest slot.
    assert.deepEqual(desiredOf(plan), { [pending.id]: "REMOVE", [b.id]: "REMOVE" });
  });

  it("a task that ended is shut down and replaced in its slot, held READY for the restart delay", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const failed = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.FAILED });
    const plan = reconcileReplicated(ctxFor(svc, nodes), [failed]);
    assert.deepEqual(desiredOf(plan), { [failed.id]: "SHUTDOWN" });
    const [fresh] = created(plan);
    assert.equal(fresh!.slot, 1);
    assert.equal(fresh!.desiredState, TaskState.READY);
    assert.equal(plan.wakeAtMs, NOW + 5000);
    assert.equal(plan.changes.length, 1, "shutdown and replacement commit together");
    assert.deepEqual(plan.changes[0]!.restart, { key: "s/#1", specVersion: svc.meta.version.index, atMs: NOW });
  });

  it("a held replacement is started (desired RUNNING) once its delay passed and the old task stopped", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const old = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.FAILED, desired: TaskState.SHUTDOWN, createdAt: NOW - 20_000 });
    const held = taskOf(svc, { slot: 1, desired: TaskState.READY, state: TaskState.PENDING, createdAt: NOW - 4_000 });
    assert.deepEqual(desiredOf(reconcileReplicated(ctxFor(svc, nodes), [old, held])), {});
    assert.equal(reconcileReplicated(ctxFor(svc, nodes), [old, held]).wakeAtMs, NOW + 1_000);
    const later = reconcileReplicated(ctxFor(svc, nodes, { now: NOW + 1_000 }), [old, held]);
    assert.deepEqual(desiredOf(later), { [held.id]: "RUNNING" });
  });

  it("with restart condition none an ended task is shut down, not replaced, and its slot is not refilled", () => {
    const svc = service("s", { replicated: { replicas: 2 } }, { spec: { task: { restart: { condition: RestartCondition.NONE } } } });
    const done = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.COMPLETE });
    const other = taskOf(svc, { slot: 2, nodeId: "n2" });
    const plan = reconcileReplicated(ctxFor(svc, nodes), [done, other]);
    assert.deepEqual(desiredOf(plan), { [done.id]: "SHUTDOWN" });
    assert.deepEqual(created(plan), []);
    const after = reconcileReplicated(ctxFor(svc, nodes), [{ ...done, desiredState: TaskState.SHUTDOWN }, other]);
    assert.deepEqual(after.changes, []);
  });

  it("a slot the restart policy gave up on is refilled once the service changes", () => {
    const svc = service("s", { replicated: { replicas: 1 } }, { spec: { task: { restart: { condition: RestartCondition.NONE } } } });
    const done = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.COMPLETE, desired: TaskState.SHUTDOWN });
    const changed = { ...svc, meta: { ...svc.meta, version: { index: svc.meta.version.index + 5 } } };
    assert.deepEqual(created(reconcileReplicated(ctxFor(changed, nodes), [done])).map((t) => t.slot), [1]);
  });

  it("a task on a node that went down is replaced in its slot at once (no restart delay), whatever the policy", () => {
    const svc = service("s", { replicated: { replicas: 1 } }, { spec: { task: { restart: { condition: RestartCondition.NONE } } } });
    const down = nodesMap(nodeObj("n1", { state: NodeState.DOWN }), nodeObj("n2"));
    const stranded = taskOf(svc, { slot: 1, nodeId: "n1" });
    const plan = reconcileReplicated(ctxFor(svc, down), [stranded]);
    assert.deepEqual(desiredOf(plan), { [stranded.id]: "SHUTDOWN" });
    assert.equal(created(plan)[0]!.desiredState, TaskState.RUNNING);
    assert.equal(created(plan)[0]!.slot, 1);
    assert.equal(plan.changes[0]!.restart, undefined, "losing a node is not a restart attempt");
  });

  it("a task on a drained or deleted node is replaced; one on a paused node stays", () => {
    const svc = service("s", { replicated: { replicas: 3 } });
    const ns = nodesMap(nodeObj("n1", { availability: NodeAvailability.DRAIN }), nodeObj("n2", { availability: NodeAvailability.PAUSE }));
    const onDrained = taskOf(svc, { slot: 1, nodeId: "n1" });
    const onPaused = taskOf(svc, { slot: 2, nodeId: "n2" });
    const onDeleted = taskOf(svc, { slot: 3, nodeId: "gone" });
    const plan = reconcileReplicated(ctxFor(svc, ns), [onDrained, onPaused, onDeleted]);
    assert.deepEqual(desiredOf(plan), { [onDrained.id]: "SHUTDOWN", [onDeleted.id]: "SHUTDOWN" });
    assert.deepEqual(created(plan).map((t) => t.slot).sort(), [1, 3]);
  });

  it("leaves tasks that run an old template alone (the updater replaces them)", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const t = taskOf(svc, { slot: 1, nodeId: "n1" });
    const updated = { ...svc, spec: { ...svc.spec, task: { ...svc.spec.task, forceUpdate: 1 } }, meta: { ...svc.meta, version: { index: 99 } } };
    assert.deepEqual(reconcileReplicated(ctxFor(updated, nodes), [t]).changes, []);
  });

  it("removing a service sets REMOVE on all its tasks that are not REMOVE yet", () => {
    const svc = service("s", { replicated: { replicas: 2 } });
    const a = taskOf(svc, { slot: 1, nodeId: "n1" });
    const b = taskOf(svc, { slot: 2, nodeId: "n2", state: TaskState.FAILED, desired: TaskState.SHUTDOWN });
    const c = taskOf(svc, { slot: 2, desired: TaskState.REMOVE });
    assert.deepEqual(desiredOf(removeServiceTasks("s", [a, b, c])), { [a.id]: "REMOVE", [b.id]: "REMOVE" });
  });

  it("uses the default restart delay of 5 s when the policy sets none", () => {
    const svc = service("s", { replicated: { replicas: 1 } }, { spec: { task: { restart: { condition: RestartCondition.ON_FAILURE, delayNs: 0 } } } });
    const plan = reconcileReplicated(ctxFor(svc, nodes), [taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.FAILED })]);
    assert.equal(plan.wakeAtMs, NOW + 5 * SECOND_NS / 1e6);
  });
});
