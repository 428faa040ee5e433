import assert from "node:assert/strict";
import { silentLogger } from "@shoal/common";
import { MemoryStore, TaskState, type NewObject, type ProposeOptions, type Proposer, type StoreAction, type StoreEvent } from "@shoal/store";
import { emptyPlan, type Plan } from "../../../src/orchestrator/core/plan.js";
import { commitPlan } from "../../../src/orchestrator/edge/commit.js";
import { ASSIGNED_MESSAGE, type Placer, type TaskPlacement } from "../../../src/scheduler/index.js";
import { tasksPerNode } from "../../scheduler/fixtures.js";
import { NOW, service, taskOf } from "../fixtures.js";
import { Harness } from "./harness.js";

const GiB = 2 ** 30;

describe("orchestrator edge: new tasks placed as they are created (born ASSIGNED)", () => {
  let h: Harness;
  afterEach(() => h.stop());

  it("creates a service's tasks already ASSIGNED, spread over the nodes, each in one write", async () => {
    h = new Harness({ scheduler: true });
    await h.start();
    for (const n of ["n1", "n2", "n3"]) await h.addNode(n);
    const events: StoreEvent[] = [];
    const watch = h.store.watch({ kinds: ["task"] });
    void (async () => {
      for await (const ev of watch) events.push(ev);
    })();
    await h.createService(service("web", { replicated: { replicas: 6 } }));
    await h.settleScheduler();
    watch.close();
    const tasks = h.tasks("web");
    assert.equal(tasks.length, 6);
    for (const t of tasks) {
      assert.equal(t.status.state, TaskState.ASSIGNED);
      assert.equal(t.status.message, ASSIGNED_MESSAGE);
      assert.equal(t.status.timestamp, h.clock.now());
    }
    assert.deepEqual(tasksPerNode(tasks), { n1: 2, n2: 2, n3: 2 });
    // Each task was written once, created as it is: never PENDING in the store.
    assert.deepEqual(
      events.map((e) => e.action),
      tasks.map(() => "create"),
    );
  });

  it("creates the tasks it cannot place PENDING; the scheduler's pass gives them its reason", async () => {
    h = new Harness({ scheduler: true });
    await h.start();
    await h.addNode("n1", { memoryBytes: 4 * GiB });
    const reservations = { nanoCpus: 0, memoryBytes: 3 * GiB };
    await h.createService(service("db", { replicated: { replicas: 2 } }, { spec: { task: { container: { image: "postgres" }, resources: { reservations } } } }));
    const born = h.tasks("db").map((t) => TaskState[t.status.state]);
    assert.deepEqual(born.sort(), ["ASSIGNED", "PENDING"]);
    await h.settleScheduler();
    const waiting = h.tasks("db").find((t) => t.status.state === TaskState.PENDING)!;
    assert.equal(waiting.status.err, "no suitable node (1 node lacks memory)");
    // The room the first one holds is not given away twice.
    assert.deepEqual(tasksPerNode(h.tasks("db")), { n1: 1, "": 1 });
  });

  it("creates tasks PENDING while the scheduler is not running, and the scheduler places them once it runs", async () => {
    h = new Harness({ scheduler: true });
    h.orchestration.start();
    await h.settle();
    await h.addNode("n1");
    await h.createService(service("web", { replicated: { replicas: 2 } }));
    assert.deepEqual(
      h.tasks("web").map((t) => TaskState[t.status.state]),
      ["PENDING", "PENDING"],
    );
    h.scheduler!.start();
    await h.settleScheduler();
    assert.deepEqual(tasksPerNode(h.tasks("web")), { n1: 2 });
  });

  it("a global service's tasks are born ASSIGNED on their own nodes, a node that joins later included", async () => {
    h = new Harness({ scheduler: true });
    await h.start();
    for (const n of ["n1", "n2"]) await h.addNode(n);
    await h.createService(service("mon", { global: {} }));
    await h.addNode("n3");
    const tasks = h.tasks("mon");
    assert.deepEqual(tasks.map((t) => t.nodeId).sort(), ["n1", "n2", "n3"]);
    for (const t of tasks) assert.equal(t.status.state, TaskState.ASSIGNED);
  });

  it("a rolling update's replacement tasks are born ASSIGNED too", async () => {
    h = new Harness({ scheduler: true });
    await h.start();
    await h.addNode("n1");
    await h.createService(service("web", { replicated: { replicas: 1 } }));
    // The Updater is not in this harness: its commit goes through commitPlan with the same placer.
    const plan: Plan = emptyPlan();
    const { meta: _meta, ...fresh } = taskOf(service("web", { replicated: { replicas: 1 } }), { slot: 1, state: TaskState.NEW, nodeId: "" });
    plan.changes.push({ serviceId: "web", reason: "update", guard: [], desired: [], create: [{ ...fresh, id: "web-next" }] });
    const result = await commitPlan(h.store, plan, silentLogger(), h.scheduler);
    assert.deepEqual(result.placed, ["web-next"]);
    const t = h.store.view((tx) => tx.get("task", "web-next"))!;
    assert.equal(t.status.state, TaskState.ASSIGNED);
    assert.equal(t.nodeId, "n1");
  });
});

/** Records what the commit asks of the scheduler; places every task on `node`. */
class RecordingPlacer implements Placer {
  readonly forgotten: string[] = [];
  constructor(private readonly node: string) {}
  place(tasks: readonly { id: string }[]): ReadonlyMap<string, TaskPlacement> {
    return new Map(tasks.map((t) => [t.id, { taskId: t.id, nodeId: this.node }]));
  }
  forget(ids: readonly string[]): void {
    this.forgotten.push(...ids);
  }
}

/** Commits, until told to fail every proposal (as a leader that lost its quorum). */
class SwitchableProposer implements Proposer {
  failing = false;
  private next = 1;
  proposeValue(_actions: StoreAction[], _opts?: ProposeOptions): Promise<{ index: number }> {
    return this.failing ? Promise.reject(new Error("no quorum")) : Promise.resolve({ index: this.next++ });
  }
}

describe("orchestrator edge: placements that are not written are given back", () => {
  const svc = service("web", { replicated: { replicas: 1 } });
  const newTask = (id: string): NewObject<"task"> => {
    const { meta: _meta, ...t } = taskOf(svc, { slot: 1, state: TaskState.NEW, nodeId: "" });
    return { ...t, id, status: { timestamp: NOW, state: TaskState.NEW } };
  };

  it("forgets the placement of a change skipped for a conflict, and keeps the others", async () => {
    const store = new MemoryStore();
    await store.update((tx) => tx.create("service", svc));
    const placer = new RecordingPlacer("n1");
    const plan: Plan = emptyPlan();
    plan.changes.push({ serviceId: "web", reason: "new slot", guard: [], desired: [], create: [newTask("ok")] });
    // Guarded by a task that is not there: the change conflicts and is skipped.
    plan.changes.push({ serviceId: "web", reason: "replace", guard: [{ id: "gone", version: 3 }], desired: [], create: [newTask("skipped")] });
    const result = await commitPlan(store, plan, silentLogger(), placer);
    assert.deepEqual(result.placed, ["ok"]);
    assert.deepEqual(placer.forgotten, ["skipped"]);
    assert.equal(store.view((tx) => tx.get("task", "ok"))?.status.state, TaskState.ASSIGNED);
    assert.equal(store.view((tx) => tx.get("task", "skipped")), undefined);
    store.close();
  });

  it("forgets every placement when the batch fails while it is still staging", async () => {
    const proposer = new SwitchableProposer();
    // One action per entry: the first change's entry is proposed (and fails) before the second is staged.
    const store = new MemoryStore({ maxBatchActions: 1 }, { proposer });
    await store.update((tx) => tx.create("service", svc));
    proposer.failing = true;
    const placer = new RecordingPlacer("n1");
    const plan: Plan = emptyPlan();
    plan.changes.push({ serviceId: "web", reason: "new slot", guard: [], desired: [], create: [newTask("a")] });
    plan.changes.push({ serviceId: "web", reason: "new slot", guard: [], desired: [], create: [newTask("b")] });
    await assert.rejects(commitPlan(store, plan, silentLogger(), placer), /no quorum/);
    assert.deepEqual([...new Set(placer.forgotten)].sort(), ["a", "b"]);
    store.close();
  });

  it("forgets every placement of a batch whose entry does not commit", async () => {
    const proposer = new SwitchableProposer();
    const store = new MemoryStore({}, { proposer });
    await store.update((tx) => tx.create("service", svc));
    proposer.failing = true;
    const placer = new RecordingPlacer("n1");
    const plan: Plan = emptyPlan();
    plan.changes.push({ serviceId: "web", reason: "new slot", guard: [], desired: [], create: [newTask("a"), newTask("b")] });
    await assert.rejects(commitPlan(store, plan, silentLogger(), placer), /no quorum/);
    assert.deepEqual(placer.forgotten.sort(), ["a", "b"]);
    assert.equal(store.view((tx) => tx.get("task", "a")), undefined);
    store.close();
  });
});
