import assert from "node:assert/strict";
import { TaskState } from "@shoal/store";
import { nodeObj, service } from "../fixtures.js";
import { Harness } from "./harness.js";

describe("orchestrator edge: leadership and watch lifecycle", () => {
  let h: Harness;
  afterEach(() => h.stop());

  it("a new leader resumes a held restart and starts it when the delay expires", async () => {
    h = new Harness();
    await h.start();
    await h.addNode("n1");
    await h.createService(service("web", { replicated: { replicas: 1 } }));
    await h.runAll("web", ["n1"]);
    await h.setState(h.wanted("web")[0]!.id, TaskState.FAILED);
    await h.advance(2_000);
    await h.changeLeader();
    assert.deepEqual(h.wanted("web").map((t) => TaskState[t.desiredState]), ["READY"]);
    await h.advance(3_000);
    assert.deepEqual(h.wanted("web").map((t) => TaskState[t.desiredState]), ["RUNNING"]);
  });

  it("stop() cancels the components' timers", async () => {
    h = new Harness();
    await h.start();
    await h.addNode("n1");
    await h.createService(service("web", { replicated: { replicas: 1 } }));
    await h.runAll("web", ["n1"]);
    await h.setState(h.wanted("web")[0]!.id, TaskState.FAILED);
    assert.ok(h.clock.pendingTimers() > 0);
    await h.orchestration.stop();
    assert.equal(h.clock.pendingTimers(), 0);
  });

  it("a component whose watch overflowed starts over from a fresh view and still converges", async () => {
    h = new Harness({ watchQueueLimit: 2 });
    await h.start();
    await h.store.update((tx) => {
      for (let i = 1; i <= 6; i++) tx.create("node", nodeObj(`n${i}`));
      tx.create("service", service("web", { replicated: { replicas: 3 } }));
      tx.create("service", service("mon", { global: {} }));
    });
    await h.settle();
    assert.deepEqual(h.wanted("web").map((t) => t.slot), [1, 2, 3]);
    assert.equal(h.wanted("mon").length, 6);
  });
});
