import assert from "node:assert/strict";
import { NodeState, TaskState } from "@shoal/store";
import { SchedulerState, needsScheduling } from "../../src/scheduler/index.js";
import { makeNode, makeTask } from "./fixtures.js";

const GiB = 2 ** 30;

describe("scheduler: SchedulerState bookkeeping", () => {
  it("counts a task's reservation and service on its node from ASSIGNED to RUNNING, and frees them when it ends", () => {
    const s = SchedulerState.from([makeNode("n1", { memoryBytes: 4 * GiB })], []);
    const info = s.nodes.get("n1")!;
    const t = makeTask("t1", "web", { nodeId: "n1", state: TaskState.ASSIGNED, memoryBytes: GiB, hostPorts: [8080] });
    s.setTask(t);
    assert.equal(info.available.memoryBytes, 3 * GiB);
    assert.equal(info.tasksOfService("web"), 1);
    assert.equal(info.hostPortInUse("8080/tcp"), true);
    s.setTask({ ...t, status: { ...t.status, state: TaskState.RUNNING } });
    assert.equal(info.available.memoryBytes, 3 * GiB, "a new version replaces the old, never adds to it");
    s.setTask({ ...t, status: { ...t.status, state: TaskState.COMPLETE } });
    assert.equal(info.available.memoryBytes, 4 * GiB);
    assert.equal(info.tasksOfService("web"), 0);
    assert.equal(info.hostPortInUse("8080/tcp"), false);
  });

  it("counts a new version of a task again whenever what it weighs changed, whatever it shares with the old", () => {
    const s = SchedulerState.from([makeNode("n1", { memoryBytes: 4 * GiB }), makeNode("n2", { memoryBytes: 4 * GiB })], []);
    const [n1, n2] = [s.nodes.get("n1")!, s.nodes.get("n2")!];
    const t = makeTask("t1", "web", { nodeId: "n1", state: TaskState.ASSIGNED, memoryBytes: GiB });
    s.setTask(t);
    // A status report: the same objects, the same weight.
    const running = { ...t, status: { ...t.status, state: TaskState.RUNNING } };
    s.setTask(running);
    assert.equal(n1.available.memoryBytes, 3 * GiB);
    const bigger = { ...running, spec: { ...running.spec, resources: { reservations: { memoryBytes: 2 * GiB } } } };
    s.setTask(bigger);
    assert.equal(n1.available.memoryBytes, 2 * GiB, "a new reservation");
    s.setTask({ ...bigger, desiredState: TaskState.SHUTDOWN });
    assert.equal(n1.tasksOfService("web"), 0, "no longer wanted: not counted for spreading");
    assert.equal(n1.available.memoryBytes, 2 * GiB, "but still holding its resources");
    s.setTask({ ...bigger, nodeId: "n2" });
    assert.deepEqual([n1.available.memoryBytes, n2.available.memoryBytes, n2.tasksOfService("web")], [4 * GiB, 2 * GiB, 1], "moved to another node");
  });

  it("corrects a decision not yet committed with the committed task, even one that shares its objects", () => {
    const s = SchedulerState.from([makeNode("n1", { memoryBytes: 4 * GiB }), makeNode("n2", { memoryBytes: 4 * GiB })], []);
    const t = makeTask("t1", "web", { nodeId: "n1", state: TaskState.ASSIGNED, memoryBytes: GiB });
    // The scheduler decided n1 with a reservation of its own reckoning; the store says 1 GiB.
    s.assign(t, "n1", { nanoCpus: 0, memoryBytes: 3 * GiB, generic: new Map() }, []);
    assert.equal(s.nodes.get("n1")!.available.memoryBytes, GiB);
    s.setTask(t);
    assert.equal(s.nodes.get("n1")!.available.memoryBytes, 3 * GiB);
    // And one on another node than the store's.
    s.assign(t, "n2", { nanoCpus: 0, memoryBytes: GiB, generic: new Map() }, []);
    s.setTask(t);
    assert.deepEqual([s.nodes.get("n1")!.available.memoryBytes, s.nodes.get("n2")!.available.memoryBytes], [3 * GiB, 4 * GiB]);
  });

  it("takes in the commit of its own decision as made, and still frees the task when it ends", () => {
    const s = SchedulerState.from([makeNode("n1", { memoryBytes: 4 * GiB })], []);
    const info = s.nodes.get("n1")!;
    const t = makeTask("t1", "web", { nodeId: "n1", state: TaskState.ASSIGNED, memoryBytes: GiB, hostPorts: [8080] });
    s.assign(t, "n1", { nanoCpus: 0, memoryBytes: GiB, generic: new Map() }, ["8080/tcp"]);
    s.setTask(t);
    assert.deepEqual([info.available.memoryBytes, info.tasksOfService("web"), info.activeTasks, info.hostPortInUse("8080/tcp")], [3 * GiB, 1, 1, true]);
    s.setTask({ ...t, status: { ...t.status, state: TaskState.RUNNING } });
    assert.deepEqual([info.available.memoryBytes, info.activeTasks], [3 * GiB, 1], "a status report weighs the same");
    s.setTask({ ...t, status: { ...t.status, state: TaskState.COMPLETE } });
    assert.deepEqual([info.available.memoryBytes, info.tasksOfService("web"), info.activeTasks, info.hostPortInUse("8080/tcp")], [4 * GiB, 0, 0, false]);
    // A commit that publishes other ports than the decision held is counted anew.
    const u = makeTask("t2", "web", { nodeId: "n1", state: TaskState.ASSIGNED, memoryBytes: GiB, hostPorts: [9090] });
    s.assign(u, "n1", { nanoCpus: 0, memoryBytes: GiB, generic: new Map() }, ["8080/tcp"]);
    s.setTask(u);
    assert.deepEqual([info.hostPortInUse("8080/tcp"), info.hostPortInUse("9090/tcp"), info.activeTasks], [false, true, 1]);
  });

  it("keeps holding resources for a task being shut down, but stops counting it for spreading", () => {
    const s = SchedulerState.from([makeNode("n1", { memoryBytes: 4 * GiB })], []);
    s.setTask(makeTask("t1", "web", { nodeId: "n1", state: TaskState.RUNNING, desiredState: TaskState.SHUTDOWN, memoryBytes: GiB }));
    const info = s.nodes.get("n1")!;
    assert.equal(info.available.memoryBytes, 3 * GiB);
    assert.equal(info.tasksOfService("web"), 0);
    assert.equal(info.activeTasks, 0);
  });

  it("remembers tasks of a node that leaves and comes back, and of a node it learns about after them", () => {
    const s = new SchedulerState();
    s.setTask(makeTask("t1", "web", { nodeId: "n1", state: TaskState.RUNNING, memoryBytes: GiB }));
    s.setNode(makeNode("n1", { memoryBytes: 2 * GiB }));
    assert.equal(s.nodes.get("n1")!.available.memoryBytes, GiB);
    s.removeNode("n1");
    s.setNode(makeNode("n1", { memoryBytes: 2 * GiB }));
    assert.equal(s.nodes.get("n1")!.available.memoryBytes, GiB);
    // Capacity changes keep the reservations.
    s.setNode(makeNode("n1", { memoryBytes: 8 * GiB, state: NodeState.DOWN }));
    assert.equal(s.nodes.get("n1")!.available.memoryBytes, 7 * GiB);
  });

  it("counts failures of a service on a node within the window only", () => {
    const s = new SchedulerState({ failureWindowMs: 60_000 });
    s.setTask(makeTask("f1", "web", { nodeId: "n1", state: TaskState.FAILED, timestampMs: 1_000 }));
    s.setTask(makeTask("f2", "web", { nodeId: "n1", state: TaskState.REJECTED, timestampMs: 30_000 }));
    s.setTask(makeTask("f2", "web", { nodeId: "n1", state: TaskState.REJECTED, timestampMs: 30_000 }));
    assert.equal(s.recentFailures("n1", "web", 40_000), 2, "the same task is counted once");
    assert.equal(s.recentFailures("n1", "web", 70_000), 1);
    assert.equal(s.recentFailures("n1", "api", 40_000), 0);
    assert.equal(s.failedRecently("n1", "web", 100_000), false);
  });

  it("needs scheduling: PENDING tasks wanted READY, RUNNING or COMPLETE", () => {
    assert.equal(needsScheduling(makeTask("a", "s")), true);
    assert.equal(needsScheduling(makeTask("a", "s", { desiredState: TaskState.COMPLETE })), true);
    assert.equal(needsScheduling(makeTask("a", "s", { desiredState: TaskState.READY })), true);
    assert.equal(needsScheduling(makeTask("a", "s", { desiredState: TaskState.SHUTDOWN })), false);
    assert.equal(needsScheduling(makeTask("a", "s", { state: TaskState.NEW })), false);
    assert.equal(needsScheduling(makeTask("a", "s", { state: TaskState.ASSIGNED })), false);
  });
});
