import assert from "node:assert/strict";
import { NodeState, TaskState, type Task } from "@shoal/store";
import { changesOrchestration, changesReaping, nodeChangesReaping } from "../../../src/orchestrator/core/index.js";
import { nodeObj, service, taskOf } from "../fixtures.js";

describe("orchestrator core: which task updates matter to orchestration", () => {
  const svc = service("s", { replicated: { replicas: 1 } });
  const at = (t: Task, state: TaskState, patch: Partial<Task> = {}): Task => ({ ...t, ...patch, status: { ...t.status, state } });

  it("status progress on a node (ASSIGNED → ACCEPTED → RUNNING) and NEW → PENDING do not", () => {
    const assigned = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.ASSIGNED });
    assert.equal(changesOrchestration(assigned, at(assigned, TaskState.ACCEPTED)), false);
    assert.equal(changesOrchestration(at(assigned, TaskState.STARTING), at(assigned, TaskState.RUNNING)), false);
    const fresh = taskOf(svc, { slot: 1, state: TaskState.NEW });
    assert.equal(changesOrchestration(fresh, at(fresh, TaskState.PENDING)), false);
  });

  it("a create, an end (and which end), a new desired state, node or slot, and reaching a node do", () => {
    const running = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.RUNNING });
    assert.equal(changesOrchestration(undefined, running), true);
    assert.equal(changesOrchestration(running, at(running, TaskState.FAILED)), true);
    assert.equal(changesOrchestration(at(running, TaskState.SHUTDOWN), at(running, TaskState.COMPLETE)), true);
    assert.equal(changesOrchestration(running, { ...running, desiredState: TaskState.SHUTDOWN }), true);
    assert.equal(changesOrchestration(running, { ...running, nodeId: "n2" }), true);
    assert.equal(changesOrchestration(running, { ...running, slot: 2 }), true);
    const pending = taskOf(svc, { slot: 1, state: TaskState.PENDING });
    assert.equal(changesOrchestration(pending, at(pending, TaskState.ASSIGNED, { nodeId: "n1" })), true);
  });

  it("for the reaper only a new desired state or an end matters, not being placed on a node", () => {
    const pending = taskOf(svc, { slot: 1, state: TaskState.PENDING });
    assert.equal(changesReaping(pending, at(pending, TaskState.ASSIGNED, { nodeId: "n1" })), false);
    const running = taskOf(svc, { slot: 1, nodeId: "n1", state: TaskState.RUNNING });
    assert.equal(changesReaping(running, { ...running, desiredState: TaskState.SHUTDOWN }), true);
    assert.equal(changesReaping(running, at(running, TaskState.FAILED)), true);
  });

  it("for the reaper a node matters only when it goes down, comes back, appears or goes away", () => {
    const ready = nodeObj("n1");
    const down = { ...ready, status: { ...ready.status, state: NodeState.DOWN } };
    assert.equal(nodeChangesReaping(ready, { ...ready, status: { ...ready.status, addr: "10.0.0.9" } }), false, "a re-registration at a new address");
    assert.equal(nodeChangesReaping(ready, { ...ready, spec: { ...ready.spec, annotations: { name: "", labels: { zone: "eu" } } } }), false, "a label");
    assert.equal(nodeChangesReaping(ready, down), true);
    assert.equal(nodeChangesReaping(down, ready), true);
    assert.equal(nodeChangesReaping(undefined, ready), true);
    assert.equal(nodeChangesReaping(ready, undefined), true);
  });
});
