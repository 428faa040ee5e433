import assert from "node:assert/strict";
import { TaskState } from "@shoal/store";
import { SECOND_NS, service } from "../fixtures.js";
import { Harness } from "./harness.js";

describe("orchestrator edge: jobs on a store", () => {
  let h: Harness;
  beforeEach(async () => {
    h = new Harness();
    await h.start();
    await h.addNode("n1");
    await h.addNode("n2");
  });
  afterEach(() => h.stop());

  const completeRunning = async (id: string): Promise<void> => {
    await h.runAll(id, ["n1", "n2"]);
    for (const t of h.wanted(id)) if (t.status.state === TaskState.RUNNING) await h.setState(t.id, TaskState.COMPLETE);
  };

  it("a replicated job runs maxConcurrent tasks at a time and is done after totalCompletions tasks completed", async () => {
    await h.createService(service("batch", { replicatedJob: { maxConcurrent: 2, totalCompletions: 5 } }));
    assert.equal(h.wanted("batch").length, 2);
    for (let round = 0; round < 3; round++) await completeRunning("batch");
    const tasks = h.tasks("batch");
    assert.equal(tasks.filter((t) => t.status.state === TaskState.COMPLETE).length, 5);
    assert.equal(tasks.length, 5, "no task beyond totalCompletions");
  });

  it("a failed job task is restarted after the delay and the job still completes", async () => {
    await h.createService(service("batch", { replicatedJob: { maxConcurrent: 1, totalCompletions: 1 } }, { spec: { task: { restart: { delayNs: SECOND_NS } } } }));
    await h.runAll("batch", ["n1"]);
    await h.setState(h.wanted("batch")[0]!.id, TaskState.FAILED);
    await h.advance(1_000);
    const retry = h.wanted("batch");
    assert.deepEqual(retry.map((t) => TaskState[t.desiredState]), ["COMPLETE"]);
    await completeRunning("batch");
    assert.deepEqual(h.tasks("batch").map((t) => TaskState[t.status.state]), ["FAILED", "COMPLETE"]);
  });

  it("a ForceUpdate re-runs the job as a new iteration", async () => {
    await h.createService(service("batch", { replicatedJob: { maxConcurrent: 1, totalCompletions: 1 } }));
    await completeRunning("batch");
    await h.updateService("batch", (s) => (s.spec.task.forceUpdate = 1));
    const svc = h.store.view((tx) => tx.get("service", "batch"))!;
    assert.equal(svc.jobStatus?.jobIteration, 1);
    const current = h.tasks("batch").filter((t) => t.jobIteration === 1);
    assert.equal(current.length, 1);
    assert.equal(current[0]!.status.state, TaskState.PENDING);
    assert.deepEqual(h.tasks("batch").filter((t) => t.jobIteration === 0).map((t) => TaskState[t.desiredState]), ["SHUTDOWN"]);
  });

  it("a global job runs once per node", async () => {
    await h.createService(service("setup", { globalJob: {} }));
    await completeRunning("setup");
    await h.addNode("n3");
    await completeRunning("setup");
    assert.deepEqual(h.tasks("setup").map((t) => `${t.nodeId}:${TaskState[t.status.state]}`).sort(), ["n1:COMPLETE", "n2:COMPLETE", "n3:COMPLETE"]);
  });
});
