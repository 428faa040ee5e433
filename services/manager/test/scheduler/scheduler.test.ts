import assert from "node:assert/strict";
import { FakeClock, createRegistry, silentLogger, type Registry } from "@shoal/common";
import {
  LocalProposer,
  MemoryStore,
  NodeAvailability,
  NodeState,
  TaskState,
  copyObject,
  type Node,
  type ProposeOptions,
  type Proposer,
  type StoreAction,
  type Task,
} from "@shoal/store";
import { ASSIGNED_MESSAGE, Scheduler, assignedTask, type SchedulerOpts } from "../../src/scheduler/index.js";
import { makeNode, makeTask, tasksPerNode, type NodeOpts, type TaskOpts } from "./fixtures.js";

const TICK_MS = 50;
const GiB = 2 ** 30;

/** Lets writes through, or holds them until released (to let another writer race the scheduler). */
class GatedProposer implements Proposer {
  private next = 1;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  readonly proposals: StoreAction[][] = [];

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async proposeValue(actions: StoreAction[], _opts?: ProposeOptions): Promise<{ index: number }> {
    this.proposals.push(actions);
    const index = this.next++;
    if (this.gate !== undefined) await this.gate;
    return { index };
  }
}

class Harness {
  readonly clock = new FakeClock();
  readonly store: MemoryStore;
  readonly scheduler: Scheduler;

  constructor(
    proposer: Proposer = new LocalProposer(),
    opts: SchedulerOpts = {},
    metrics?: Registry,
    storeOpts: { maxBatchActions?: number } = {},
  ) {
    this.store = new MemoryStore(storeOpts, { clock: this.clock, proposer });
    const modules = { store: this.store, logger: silentLogger(), clock: this.clock };
    this.scheduler = new Scheduler({ tickMs: TICK_MS, ...opts }, metrics === undefined ? modules : { ...modules, metrics });
  }

  async addNode(id: string, o: NodeOpts = {}): Promise<void> {
    const { meta: _meta, ...node } = makeNode(id, o);
    await this.store.update((tx) => tx.create("node", node));
  }

  async editNode(id: string, edit: (n: Node) => void): Promise<void> {
    await this.store.update((tx) => {
      const n = copyObject(tx.get("node", id)!);
      edit(n);
      tx.update("node", n);
    });
  }

  async addTasks(serviceId: string, count: number, o: TaskOpts = {}): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `${serviceId}-${i + 1}`);
    await this.store.update((tx) => {
      for (const id of ids) {
        const { meta: _meta, ...t } = makeTask(id, serviceId, o);
        tx.create("task", t);
      }
    });
    return ids;
  }

  async editTask(id: string, edit: (t: Task) => void): Promise<void> {
    await this.store.update((tx) => {
      const t = copyObject(tx.get("task", id)!);
      edit(t);
      tx.update("task", t);
    });
  }

  task(id: string): Task {
    return this.store.view((tx) => tx.get("task", id)!);
  }

  tasks(): Task[] {
    return this.store.view((tx) => tx.find("task"));
  }

  /** Runs the scheduler's timers until it has nothing left to do. */
  async settle(): Promise<void> {
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    for (let i = 0; i < 200; i++) {
      await turn();
      if (this.scheduler.isIdle()) {
        await turn();
        if (this.scheduler.isIdle()) return;
      }
      this.clock.advance(TICK_MS);
    }
    throw new Error("the scheduler did not settle");
  }
}

describe("scheduler: the Scheduler over a MemoryStore", () => {
  let h: Harness;
  afterEach(async () => {
    await h.scheduler.stop();
    h.store.close();
  });

  it("assigns pending tasks, spread over the ready nodes, with status ASSIGNED, its message and the clock's time", async () => {
    h = new Harness();
    await h.addNode("n1");
    await h.addNode("n2");
    await h.addTasks("web", 4);
    h.scheduler.start();
    await h.settle();
    const tasks = h.tasks();
    assert.deepEqual(tasksPerNode(tasks), { n1: 2, n2: 2 });
    for (const t of tasks) {
      assert.equal(t.status.state, TaskState.ASSIGNED);
      assert.equal(t.status.message, ASSIGNED_MESSAGE);
      assert.equal(t.status.timestamp, h.clock.now());
    }
  });

  it("records the generic resources a task claims on its node", async () => {
    h = new Harness();
    await h.addNode("g1", { named: [["gpu", "GPU-7"]] });
    await h.addTasks("train", 1, { generic: { gpu: 1 } });
    h.scheduler.start();
    await h.settle();
    assert.deepEqual(h.task("train-1").assignedGenericResources, [{ kind: "gpu", named: "GPU-7" }]);
  });

  it("schedules tasks that become pending after start, but not NEW tasks or tasks no longer wanted", async () => {
    h = new Harness();
    await h.addNode("n1");
    h.scheduler.start();
    await h.addTasks("web", 2);
    await h.addTasks("new", 1, { state: TaskState.NEW });
    await h.addTasks("gone", 1, { desiredState: TaskState.SHUTDOWN });
    await h.settle();
    assert.equal(h.task("web-1").nodeId, "n1");
    assert.equal(h.task("web-2").nodeId, "n1");
    assert.equal(h.task("new-1").nodeId, "");
    assert.equal(h.task("gone-1").nodeId, "");
  });

  it("gives no tasks to a node that went down or was drained", async () => {
    h = new Harness();
    await h.addNode("n1");
    await h.addNode("n2");
    await h.addNode("n3");
    h.scheduler.start();
    await h.editNode("n1", (n) => (n.status.state = NodeState.DOWN));
    await h.editNode("n2", (n) => (n.spec.availability = NodeAvailability.DRAIN));
    await h.addTasks("web", 3);
    await h.settle();
    assert.deepEqual(tasksPerNode(h.tasks()), { n3: 3 });
  });

  it("leaves a task that fits nowhere PENDING with the reason, and assigns it once a node with memory appears", async () => {
    h = new Harness();
    await h.addNode("small", { memoryBytes: GiB });
    h.scheduler.start();
    await h.addTasks("db", 1, { memoryBytes: 4 * GiB });
    await h.settle();
    let t = h.task("db-1");
    assert.equal(t.status.state, TaskState.PENDING);
    // In err, as swarmkit: `service ps` shows it in its ERROR column, the progress view in the slot's line.
    assert.equal(t.status.err, "no suitable node (1 node lacks memory)");
    const version = t.meta.version.index;
    // Unrelated changes retry the task but do not rewrite an unchanged reason.
    await h.editNode("small", (n) => (n.spec.annotations.labels = { any: "thing" }));
    await h.settle();
    assert.equal(h.task("db-1").meta.version.index, version);

    await h.addNode("big", { memoryBytes: 8 * GiB });
    await h.settle();
    t = h.task("db-1");
    assert.equal(t.status.state, TaskState.ASSIGNED);
    assert.equal(t.nodeId, "big");
    assert.equal(t.status.err, undefined, "the reason it waited is gone once it is placed");
  });

  it("places a waiting task once another task on the node ends and frees its reservation", async () => {
    h = new Harness();
    await h.addNode("n1", { memoryBytes: 2 * GiB });
    await h.addTasks("old", 1, { memoryBytes: 2 * GiB, nodeId: "n1", state: TaskState.RUNNING });
    h.scheduler.start();
    await h.addTasks("web", 1, { memoryBytes: GiB });
    await h.settle();
    assert.equal(h.task("web-1").status.state, TaskState.PENDING);
    await h.editTask("old-1", (t) => (t.status = { ...t.status, state: TaskState.SHUTDOWN }));
    await h.settle();
    assert.equal(h.task("web-1").nodeId, "n1");
  });

  it("commits decisions in batches: one proposal per pass of at most batchMaxTasks tasks", async () => {
    const proposer = new LocalProposer();
    h = new Harness(proposer, { batchMaxTasks: 10 });
    await h.addNode("n1");
    await h.addNode("n2");
    await h.addTasks("web", 25);
    const before = proposer.proposals.length;
    h.scheduler.start();
    await h.settle();
    const passes = proposer.proposals.slice(before);
    assert.deepEqual(
      passes.map((p) => p.length),
      [10, 10, 5],
    );
    assert.ok(h.tasks().every((t) => t.status.state === TaskState.ASSIGNED));
  });

  it("decides once it holds the store: a task changed by a writer it waited for is placed from its new version, in one pass", async () => {
    const proposer = new GatedProposer();
    h = new Harness(proposer);
    await h.addNode("n1");
    await h.addTasks("web", 2);
    h.scheduler.start();
    // Another writer holds the store while the scheduler decides; its change to web-1 lands first.
    proposer.hold();
    const other = h.editTask("web-1", (t) => (t.annotations = { name: "renamed" }));
    h.clock.advance(TICK_MS);
    await new Promise((r) => setImmediate(r));
    proposer.release();
    await other;
    await h.settle();
    const t1 = h.task("web-1");
    assert.equal(t1.annotations?.name, "renamed");
    assert.equal(t1.status.state, TaskState.ASSIGNED);
    assert.equal(h.task("web-2").status.state, TaskState.ASSIGNED);
    // Both decided after the other writer's change: no conflict, one proposal.
    const assigning = proposer.proposals.filter((p) => p.some((a) => (a.object as Task).status?.state === TaskState.ASSIGNED));
    assert.equal(assigning.length, 1);
    assert.equal(assigning[0]!.length, 2);
  });

  it("skips a decision whose task changed while the pass let a writer in between proposals; the newer version decides", async () => {
    const proposer = new GatedProposer();
    // Two actions per proposal: the pass proposes web-1 and web-2, then lets queued writers go first.
    h = new Harness(proposer, {}, undefined, { maxBatchActions: 2 });
    await h.addNode("n1");
    await h.addTasks("web", 4);
    proposer.hold();
    h.scheduler.start();
    h.clock.advance(TICK_MS);
    const before = proposer.proposals.length;
    for (let i = 0; i < 20 && proposer.proposals.length === before; i++) await new Promise((r) => setImmediate(r));
    assert.equal(proposer.proposals.length, before + 1, "the pass's first proposal is in flight");
    // Meanwhile web-4 is no longer wanted: the decision made for it is stale.
    const other = h.editTask("web-4", (t) => (t.desiredState = TaskState.SHUTDOWN));
    proposer.release();
    await other;
    await h.settle();
    assert.deepEqual(
      ["web-1", "web-2", "web-3"].map((id) => h.task(id).status.state),
      [TaskState.ASSIGNED, TaskState.ASSIGNED, TaskState.ASSIGNED],
    );
    const t4 = h.task("web-4");
    assert.equal(t4.desiredState, TaskState.SHUTDOWN);
    assert.equal(t4.status.state, TaskState.PENDING, "not placed from the version it was decided on");
    assert.equal(t4.nodeId, "");
  });

  it("tries again after a failed commit, and stops without leaving timers behind", async () => {
    let refuse = true;
    const local = new LocalProposer();
    const proposer: Proposer = {
      proposeValue: (actions, opts) => (refuse && actions.some((a) => a.kind === "task" && (a.object as Task).status.state === TaskState.ASSIGNED) ? Promise.reject(new Error("no quorum")) : local.proposeValue(actions, opts)),
    };
    h = new Harness(proposer, { retryMs: 1000 });
    await h.addNode("n1");
    await h.addTasks("web", 1);
    h.scheduler.start();
    await h.settle();
    assert.equal(h.task("web-1").status.state, TaskState.PENDING);
    refuse = false;
    h.clock.advance(1000);
    await h.settle();
    assert.equal(h.task("web-1").nodeId, "n1");
    await h.scheduler.stop();
    assert.equal(h.clock.pendingTimers(), 0);
  });

  it("reports assigned and pending tasks as shoal_scheduler_* metrics", async () => {
    const registry = createRegistry();
    h = new Harness(new LocalProposer(), {}, registry);
    await h.addNode("n1", { memoryBytes: GiB });
    await h.addTasks("web", 3);
    await h.addTasks("big", 1, { memoryBytes: 2 * GiB });
    h.scheduler.start();
    await h.settle();
    const text = await registry.metrics();
    assert.match(text, /^shoal_scheduler_assigned_tasks_total 3$/m);
    assert.match(text, /^shoal_scheduler_pending_tasks 1$/m);
    assert.match(text, /^shoal_scheduler_pass_seconds_count 1$/m);
  });

  it("builds its state from a large store over several event-loop turns, and takes in what commits meanwhile", async () => {
    h = new Harness();
    // n1's memory is taken by 5,000 running tasks (the view the state is built from); n2 has room.
    await h.addNode("n1", { memoryBytes: 5_000 * 1024 });
    await h.addNode("n2", { memoryBytes: 4 * GiB });
    await h.addTasks("old", 5_000, { nodeId: "n1", state: TaskState.RUNNING, memoryBytes: 1024 });
    await h.addTasks("web", 6, { memoryBytes: 1024 });
    h.scheduler.start();
    await new Promise((r) => setImmediate(r));
    // Built in one go, the state would already know the 6 pending tasks.
    assert.equal(h.scheduler.pendingCount, 0, "still building after one turn");
    assert.equal(h.scheduler.isIdle(), false);
    // Committed while the state is built: seen once it is whole.
    await h.addNode("n3", { memoryBytes: 4 * GiB });
    await h.settle();
    const placed = tasksPerNode(h.tasks().filter((t) => t.serviceId === "web"));
    assert.deepEqual(placed, { n2: 3, n3: 3 });
  });

  it("starts over from a fresh view when its watch overflows, and still assigns every task", async () => {
    h = new Harness(new LocalProposer(), { watchQueueLimit: 5 });
    await h.addNode("n1");
    h.scheduler.start();
    // One transaction of 20 tasks is 20 events at once: more than the watch may queue.
    await h.addTasks("web", 20);
    await h.settle();
    assert.ok(h.tasks().every((t) => t.status.state === TaskState.ASSIGNED && t.nodeId === "n1"));
    assert.equal(h.scheduler.pendingCount, 0);
  });
});

describe("scheduler: placing tasks being created (Placer)", () => {
  let h: Harness;
  afterEach(async () => {
    await h.scheduler.stop();
    h.store.close();
  });

  const fresh = (id: string, o: TaskOpts = {}): Task => makeTask(id, "db", o);

  it("places none before it has started (or once stopped)", async () => {
    h = new Harness();
    await h.addNode("n1");
    assert.equal(h.scheduler.place([fresh("db-1")], 0).size, 0);
    h.scheduler.start();
    await h.settle();
    assert.equal(h.scheduler.place([fresh("db-1")], 0).get("db-1")?.nodeId, "n1");
    await h.scheduler.stop();
    assert.equal(h.scheduler.place([fresh("db-2")], 0).size, 0);
  });

  it("books what it places, so that neither the next placement nor a pass gives the same room away; forget gives it back", async () => {
    h = new Harness();
    await h.addNode("n1", { memoryBytes: 4 * GiB });
    h.scheduler.start();
    await h.settle();
    const first = h.scheduler.place([fresh("db-1", { memoryBytes: 3 * GiB })], 0);
    assert.equal(first.get("db-1")?.nodeId, "n1");
    // The 3 GiB are booked though db-1 is not in the store: a second one does not fit.
    assert.equal(h.scheduler.place([fresh("db-2", { memoryBytes: 3 * GiB })], 0).size, 0);
    await h.addTasks("other", 1, { memoryBytes: 3 * GiB });
    await h.settle();
    assert.equal(h.task("other-1").status.state, TaskState.PENDING);
    assert.equal(h.task("other-1").status.err, "no suitable node (1 node lacks memory)");
    // db-1 was never written: forgetting it frees the room, and the pending task takes it.
    h.scheduler.forget(["db-1"]);
    await h.editNode("n1", (n) => (n.spec.annotations.labels = { freed: "yes" }));
    await h.settle();
    assert.equal(h.task("other-1").status.state, TaskState.ASSIGNED);
  });

  it("forget keeps a task the store holds as the store holds it", async () => {
    h = new Harness();
    await h.addNode("n1", { memoryBytes: 4 * GiB });
    h.scheduler.start();
    await h.addTasks("db", 1, { memoryBytes: 3 * GiB });
    await h.settle();
    assert.equal(h.task("db-1").nodeId, "n1");
    // The store's db-1 holds the room: forgetting it must not free it.
    h.scheduler.forget(["db-1"]);
    assert.equal(h.scheduler.place([fresh("db-2", { memoryBytes: 3 * GiB })], 0).size, 0);
  });

  it("counts a task born ASSIGNED in shoal_scheduler_assigned_tasks_total when its creation is seen", async () => {
    const registry = createRegistry();
    h = new Harness(new LocalProposer(), {}, registry);
    await h.addNode("n1");
    h.scheduler.start();
    await h.settle();
    const placed = h.scheduler.place([fresh("db-1")], 5);
    await h.store.update((tx) => {
      const { meta: _meta, ...t } = fresh("db-1");
      tx.create("task", assignedTask(t, placed.get("db-1")!, 5));
    });
    await h.settle();
    assert.equal(h.task("db-1").status.message, ASSIGNED_MESSAGE);
    const metric = await registry.getSingleMetric("shoal_scheduler_assigned_tasks_total")!.get();
    assert.equal(metric.values[0]?.value, 1);
  });
});
