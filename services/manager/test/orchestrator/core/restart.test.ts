import assert from "node:assert/strict";
import { NodeState, RestartCondition, TaskState } from "@shoal/store";
import { OLD_TASK_TIMEOUT_MS, RestartHistory, heldTaskStart, restartKey, shouldRestart } from "../../../src/orchestrator/index.js";
import { NOW, SECOND_NS, nodeObj, nodesMap, service, taskOf } from "../fixtures.js";

function svcWith(restart: { condition?: RestartCondition; maxAttempts?: number; windowNs?: number }) {
  return service("s", { replicated: { replicas: 1 } }, { spec: { task: { restart: { delayNs: SECOND_NS, ...restart } } } });
}

describe("orchestrator core: restart policy", () => {
  it("condition any restarts a task that completed or failed", () => {
    const svc = svcWith({ condition: RestartCondition.ANY });
    assert.equal(shouldRestart(taskOf(svc, { slot: 1, state: TaskState.COMPLETE }), new RestartHistory(), NOW), true);
    assert.equal(shouldRestart(taskOf(svc, { slot: 1, state: TaskState.FAILED }), new RestartHistory(), NOW), true);
  });

  it("condition on-failure restarts a failed task but not one that completed", () => {
    const svc = svcWith({ condition: RestartCondition.ON_FAILURE });
    assert.equal(shouldRestart(taskOf(svc, { slot: 1, state: TaskState.FAILED }), new RestartHistory(), NOW), true);
    assert.equal(shouldRestart(taskOf(svc, { slot: 1, state: TaskState.COMPLETE }), new RestartHistory(), NOW), false);
  });

  it("condition none never restarts", () => {
    const svc = svcWith({ condition: RestartCondition.NONE });
    assert.equal(shouldRestart(taskOf(svc, { slot: 1, state: TaskState.FAILED }), new RestartHistory(), NOW), false);
  });

  it("maxAttempts without a window stops restarting after that many restarts of the slot at this spec version", () => {
    const svc = svcWith({ maxAttempts: 2 });
    const t = taskOf(svc, { slot: 1, state: TaskState.FAILED });
    const h = new RestartHistory();
    h.record(restartKey(t), svc.meta.version.index, NOW - 100_000);
    assert.equal(shouldRestart(t, h, NOW), true);
    h.record(restartKey(t), svc.meta.version.index, NOW - 50_000);
    assert.equal(shouldRestart(t, h, NOW), false);
    // Another slot has its own budget; a new spec version starts afresh.
    assert.equal(shouldRestart({ ...t, slot: 2 }, h, NOW), true);
    assert.equal(shouldRestart({ ...t, specVersion: 99 }, h, NOW), true);
  });

  it("maxAttempts with a window counts only the restarts within the window", () => {
    const svc = svcWith({ maxAttempts: 1, windowNs: 10 * SECOND_NS });
    const t = taskOf(svc, { slot: 1, state: TaskState.FAILED });
    const h = new RestartHistory();
    h.record(restartKey(t), svc.meta.version.index, NOW - 5_000);
    assert.equal(shouldRestart(t, h, NOW), false);
    assert.equal(shouldRestart(t, h, NOW + 5_001), true);
  });

  it("a held task waits for the task it replaces to stop, up to the old-task timeout, unless that task's node is down", () => {
    const svc = svcWith({});
    const ns = nodesMap(nodeObj("n1"));
    const stopping = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.RUNNING, desired: TaskState.SHUTDOWN });
    const held = taskOf(svc, { slot: 1, desired: TaskState.READY, state: TaskState.NEW, createdAt: NOW - 1_000 });
    assert.deepEqual(heldTaskStart(held, [stopping, held], ns, NOW), { due: false, wakeAtMs: NOW + OLD_TASK_TIMEOUT_MS });
    assert.deepEqual(heldTaskStart(held, [stopping, held], ns, NOW + OLD_TASK_TIMEOUT_MS), { due: true });
    assert.deepEqual(heldTaskStart(held, [{ ...stopping, status: { ...stopping.status, state: TaskState.SHUTDOWN } }, held], ns, NOW), { due: true });
    assert.deepEqual(heldTaskStart(held, [stopping, held], nodesMap(nodeObj("n1", { state: NodeState.DOWN })), NOW), { due: true });
  });
});
