import assert from "node:assert/strict";
import { TaskState } from "@shoal/store";
import { dirtySlots, isTaskDirty, newTask } from "../../../src/orchestrator/index.js";
import { NOW, service, taskOf } from "../fixtures.js";

describe("orchestrator core: task creation", () => {
  it("newTask shares the service's template, carries its version, names the task <service>.<slot>.<id>, desires RUNNING and starts NEW", () => {
    const svc = service("s1", { replicated: { replicas: 2 } }, { version: 42 });
    const t = newTask(svc, { id: "abc", slot: 2 }, NOW);
    // The very objects (the store keeps a stored, frozen template as it is), not copies.
    assert.equal(t.spec, svc.spec.task);
    assert.equal(t.serviceAnnotations, svc.spec.annotations);
    assert.equal(t.specVersion, 42);
    assert.equal(t.serviceId, "s1");
    assert.equal(t.slot, 2);
    assert.equal(t.nodeId, "");
    assert.equal(t.annotations?.name, "svc-s1.2.abc");
    assert.equal(t.desiredState, TaskState.RUNNING);
    assert.equal(t.status.state, TaskState.NEW);
    assert.equal(t.status.timestamp, NOW);
    assert.equal(t.jobIteration, undefined);
  });

  it("a global task is named after its node and carries the node id", () => {
    const t = newTask(service("g", { global: {} }), { id: "x", nodeId: "n1" }, NOW);
    assert.equal(t.annotations?.name, "svc-g.n1.x");
    assert.equal(t.nodeId, "n1");
    assert.equal(t.slot, 0);
  });

  it("a job's task desires COMPLETE and carries the job's iteration", () => {
    const svc = service("j", { replicatedJob: { maxConcurrent: 1 } });
    svc.jobStatus = { jobIteration: 3 };
    const t = newTask(svc, { id: "x", slot: 1 }, NOW);
    assert.equal(t.desiredState, TaskState.COMPLETE);
    assert.equal(t.jobIteration, 3);
  });

  it("isTaskDirty is false for an identical template (undefined fields count as absent) and true once the template changes", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const t = taskOf(svc, { slot: 1 });
    t.spec = { ...t.spec, runtime: undefined };
    assert.equal(isTaskDirty(svc, t), false);
    const updated = { ...svc, spec: { ...svc.spec, task: { ...svc.spec.task, forceUpdate: 1 } } };
    assert.equal(isTaskDirty(updated, t), true);
  });

  it("dirtySlots lists the slots whose wanted tasks run an old template, and no slot that only holds history", () => {
    const svc = service("s", { replicated: { replicas: 2 } });
    const old1 = taskOf(svc, { slot: 1 });
    const old2 = taskOf(svc, { slot: 2, desired: TaskState.SHUTDOWN, state: TaskState.SHUTDOWN });
    const updated = { ...svc, spec: { ...svc.spec, task: { ...svc.spec.task, forceUpdate: 1 } } };
    assert.deepEqual(dirtySlots(updated, [old1, old2]).map((s) => s.map((t) => t.id)), [[old1.id]]);
    assert.deepEqual(dirtySlots(svc, [old1, old2]), []);
  });
});
