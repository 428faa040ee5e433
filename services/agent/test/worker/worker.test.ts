// The Worker with the simulated executor and a FakeClock: the state machine a task goes through,
// shutdown and removal, exits and failures, and adoption of running tasks after a restart.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock, silentLogger } from "@shoal/common";
import { Level } from "level";
import { TaskState, type Task } from "@shoal/store";
import { SimulatedExecutor, Worker, workerDbDir, type TaskStatusUpdate } from "../../src/index.js";
import { assignedTask, until } from "./fixtures.js";

describe("worker: reconciling assignments with the executor", () => {
  let dir: string;
  let clock: FakeClock;
  let executor: SimulatedExecutor;
  let worker: Worker;
  let reports: TaskStatusUpdate[][];
  const workers: Worker[] = [];

  const newWorker = async (): Promise<Worker> => {
    const w = new Worker({ stateDir: dir, nodeId: "n1" }, { logger: silentLogger(), executor, clock });
    workers.push(w);
    w.onStatus((u) => reports.push(u));
    await w.start();
    return w;
  };
  const stateOf = (id: string): TaskState | undefined => worker.get(id)?.status.state;
  const reached = (id: string, state: TaskState): Promise<true> => until(`${id} ${TaskState[state]}`, () => stateOf(id) === state);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "shoal-worker-"));
    clock = new FakeClock();
    executor = new SimulatedExecutor({}, { clock });
    reports = [];
    worker = await newWorker();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("drives an assigned task through ACCEPTED, PREPARING, READY, STARTING to RUNNING; reports go out in few batches, states only forward", async () => {
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t1", "n1")] });
    await reached("t1", TaskState.RUNNING);
    await until("the RUNNING report", () => reports.flat().some((u) => u.status.state === TaskState.RUNNING));
    const states = reports.flat().map((u) => u.status.state);
    assert.deepEqual(states, [...states].sort((a, b) => a - b));
    assert.equal(states.at(-1), TaskState.RUNNING);
    assert.ok(reports.length < 5, `steps of one turn share a batch (${reports.length} batches)`);
    const running = worker.get("t1")?.status;
    assert.ok((running?.containerStatus?.pid ?? 0) > 0);
    assert.equal(running?.timestamp, clock.now());
    assert.deepEqual(executor.running(), ["t1"]);
  });

  it("shuts a task down when its desired state becomes SHUTDOWN", async () => {
    const t = assignedTask("t1", "n1");
    await worker.applyAssignments({ type: "complete", tasks: [t] });
    await reached("t1", TaskState.RUNNING);
    await worker.applyAssignments({ type: "incremental", tasks: [{ ...t, desiredState: TaskState.SHUTDOWN }] });
    await reached("t1", TaskState.SHUTDOWN);
    assert.ok(executor.calls.includes("shutdown:t1"));
    assert.deepEqual(executor.running(), []);
  });

  it("reports FAILED with the exit code when the task exits non-zero (SHOAL_SIM_EXIT_CODE=1 after SHOAL_SIM_RUN_MS)", async () => {
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t1", "n1", ["SHOAL_SIM_RUN_MS=2000", "SHOAL_SIM_EXIT_CODE=1"])] });
    await reached("t1", TaskState.RUNNING);
    clock.advance(1_999);
    assert.equal(stateOf("t1"), TaskState.RUNNING);
    clock.advance(1);
    await reached("t1", TaskState.FAILED);
    const s = worker.get("t1")?.status;
    assert.equal(s?.containerStatus?.exitCode, 1);
    assert.match(s?.err ?? "", /exit/);
  });

  it("reports COMPLETE when the task exits 0", async () => {
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t1", "n1", ["SHOAL_SIM_RUN_MS=10"])] });
    await reached("t1", TaskState.RUNNING);
    clock.advance(10);
    await reached("t1", TaskState.COMPLETE);
    assert.equal(worker.get("t1")?.status.containerStatus?.exitCode, 0);
  });

  it("reports REJECTED with the executor's message when prepare fails (SHOAL_SIM_FAIL_PREPARE)", async () => {
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t1", "n1", ["SHOAL_SIM_FAIL_PREPARE=no such image"])] });
    await reached("t1", TaskState.REJECTED);
    assert.equal(worker.get("t1")?.status.err, "no such image");
    assert.ok(!executor.calls.includes("start:t1"));
  });

  it("stops at READY while the desired state is READY and starts once it is RUNNING", async () => {
    const t = assignedTask("t1", "n1", [], TaskState.READY);
    await worker.applyAssignments({ type: "complete", tasks: [t] });
    await reached("t1", TaskState.READY);
    assert.ok(!executor.calls.includes("start:t1"));
    await worker.applyAssignments({ type: "incremental", tasks: [{ ...t, desiredState: TaskState.RUNNING }] });
    await reached("t1", TaskState.RUNNING);
  });

  it("writes the local DB in one batch per turn, not once per task and step; a restart resumes every task at its latest state", async () => {
    const proto = Level.prototype as unknown as { put: (...a: unknown[]) => Promise<void>; batch: (...a: unknown[]) => Promise<void> };
    const { put, batch } = proto;
    let puts = 0;
    let batches = 0;
    proto.put = function (this: unknown, ...a: unknown[]) {
      puts++;
      return put.apply(this, a);
    };
    proto.batch = function (this: unknown, ...a: unknown[]) {
      batches++;
      return batch.apply(this, a);
    };
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
    try {
      await worker.applyAssignments({ type: "complete", tasks: ids.map((id) => assignedTask(id, "n1")) });
      for (const id of ids) await reached(id, TaskState.RUNNING);
      await worker.stop();
    } finally {
      proto.put = put;
      proto.batch = batch;
    }
    assert.equal(puts, 0);
    // 20 tasks through 6 states were 120 puts; now a batch per turn that changed something.
    assert.ok(batches > 0 && batches <= 10, `${batches} batches`);
    worker = await newWorker();
    assert.deepEqual(ids.filter((id) => stateOf(id) !== TaskState.RUNNING), []);
  });

  it("writes a task's record once and each step only to its small status record", async () => {
    const proto = Level.prototype as unknown as { batch: (...a: unknown[]) => Promise<void> };
    const { batch } = proto;
    const keys: string[] = [];
    proto.batch = function (this: unknown, ...a: unknown[]) {
      for (const op of a[0] as { type: string; key: string }[]) if (op.type === "put") keys.push(op.key);
      return batch.apply(this, a);
    };
    const ids = ["t1", "t2", "t3"];
    try {
      await worker.applyAssignments({ type: "complete", tasks: ids.map((id) => assignedTask(id, "n1", ["SHOAL_SIM_RUN_MS=10"])) });
      for (const id of ids) await reached(id, TaskState.RUNNING);
      await until("RUNNING written", () => keys.length >= 6);
      clock.advance(10);
      for (const id of ids) await reached(id, TaskState.COMPLETE);
      await worker.stop();
    } finally {
      proto.batch = batch;
    }
    assert.deepEqual(keys.filter((k) => k.startsWith("task/")).sort(), ["task/t1", "task/t2", "task/t3"]);
    assert.deepEqual(keys.filter((k) => k.startsWith("status/")).sort(), ["status/t1", "status/t1", "status/t2", "status/t2", "status/t3", "status/t3"]);
    worker = await newWorker();
    assert.deepEqual(ids.map(stateOf), [TaskState.COMPLETE, TaskState.COMPLETE, TaskState.COMPLETE]);
  });

  it("writes nothing and wakes no runner for a complete set that repeats its tasks (a new leader's), and only the task that changed", async () => {
    const ids = ["t1", "t2", "t3"];
    await worker.applyAssignments({ type: "complete", tasks: ids.map((id) => assignedTask(id, "n1")) });
    for (const id of ids) await reached(id, TaskState.RUNNING);
    const proto = Level.prototype as unknown as { batch: (...a: unknown[]) => Promise<void> };
    const { batch } = proto;
    const keys: string[] = [];
    proto.batch = function (this: unknown, ...a: unknown[]) {
      for (const op of a[0] as { type: string; key: string }[]) keys.push(op.key);
      return batch.apply(this, a);
    };
    try {
      // The same tasks as new objects, with a newer version and the manager's copy of the status.
      const again = (id: string): Task => ({ ...assignedTask(id, "n1"), meta: { version: { index: 9 }, createdAt: 0, updatedAt: 5 }, status: { timestamp: 3, state: TaskState.RUNNING } });
      const waits = (): number => executor.calls.filter((c) => c.startsWith("wait:")).length;
      const waitsBefore = waits();
      await worker.applyAssignments({ type: "complete", tasks: ids.map(again) });
      await worker.applyAssignments({ type: "complete", tasks: ids.map(again) });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(keys.length, 0, `nothing the worker keeps changed, yet it wrote ${keys.join(", ")}`);
      // Nor were the running tasks' runners woken: each would have abandoned and restarted its wait.
      assert.equal(waits(), waitsBefore, "no running task's wait was restarted");
      assert.equal(worker.get("t1")!.task.meta.version.index, 9, "the runner holds the newer copy");
      await worker.applyAssignments({ type: "complete", tasks: [again("t1"), again("t2"), { ...again("t3"), desiredState: TaskState.SHUTDOWN }] });
      await reached("t3", TaskState.SHUTDOWN);
      await until("t3 written", () => keys.includes("task/t3"));
    } finally {
      proto.batch = batch;
    }
    assert.deepEqual([...new Set(keys)].sort(), ["status/t3", "task/t3"]);
    await worker.stop();
    worker = await newWorker();
    assert.deepEqual(ids.map(stateOf), [TaskState.RUNNING, TaskState.RUNNING, TaskState.SHUTDOWN]);
  });

  it("adopts a task kept in the older single-record form ({ task, status } under task/<id>)", async () => {
    const t = assignedTask("t1", "n1");
    await worker.applyAssignments({ type: "complete", tasks: [t] });
    await reached("t1", TaskState.RUNNING);
    const running = worker.get("t1")!.status;
    await worker.stop();
    const db = new Level<string, unknown>(workerDbDir(dir), { valueEncoding: "json" });
    await db.batch([
      { type: "del", key: "status/t1" },
      { type: "put", key: "task/t1", value: { task: t, status: running } },
    ]);
    await db.close();
    worker = await newWorker();
    assert.equal(stateOf("t1"), TaskState.RUNNING);
    assert.equal(executor.calls.filter((c) => c === "start:t1").length, 1);
  });

  it("removes a task left out of a complete set from the runtime and forgets it", async () => {
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t1", "n1"), assignedTask("t2", "n1")] });
    await reached("t1", TaskState.RUNNING);
    await reached("t2", TaskState.RUNNING);
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t2", "n1")] });
    await until("t1 forgotten", () => worker.get("t1") === undefined);
    assert.ok(executor.calls.includes("remove:t1"));
    assert.deepEqual(executor.running(), ["t2"]);
    await worker.stop();
    worker = await newWorker();
    assert.equal(worker.get("t1"), undefined, "a forgotten task is not resumed");
  });

  it("removes a task named in an incremental set's removed ids; ignores tasks of other nodes", async () => {
    await worker.applyAssignments({ type: "complete", tasks: [assignedTask("t1", "n1"), assignedTask("x", "n2")] });
    await reached("t1", TaskState.RUNNING);
    assert.equal(worker.get("x"), undefined);
    await worker.applyAssignments({ type: "incremental", tasks: [], removed: ["t1"] });
    await until("t1 forgotten", () => worker.get("t1") === undefined);
    assert.deepEqual(executor.running(), []);
  });

  it("after a restart adopts the running task (no second start) and still controls it", async () => {
    const t: Task = assignedTask("t1", "n1");
    await worker.applyAssignments({ type: "complete", tasks: [t] });
    await reached("t1", TaskState.RUNNING);
    await worker.stop();
    assert.deepEqual(executor.running(), ["t1"], "stopping the worker leaves tasks running");
    worker = await newWorker();
    assert.equal(stateOf("t1"), TaskState.RUNNING);
    await worker.applyAssignments({ type: "complete", tasks: [{ ...t, status: { timestamp: 1, state: TaskState.RUNNING } }] });
    assert.equal(executor.calls.filter((c) => c === "start:t1").length, 1);
    await worker.applyAssignments({ type: "incremental", tasks: [{ ...t, desiredState: TaskState.SHUTDOWN }] });
    await reached("t1", TaskState.SHUTDOWN);
    assert.deepEqual(executor.running(), []);
  });

  it("a stop right after start waits for it and closes the local DB (the next worker can open it)", async () => {
    await worker.stop();
    const w = new Worker({ stateDir: dir, nodeId: "n1" }, { logger: silentLogger(), executor, clock });
    const starting = w.start();
    await w.stop();
    await starting;
    worker = await newWorker();
  });

  it("after a restart reports FAILED for a RUNNING task the runtime no longer has", async () => {
    const t = assignedTask("t1", "n1");
    await worker.applyAssignments({ type: "complete", tasks: [t] });
    await reached("t1", TaskState.RUNNING);
    await worker.stop();
    await executor.remove(t);
    worker = await newWorker();
    await reached("t1", TaskState.FAILED);
    assert.match(worker.get("t1")?.status.err ?? "", /not known/);
  });
});
