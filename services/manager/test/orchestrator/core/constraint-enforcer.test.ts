import assert from "node:assert/strict";
import { NodeAvailability, NodeRole, TaskState } from "@shoal/store";
import { tasksToShed } from "../../../src/orchestrator/index.js";
import { NOW, nodeObj, service, taskOf } from "../fixtures.js";

describe("orchestrator core: constraint enforcer", () => {
  it("sheds every live task of a drained node, and none that is already stopping", () => {
    const svc = service("s", { replicated: { replicas: 2 } });
    const node = nodeObj("n1", { availability: NodeAvailability.DRAIN });
    const live = taskOf(svc, { slot: 1, nodeId: "n1" });
    const stopping = taskOf(svc, { slot: 2, nodeId: "n1", desired: TaskState.SHUTDOWN });
    assert.deepEqual(tasksToShed(node, [live, stopping]).map((s) => s.task.id), [live.id]);
  });

  it("sheds tasks whose constraints the node no longer meets after a label or role change", () => {
    const eu = service("eu", { replicated: { replicas: 1 } }, { spec: { task: { placement: { constraints: ["node.labels.zone==eu"] } } } });
    const mgr = service("m", { replicated: { replicas: 1 } }, { spec: { task: { placement: { constraints: ["node.role==manager"] } } } });
    const free = service("f", { replicated: { replicas: 1 } });
    const node = nodeObj("n1", { labels: { zone: "us" }, role: NodeRole.WORKER });
    const tasks = [taskOf(eu, { slot: 1, nodeId: "n1" }), taskOf(mgr, { slot: 1, nodeId: "n1" }), taskOf(free, { slot: 1, nodeId: "n1" })];
    assert.deepEqual(tasksToShed(node, tasks).map((s) => s.task.serviceId), ["eu", "m"]);
  });

  it("sheds the newest tasks when the node's memory shrank below their reservations", () => {
    const svc = service("s", { replicated: { replicas: 3 } }, { spec: { task: { resources: { reservations: { memoryBytes: 400 } } } } });
    const node = nodeObj("n1", { memoryBytes: 1000 });
    const tasks = [0, 1, 2].map((i) => taskOf(svc, { slot: i + 1, nodeId: "n1", createdAt: NOW + i }));
    assert.deepEqual(tasksToShed(node, tasks).map((s) => s.task.id), [tasks[2]!.id]);
  });
});
