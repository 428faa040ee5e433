import assert from "node:assert/strict";
import { TaskState, copyObject } from "@shoal/store";
import { service } from "../fixtures.js";
import { Harness } from "./harness.js";

describe("orchestrator edge: constraint enforcer on a store", () => {
  let h: Harness;
  beforeEach(async () => {
    h = new Harness();
    await h.start();
  });
  afterEach(() => h.stop());

  it("a node whose labels no longer match sheds the task, and the orchestrator replaces it in its slot", async () => {
    await h.addNode("n1", { labels: { zone: "eu" } });
    await h.addNode("n2", { labels: { zone: "eu" } });
    await h.createService(service("web", { replicated: { replicas: 1 } }, { spec: { task: { placement: { constraints: ["node.labels.zone==eu"] } } } }));
    await h.runAll("web", ["n1"]);
    await h.updateNode("n1", (n) => (n.spec.annotations.labels = { zone: "us" }));
    const tasks = h.tasks("web");
    assert.deepEqual(tasks.map((t) => [t.slot, t.nodeId, TaskState[t.desiredState]]), [[1, "n1", "SHUTDOWN"], [1, "", "RUNNING"]]);
  });

  it("with a pass budget below the cluster's tasks, still checks every changed node, over several passes", async () => {
    await h.stop();
    h = new Harness({ passTaskBudget: 1 });
    await h.start();
    for (const id of ["n1", "n2", "n3"]) await h.addNode(id, { labels: { zone: "eu" } });
    await h.createService(service("web", { replicated: { replicas: 3 } }, { spec: { task: { placement: { constraints: ["node.labels.zone==eu"] } } } }));
    await h.runAll("web", ["n1", "n2", "n3"]);
    // All three change in one commit: one pass may read the task of one node only.
    await h.store.update((tx) => {
      for (const id of ["n1", "n2", "n3"]) {
        const n = copyObject(tx.get("node", id)!);
        n.spec.annotations.labels = { zone: "us" };
        tx.update("node", n);
      }
    });
    await h.settle();
    const shed = h.tasks("web").filter((t) => t.nodeId !== "" && t.desiredState === TaskState.SHUTDOWN);
    assert.deepEqual(shed.map((t) => t.nodeId).sort(), ["n1", "n2", "n3"]);
  });

  it("a node whose memory shrank below the reservations sheds its newest tasks", async () => {
    await h.addNode("n1", { memoryBytes: 1000 });
    await h.createService(service("web", { replicated: { replicas: 1 } }, { spec: { task: { resources: { reservations: { memoryBytes: 400 } } } } }));
    await h.runAll("web", ["n1"]);
    const [older] = h.tasks("web");
    await h.advance(1_000);
    await h.updateService("web", (s) => (s.spec.replicated = { replicas: 2 }));
    await h.runAll("web", ["n1"]);
    await h.updateNode("n1", (n) => (n.description!.resources = { memoryBytes: 500 }));
    const onNode = h.tasks("web").filter((t) => t.nodeId === "n1");
    assert.deepEqual(onNode.filter((t) => t.desiredState === TaskState.RUNNING).map((t) => t.id), [older!.id]);
    assert.equal(h.wanted("web").length, 2, "the shed slot got a replacement to place elsewhere");
  });
});
