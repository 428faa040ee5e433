import assert from "node:assert/strict";
import { NodeAvailability, TaskState, type Task } from "@shoal/store";
import { jobComplete, reconcileGlobalJob, reconcileReplicatedJob, type Plan } from "../../../src/orchestrator/index.js";
import { ctxFor, nodeObj, nodesMap, service, taskOf } from "../fixtures.js";

const created = (plan: Plan): Task[] => plan.changes.flatMap((c) => c.create as Task[]);
const desiredOf = (plan: Plan): Record<string, string> =>
  Object.fromEntries(plan.changes.flatMap((c) => c.desired.map((d) => [d.taskId, TaskState[d.desiredState]])));

describe("orchestrator core: jobs", () => {
  const ns = nodesMap(nodeObj("n1"), nodeObj("n2"));

  it("a replicated job starts maxConcurrent tasks, each desiring COMPLETE", () => {
    const job = service("j", { replicatedJob: { maxConcurrent: 2, totalCompletions: 5 } });
    const plan = reconcileReplicatedJob(ctxFor(job, ns), []);
    assert.deepEqual(created(plan).map((t) => [t.slot, TaskState[t.desiredState], t.jobIteration]), [[1, "COMPLETE", 0], [2, "COMPLETE", 0]]);
  });

  it("a replicated job starts new slots as tasks complete, until totalCompletions slots are started, and is complete when all are done", () => {
    const job = service("j", { replicatedJob: { maxConcurrent: 2, totalCompletions: 3 } });
    const done1 = taskOf(job, { slot: 1, state: TaskState.COMPLETE, jobIteration: 0 });
    const running2 = taskOf(job, { slot: 2, nodeId: "n1", jobIteration: 0 });
    assert.deepEqual(created(reconcileReplicatedJob(ctxFor(job, ns), [done1, running2])).map((t) => t.slot), [3]);
    const done2 = { ...running2, status: { ...running2.status, state: TaskState.COMPLETE } };
    const done3 = taskOf(job, { slot: 3, state: TaskState.COMPLETE, jobIteration: 0 });
    assert.deepEqual(reconcileReplicatedJob(ctxFor(job, ns), [done1, done2, done3]).changes, []);
    assert.equal(jobComplete(job, [done1, done2, done3]), true);
    assert.equal(jobComplete(job, [done1, running2]), false);
  });

  it("a failed job task is restarted in its slot per the restart policy", () => {
    const job = service("j", { replicatedJob: { maxConcurrent: 1, totalCompletions: 1 } });
    const failed = taskOf(job, { slot: 1, nodeId: "n1", state: TaskState.FAILED, jobIteration: 0 });
    const plan = reconcileReplicatedJob(ctxFor(job, ns), [failed]);
    assert.deepEqual(desiredOf(plan), { [failed.id]: "SHUTDOWN" });
    assert.deepEqual(created(plan).map((t) => [t.slot, TaskState[t.desiredState]]), [[1, "READY"]]);
  });

  it("a changed template (ForceUpdate) bumps the job iteration; the next pass shuts the old iteration down and runs again", () => {
    const job = service("j", { replicatedJob: { maxConcurrent: 1, totalCompletions: 1 } });
    const done = taskOf(job, { slot: 1, state: TaskState.COMPLETE, jobIteration: 0 });
    const forced = { ...job, spec: { ...job.spec, task: { ...job.spec.task, forceUpdate: 1 } } };
    const bump = reconcileReplicatedJob(ctxFor(forced, ns), [done]);
    assert.deepEqual(bump.services.map((s) => s.jobStatus.jobIteration), [1]);
    const rerun = { ...forced, jobStatus: { jobIteration: 1 } };
    const plan = reconcileReplicatedJob(ctxFor(rerun, ns), [done]);
    assert.deepEqual(desiredOf(plan), { [done.id]: "SHUTDOWN" });
    assert.deepEqual(created(plan).map((t) => [t.slot, t.jobIteration]), [[1, 1]]);
  });

  it("a global job runs once on every eligible node, including nodes that join later, and not again where it completed", () => {
    const job = service("gj", { globalJob: {} });
    assert.deepEqual(created(reconcileGlobalJob(ctxFor(job, ns), [])).map((t) => t.nodeId), ["n1", "n2"]);
    const more = nodesMap(nodeObj("n1"), nodeObj("n2"), nodeObj("n3"), nodeObj("n4", { availability: NodeAvailability.DRAIN }));
    const done = [taskOf(job, { nodeId: "n1", state: TaskState.COMPLETE, jobIteration: 0 }), taskOf(job, { nodeId: "n2", state: TaskState.COMPLETE, jobIteration: 0 })];
    assert.deepEqual(created(reconcileGlobalJob(ctxFor(job, more), done)).map((t) => t.nodeId), ["n3"]);
  });
});
