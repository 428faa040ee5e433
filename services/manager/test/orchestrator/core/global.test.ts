import assert from "node:assert/strict";
import { NodeAvailability, NodeRole, NodeState, TaskState, type Task } from "@shoal/store";
import { reconcilePerNode, type Plan } from "../../../src/orchestrator/index.js";
import { ctxFor, nodeObj, nodesMap, service, taskOf } from "../fixtures.js";

const created = (plan: Plan): Task[] => plan.changes.flatMap((c) => c.create as Task[]);
const desiredOf = (plan: Plan): Record<string, string> =>
  Object.fromEntries(plan.changes.flatMap((c) => c.desired.map((d) => [d.taskId, TaskState[d.desiredState]])));

describe("orchestrator core: global services", () => {
  const svc = service("g", { global: {} });

  it("creates one task on every READY, ACTIVE node and none on down, paused or drained ones", () => {
    const ns = nodesMap(
      nodeObj("n1"),
      nodeObj("n2"),
      nodeObj("n3", { state: NodeState.DOWN }),
      nodeObj("n4", { availability: NodeAvailability.PAUSE }),
      nodeObj("n5", { availability: NodeAvailability.DRAIN }),
    );
    const plan = reconcilePerNode(ctxFor(svc, ns), [], false);
    assert.deepEqual(created(plan).map((t) => t.nodeId), ["n1", "n2"]);
    assert.ok(created(plan).every((t) => t.slot === 0));
  });

  it("creates none on a node without a task runtime (shoald without --executor) until it reports one", () => {
    const bare = nodeObj("n2", { runtime: null });
    const plan = reconcilePerNode(ctxFor(svc, nodesMap(nodeObj("n1"), bare)), [], false);
    assert.deepEqual(created(plan).map((t) => t.nodeId), ["n1"]);
    const withRuntime = nodeObj("n2", { runtime: "simulated" });
    const later = reconcilePerNode(ctxFor(svc, nodesMap(nodeObj("n1"), withRuntime)), created(plan), false);
    assert.deepEqual(created(later).map((t) => t.nodeId), ["n2"]);
  });

  it("a paused node keeps its task; drained and down nodes lose theirs without replacement", () => {
    const ns = nodesMap(
      nodeObj("n1", { availability: NodeAvailability.PAUSE }),
      nodeObj("n2", { availability: NodeAvailability.DRAIN }),
      nodeObj("n3", { state: NodeState.DOWN }),
    );
    const tasks = ["n1", "n2", "n3"].map((nodeId) => taskOf(svc, { nodeId }));
    const plan = reconcilePerNode(ctxFor(svc, ns), tasks, false);
    assert.deepEqual(desiredOf(plan), { [tasks[1]!.id]: "SHUTDOWN", [tasks[2]!.id]: "SHUTDOWN" });
    assert.deepEqual(created(plan), []);
  });

  it("constraints decide eligibility: a label change adds or sheds the node's task", () => {
    const constrained = service("g", { global: {} }, { spec: { task: { placement: { constraints: ["node.labels.zone==eu"] } } } });
    const ns = nodesMap(nodeObj("n1", { labels: { zone: "eu" } }), nodeObj("n2", { labels: { zone: "us" } }));
    assert.deepEqual(created(reconcilePerNode(ctxFor(constrained, ns), [], false)).map((t) => t.nodeId), ["n1"]);
    const onN2 = taskOf(constrained, { nodeId: "n2" });
    const onN1 = taskOf(constrained, { nodeId: "n1" });
    assert.deepEqual(desiredOf(reconcilePerNode(ctxFor(constrained, ns), [onN1, onN2], false)), { [onN2.id]: "SHUTDOWN" });
  });

  it("role constraints follow the node's role", () => {
    const managersOnly = service("g", { global: {} }, { spec: { task: { placement: { constraints: ["node.role == manager"] } } } });
    const ns = nodesMap(nodeObj("m1", { role: NodeRole.MANAGER }), nodeObj("w1"));
    assert.deepEqual(created(reconcilePerNode(ctxFor(managersOnly, ns), [], false)).map((t) => t.nodeId), ["m1"]);
  });

  it("an invalid constraint matches no node (the scheduler's grammar decides)", () => {
    const broken = service("g", { global: {} }, { spec: { task: { placement: { constraints: ["node.colour==blue"] } } } });
    assert.deepEqual(created(reconcilePerNode(ctxFor(broken, nodesMap(nodeObj("n1"))), [], false)), []);
  });

  it("a failed task is restarted on its own node; a drained node that is made active again gets a new task", () => {
    const ns = nodesMap(nodeObj("n1"), nodeObj("n2"));
    const failed = taskOf(svc, { nodeId: "n1", state: TaskState.FAILED });
    const drainedEarlier = taskOf(svc, { nodeId: "n2", state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN });
    const plan = reconcilePerNode(ctxFor(svc, ns), [failed, drainedEarlier], false);
    assert.deepEqual(desiredOf(plan), { [failed.id]: "SHUTDOWN" });
    assert.deepEqual(created(plan).map((t) => [t.nodeId, TaskState[t.desiredState]]), [["n1", "READY"], ["n2", "RUNNING"]]);
  });
});
