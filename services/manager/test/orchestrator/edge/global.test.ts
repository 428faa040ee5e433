import assert from "node:assert/strict";
import { NodeAvailability, NodeState, TaskState } from "@shoal/store";
import { service } from "../fixtures.js";
import { Harness } from "./harness.js";

describe("orchestrator edge: global services on a store", () => {
  let h: Harness;
  beforeEach(async () => {
    h = new Harness();
    await h.start();
  });
  afterEach(() => h.stop());

  const liveNodes = (): string[] => h.wanted("mon").map((t) => t.nodeId).sort();

  it("follows nodes: added nodes get a task, drained and down nodes lose theirs, a node made active again gets one back", async () => {
    await h.addNode("n1");
    await h.createService(service("mon", { global: {} }));
    assert.deepEqual(liveNodes(), ["n1"]);
    await h.addNode("n2");
    await h.addNode("n3");
    assert.deepEqual(liveNodes(), ["n1", "n2", "n3"]);
    await h.runAll("mon", []);
    await h.updateNode("n2", (n) => (n.spec.availability = NodeAvailability.DRAIN));
    await h.updateNode("n3", (n) => (n.status.state = NodeState.DOWN));
    assert.deepEqual(liveNodes(), ["n1"]);
    const shed = h.tasks("mon").filter((t) => t.nodeId === "n2")[0]!;
    await h.setState(shed.id, TaskState.SHUTDOWN);
    await h.updateNode("n2", (n) => (n.spec.availability = NodeAvailability.ACTIVE));
    assert.deepEqual(liveNodes(), ["n1", "n2"]);
  });

  it("a paused node keeps its task and a new paused node gets none", async () => {
    await h.addNode("n1");
    await h.createService(service("mon", { global: {} }));
    await h.updateNode("n1", (n) => (n.spec.availability = NodeAvailability.PAUSE));
    await h.addNode("n2", { availability: NodeAvailability.PAUSE });
    assert.deepEqual(liveNodes(), ["n1"]);
  });

  it("a label change makes a node eligible or sheds its task", async () => {
    await h.addNode("n1", { labels: { zone: "eu" } });
    await h.addNode("n2");
    await h.createService(service("mon", { global: {} }, { spec: { task: { placement: { constraints: ["node.labels.zone==eu"] } } } }));
    assert.deepEqual(liveNodes(), ["n1"]);
    await h.updateNode("n2", (n) => (n.spec.annotations.labels = { zone: "eu" }));
    await h.updateNode("n1", (n) => (n.spec.annotations.labels = {}));
    assert.deepEqual(liveNodes(), ["n2"]);
  });

  it("a node's deletion sheds its task", async () => {
    await h.addNode("n1");
    await h.addNode("n2");
    await h.createService(service("mon", { global: {} }));
    await h.store.update((tx) => tx.delete("node", "n2"));
    await h.settle();
    assert.deepEqual(liveNodes(), ["n1"]);
  });
});
