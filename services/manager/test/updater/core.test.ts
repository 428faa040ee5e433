import { strict as assert } from "node:assert";
import { TaskState, UpdateFailureAction, UpdateState, type Service, type Task } from "@shoal/store";
import { service, taskOf, NOW } from "../orchestrator/fixtures.js";
import { UpdaterError, applyUpdateStatusChange, decideUpdate, failedWithinMonitor, rollbackToPrevious, updatePolicy, withNewSpec, type TaskLives } from "../../src/updater/index.js";

function decide(svc: Service, tasks: Task[], opts: { now?: number; lives?: TaskLives } = {}) {
  let n = 0;
  return decideUpdate({ service: svc, tasks, nodes: new Map(), now: opts.now ?? NOW, lives: opts.lives ?? new Map(), newId: () => `new${++n}` });
}

function v2(svc: Service): Service {
  return { ...withNewSpec(svc, { ...svc.spec, task: { ...svc.spec.task, container: { image: "v2" } } }), meta: { ...svc.meta, version: { index: 30 } } };
}

describe("updater core", () => {
  it("fills in swarm's defaults: parallelism 1, no delay, 5 s monitor, pause, stop-first", () => {
    const p = updatePolicy(service("s", { replicated: { replicas: 1 } }).spec, false);
    assert.deepEqual(p, { parallelism: 1, delayMs: 0, failureAction: 0, monitorMs: 5_000, maxFailureRatio: 0, order: 0 });
  });

  it("starts an update (updating, startedAt now) when a slot runs an old template", () => {
    const svc = service("s", { replicated: { replicas: 2 } });
    const tasks = [taskOf(svc, { slot: 1, nodeId: "n1" }), taskOf(svc, { slot: 2, nodeId: "n1" })];
    const d = decide(v2(svc), tasks);
    assert.deepEqual(d.status?.updateStatus, { state: UpdateState.UPDATING, startedAt: NOW, message: "update in progress" });
    assert.equal(d.changes.length, 1, "parallelism 1: one slot");
    assert.deepEqual(d.changes[0]!.desired, [{ taskId: tasks[0]!.id, desiredState: TaskState.SHUTDOWN }]);
    assert.equal(d.changes[0]!.create[0]!.desiredState, TaskState.READY);
  });

  it("does nothing for a service whose tasks are up to date, a paused update, or a job", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    assert.deepEqual(decide(svc, [taskOf(svc, { slot: 1 })]), { changes: [] });
    const paused = { ...v2(svc), updateStatus: { state: UpdateState.PAUSED } };
    assert.deepEqual(decide(paused, [taskOf(svc, { slot: 1 })]), { changes: [] });
    const job = service("j", { replicatedJob: { maxConcurrent: 1, totalCompletions: 1 } });
    assert.deepEqual(decide(v2(job), [taskOf(job, { slot: 1 })]), { changes: [] });
  });

  it("counts a new task's failure only within `monitor` of it starting to run", () => {
    const svc = service("s", { replicated: { replicas: 1 } });
    const failed = taskOf(svc, { slot: 1, state: TaskState.FAILED, createdAt: NOW - 60_000 });
    failed.status.timestamp = NOW;
    assert.equal(failedWithinMonitor(failed, { runningAtMs: NOW - 4_000 }, 5_000), true);
    assert.equal(failedWithinMonitor(failed, { runningAtMs: NOW - 6_000 }, 5_000), false);
    assert.equal(failedWithinMonitor(failed, {}, 5_000), true, "seen, never running: it failed to start");
    assert.equal(failedWithinMonitor(failed, undefined, 5_000), false, "never seen and created long before: not sure, not counted");
    const shutdown = { ...failed, status: { ...failed.status, state: TaskState.SHUTDOWN } };
    assert.equal(failedWithinMonitor(shutdown, {}, 5_000), false, "stopped by a manager is no failure");
  });

  it("rollbackToPrevious swaps spec and previous spec; without a previous spec it refuses", () => {
    const svc = v2(service("s", { replicated: { replicas: 1 } }));
    const rolled = rollbackToPrevious(svc, NOW);
    assert.equal(rolled.spec.task.container!.image, "busybox");
    assert.equal(rolled.previousSpec!.task.container!.image, "v2");
    assert.deepEqual(rolled.updateStatus, { state: UpdateState.ROLLBACK_STARTED, startedAt: NOW, message: "manually requested rollback" });
    assert.throws(
      () => rollbackToPrevious(service("t", { replicated: { replicas: 1 } }), NOW),
      (err: unknown) => err instanceof UpdaterError && err.code === "UPDATER_NO_PREVIOUS_SPEC",
    );
  });

  describe("on a failed new task", () => {
    const updating = (state: UpdateState, failureAction: UpdateFailureAction, withPrevious = true): { svc: Service; tasks: Task[] } => {
      const old = service("s", { replicated: { replicas: 2 } });
      const next = v2(old);
      next.spec.update = { failureAction };
      next.spec.rollback = { failureAction };
      next.updateStatus = { state, startedAt: NOW - 10_000 };
      if (!withPrevious) delete next.previousSpec;
      const failed = taskOf(next, { id: "bad", slot: 1, state: TaskState.FAILED, createdAt: NOW - 5_000 });
      return { svc: next, tasks: [failed, taskOf(old, { slot: 2, nodeId: "n1" })] };
    };
    const seen: TaskLives = new Map([["bad", {}]]);

    it("rolls back (rollback_started, spec swapped back) with failure action rollback", () => {
      const { svc, tasks } = updating(UpdateState.UPDATING, UpdateFailureAction.ROLLBACK);
      const d = decide(svc, tasks, { lives: seen });
      assert.equal(d.status?.updateStatus.state, UpdateState.ROLLBACK_STARTED);
      assert.equal(d.status?.updateStatus.message, "update rolled back due to failure or early termination of task bad");
      assert.deepEqual(d.changes, [], "no slot is replaced on the way into a rollback");
      const rolled = applyUpdateStatusChange(svc, d.status!);
      assert.equal(rolled.spec.task.container!.image, "busybox");
      assert.equal(rolled.previousSpec, undefined);
    });

    it("pauses instead when there is no previous spec to roll back to", () => {
      const { svc, tasks } = updating(UpdateState.UPDATING, UpdateFailureAction.ROLLBACK, false);
      assert.equal(decide(svc, tasks, { lives: seen }).status?.updateStatus.state, UpdateState.PAUSED);
    });

    it("pauses a rollback that fails (rollback_paused): a rollback is never rolled back", () => {
      const { svc, tasks } = updating(UpdateState.ROLLBACK_STARTED, UpdateFailureAction.ROLLBACK);
      const d = decide(svc, tasks, { lives: seen });
      assert.equal(d.status?.updateStatus.state, UpdateState.ROLLBACK_PAUSED);
      assert.equal(d.status?.updateStatus.message, "rollback paused due to failure or early termination of task bad");
    });
  });
});
