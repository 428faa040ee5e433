import { strict as assert } from "node:assert";
import { NodeState, TaskState, UpdateFailureAction, UpdateOrder, UpdateState, type Task } from "@shoal/store";
import { UpdateHarness } from "./harness.js";

const SECOND_NS = 1_000_000_000;
const v2 = (n: number): string[] => Array.from({ length: n }, (_, i) => `${i + 1}:img:v2`);
const count = (images: string[], tag: string): number => images.filter((i) => i.endsWith(tag)).length;

describe("Updater (edge, with the orchestrators on a MemoryStore)", () => {
  let h: UpdateHarness;

  beforeEach(async () => {
    h = new UpdateHarness();
    await h.start();
  });

  afterEach(async () => {
    await h.stop();
  });

  const toV2 = (id: string): Promise<void> => h.updateSpec(id, (s) => (s.task.container!.image = "img:v2"));

  it("replaces tasks in batches of `parallelism` (2), each batch once the previous one runs", async () => {
    await h.createService("web", 5, { update: { parallelism: 2 } });
    await toV2("web");
    // Slots whose new task is not running yet: never more than `parallelism`.
    const inFlight = (): number => h.tasks("web").filter((t) => t.spec.container!.image === "img:v2" && t.desiredState <= TaskState.RUNNING && t.status.state < TaskState.RUNNING).length;
    const batches: number[] = [count(h.wantedImages("web"), "v2")];
    let most = inFlight();
    for (let i = 0; i < 20 && count(h.wantedImages("web"), "v1") > 0; i++) {
      await h.agentStep();
      batches.push(count(h.wantedImages("web"), "v2"));
      most = Math.max(most, inFlight());
    }
    await h.converge();
    assert.equal(most, 2);
    // Stop-first: old tasks stop, then the held new ones are started, then they run: two agent
    // rounds per batch, and each batch adds two slots (the last one, one).
    assert.deepEqual([...new Set(batches)], [2, 4, 5]);
    assert.deepEqual(h.wantedImages("web"), v2(5));
  });

  it("stops the old task before the new one is started (stop-first)", async () => {
    await h.createService("web", 1);
    await toV2("web");
    let tasks = h.tasks("web");
    const old = tasks.find((t) => t.spec.container!.image === "img:v1")!;
    const fresh = tasks.find((t) => t.spec.container!.image === "img:v2")!;
    assert.equal(old.desiredState, TaskState.SHUTDOWN);
    assert.equal(fresh.desiredState, TaskState.READY, "the new task is held until the old one stops");
    await h.agentStep();
    tasks = h.tasks("web");
    assert.equal(tasks.find((t) => t.id === old.id)!.status.state, TaskState.SHUTDOWN);
    assert.equal(tasks.find((t) => t.id === fresh.id)!.desiredState, TaskState.RUNNING);
  });

  it("starts the held new task when the old one's node goes down, or after a minute without it stopping", async () => {
    await h.createService("web", 1);
    await h.createService("api", 1);
    const apiTask = h.tasks("api")[0]!;
    const webTask = h.tasks("web")[0]!;
    await h.store.update((tx) => tx.update("task", { ...tx.get("task", apiTask.id)!, nodeId: webTask.nodeId === "n1" ? "n2" : "n1" }));
    const heldOf = (id: string): Task => h.tasks(id).find((t) => t.spec.container!.image === "img:v2")!;
    await toV2("web");
    await h.updateSpec("api", (s) => (s.task.container!.image = "img:v2"));
    assert.equal(heldOf("web").desiredState, TaskState.READY);
    const webNode = webTask.nodeId;
    await h.store.update((tx) => {
      const node = tx.get("node", webNode)!;
      tx.update("node", { ...node, status: { state: NodeState.DOWN } });
    });
    await h.settle();
    assert.equal(heldOf("web").desiredState, TaskState.RUNNING, "a lost node will not report its task stopped");
    assert.equal(heldOf("api").desiredState, TaskState.READY, "api's old task is still stopping");
    await h.advance(59_999);
    assert.equal(heldOf("api").desiredState, TaskState.READY);
    await h.advance(1);
    assert.equal(heldOf("api").desiredState, TaskState.RUNNING);
  });

  it("waits `delay` after a batch runs before starting the next one", async () => {
    await h.createService("web", 3, { update: { parallelism: 1, delayNs: 10 * SECOND_NS } });
    await toV2("web");
    await h.converge();
    assert.equal(count(h.wantedImages("web"), "v2"), 1);
    await h.advance(9_999);
    assert.equal(count(h.wantedImages("web"), "v2"), 1, "still within the delay");
    await h.advance(1);
    assert.equal(count(h.wantedImages("web"), "v2"), 2);
    await h.converge();
    await h.advance(10_000);
    await h.converge();
    assert.deepEqual(h.wantedImages("web"), v2(3));
  });

  it("start-first never runs fewer tasks than desired", async () => {
    await h.createService("web", 3, { update: { parallelism: 1, order: UpdateOrder.START_FIRST } });
    await toV2("web");
    let least = Infinity;
    await h.converge(50, () => (least = Math.min(least, h.running("web").length)));
    assert.ok(least >= 3, `running dropped to ${least}`);
    assert.deepEqual(h.wantedImages("web"), v2(3));
    assert.equal(h.running("web").length, 3);
  });

  it("keeps the update `updating` through the monitor window, then `completed`", async () => {
    await h.createService("web", 2, { update: { parallelism: 0 } });
    await toV2("web");
    assert.equal(h.service("web").updateStatus?.state, UpdateState.UPDATING);
    assert.equal(h.service("web").updateStatus?.message, "update in progress");
    await h.converge();
    assert.deepEqual(h.wantedImages("web"), v2(2), "parallelism 0 replaces every slot at once");
    await h.advance(4_999);
    assert.equal(h.service("web").updateStatus?.state, UpdateState.UPDATING);
    await h.advance(1);
    const status = h.service("web").updateStatus!;
    assert.equal(status.state, UpdateState.COMPLETED);
    assert.equal(status.message, "update completed");
    assert.equal(status.completedAt, h.clock.now());
  });

  it("pauses on a failing new task (failure action pause) and replaces no more slots", async () => {
    await h.createService("web", 4, { update: { parallelism: 1 } });
    h.fails = (t) => t.spec.container!.image === "img:v2";
    await toV2("web");
    await h.agentStep();
    await h.agentStep();
    const status = h.service("web").updateStatus!;
    assert.equal(status.state, UpdateState.PAUSED);
    assert.match(status.message!, /^update paused due to failure or early termination of task \w+/);
    await h.advance(60_000);
    await h.converge();
    assert.equal(count(h.wantedImages("web"), "v1"), 3, "the other slots keep the old version");
  });

  it("rolls back on a failing new task (failure action rollback) to the previous spec", async () => {
    await h.createService("web", 3, { update: { parallelism: 1, failureAction: UpdateFailureAction.ROLLBACK } });
    h.fails = (t) => t.spec.container!.image === "img:v2";
    await toV2("web");
    await h.agentStep();
    await h.agentStep();
    let svc = h.service("web");
    assert.equal(svc.updateStatus?.state, UpdateState.ROLLBACK_STARTED);
    assert.match(svc.updateStatus!.message!, /^update rolled back due to failure/);
    assert.equal(svc.spec.task.container!.image, "img:v1");
    assert.equal(svc.previousSpec, undefined, "a rollback is never rolled back");
    await h.converge();
    await h.advance(5_000);
    svc = h.service("web");
    assert.equal(svc.updateStatus?.state, UpdateState.ROLLBACK_COMPLETED);
    assert.equal(svc.updateStatus?.message, "rollback completed");
    assert.deepEqual(h.wantedImages("web"), ["1:img:v1", "2:img:v1", "3:img:v1"]);
  });

  const failingSlots = (slots: number[]) => (t: Task) => t.spec.container!.image === "img:v2" && slots.includes(t.slot);

  it("tolerates failures up to maxFailureRatio (2 of 4 at 0.5)", async () => {
    await h.createService("web", 4, { update: { parallelism: 0, maxFailureRatio: 0.5 } });
    h.fails = failingSlots([1, 2]);
    await toV2("web");
    await h.converge();
    await h.advance(5_000);
    assert.equal(h.service("web").updateStatus?.state, UpdateState.COMPLETED);
  });

  it("pauses once failures exceed maxFailureRatio (3 of 4 at 0.5)", async () => {
    await h.createService("web", 4, { update: { parallelism: 0, maxFailureRatio: 0.5 } });
    h.fails = failingSlots([1, 2, 3]);
    await toV2("web");
    await h.converge();
    assert.equal(h.service("web").updateStatus?.state, UpdateState.PAUSED);
  });

  it("ignores failures with failure action continue", async () => {
    await h.createService("web", 2, { update: { parallelism: 1, failureAction: UpdateFailureAction.CONTINUE } });
    h.fails = failingSlots([1]);
    await toV2("web");
    await h.converge();
    await h.advance(5_000);
    assert.equal(h.service("web").updateStatus?.state, UpdateState.COMPLETED);
    assert.equal(h.tasks("web").filter((t) => t.slot === 2 && t.spec.container!.image === "img:v2" && t.status.state === TaskState.RUNNING).length, 1);
  });

  it("rollback=previous swaps the specs and rolls every slot back (rollback_started → rollback_completed)", async () => {
    await h.createService("web", 2, { update: { parallelism: 0 } });
    await toV2("web");
    await h.converge();
    await h.advance(5_000);
    await h.rollback("web");
    let svc = h.service("web");
    assert.equal(svc.updateStatus?.state, UpdateState.ROLLBACK_STARTED);
    assert.equal(svc.updateStatus?.message, "manually requested rollback");
    assert.equal(svc.previousSpec?.task.container!.image, "img:v2");
    await h.converge();
    assert.deepEqual(h.wantedImages("web"), ["1:img:v1", "2:img:v1"]);
    await h.advance(5_000);
    svc = h.service("web");
    assert.equal(svc.updateStatus?.state, UpdateState.ROLLBACK_COMPLETED);
  });

  it("--force (forceUpdate bump) replaces every task with an otherwise unchanged spec", async () => {
    await h.createService("web", 2, { update: { parallelism: 0 } });
    const before = new Set(h.running("web").map((t) => t.id));
    await h.updateSpec("web", (s) => (s.task.forceUpdate = (s.task.forceUpdate ?? 0) + 1));
    await h.converge();
    const after = h.running("web");
    assert.equal(after.length, 2);
    assert.ok(after.every((t) => !before.has(t.id)));
  });

  it("a task that appears on an older template outside an update starts one; tasks on the current template do not", async () => {
    await h.createService("web", 3);
    assert.equal(h.service("web").updateStatus, undefined, "creating and running the service started no update");
    // A task change alone (no service write): slot 1's task is replaced by one on an older template,
    // as a component that decided on a stale spec would do.
    await h.store.update((tx) => {
      const old = tx.find("task", { serviceId: "web" }).find((t) => t.slot === 1 && t.desiredState === TaskState.RUNNING)!;
      tx.update("task", { ...old, desiredState: TaskState.SHUTDOWN });
      const { meta: _meta, ...rest } = old;
      tx.create("task", {
        ...rest,
        id: "stale1",
        spec: { ...old.spec, container: { ...old.spec.container!, image: "img:v0" } },
        status: { state: TaskState.NEW, timestamp: h.clock.now(), message: "" },
      });
    });
    await h.settle();
    assert.equal(h.service("web").updateStatus?.state, UpdateState.UPDATING, "the stale task started an update");
    await h.converge();
    assert.deepEqual(h.wantedImages("web"), ["1:img:v1", "2:img:v1", "3:img:v1"]);
  });

  it("a new leader's Updater continues the update without duplicating or losing a slot", async () => {
    await h.createService("web", 4, { update: { parallelism: 1 } });
    await toV2("web");
    await h.agentStep();
    await h.changeLeader();
    await h.converge();
    await h.changeLeader();
    await h.converge();
    await h.advance(5_000);
    assert.equal(h.service("web").updateStatus?.state, UpdateState.COMPLETED);
    const v2Tasks = h.tasks("web").filter((t) => t.spec.container!.image === "img:v2");
    assert.equal(v2Tasks.length, 4, "one new task per slot");
    assert.deepEqual(h.wantedImages("web"), v2(4));
  });

  it("a new leader counts a new task that ran before it took over and fails within the monitor window", async () => {
    await h.createService("web", 2, { update: { parallelism: 1 } });
    await toV2("web");
    // The new task of slot 1 waits 30 s for the old one to stop, then runs: created long before
    // it started running, so only having seen it run tells that its failure is within the window.
    await h.advance(30_000);
    await h.agentStep();
    await h.agentStep();
    const fresh = h.tasks("web").find((t) => t.spec.container!.image === "img:v2" && t.status.state === TaskState.RUNNING)!;
    assert.ok(fresh !== undefined, "slot 1's new task runs");
    await h.changeLeader();
    await h.advance(1_000);
    await h.store.update((tx) => {
      const cur = tx.get("task", fresh.id)!;
      tx.update("task", { ...cur, status: { ...cur.status, state: TaskState.FAILED, timestamp: h.clock.now() } });
    });
    await h.settle();
    assert.equal(h.service("web").updateStatus?.state, UpdateState.PAUSED);
  });

  it("a spec update during an update starts over towards the newest spec", async () => {
    await h.createService("web", 3, { update: { parallelism: 1 } });
    await toV2("web");
    await h.converge();
    await h.updateSpec("web", (s) => (s.task.container!.image = "img:v3"));
    assert.equal(h.service("web").updateStatus?.state, UpdateState.UPDATING);
    await h.converge();
    await h.advance(5_000);
    assert.equal(h.service("web").updateStatus?.state, UpdateState.COMPLETED);
    assert.deepEqual(h.wantedImages("web"), ["1:img:v3", "2:img:v3", "3:img:v3"]);
  });

  it("updates a global service node by node", async () => {
    await h.store.update((tx) => {
      const svc = { id: "glob", meta: { version: { index: 0 }, createdAt: 0, updatedAt: 0 }, spec: { annotations: { name: "glob" }, task: { container: { image: "img:v1" } }, global: {} } };
      tx.create("service", svc);
    });
    await h.settle();
    await h.converge();
    assert.equal(h.running("glob").length, 3);
    await toV2("glob");
    await h.converge();
    await h.advance(5_000);
    const running = h.running("glob");
    assert.deepEqual(running.map((t) => t.nodeId).sort(), ["n1", "n2", "n3"]);
    assert.ok(running.every((t) => t.spec.container!.image === "img:v2"));
    assert.equal(h.service("glob").updateStatus?.state, UpdateState.COMPLETED);
  });

  it("keeps a service's dynamically published port through an update; new tasks carry it", async () => {
    await h.createService("web", 2, { update: { parallelism: 0 }, endpoint: { ports: [{ targetPort: 80 }] } });
    assert.equal(h.service("web").endpoint?.ports?.[0]?.publishedPort, 30000);
    await toV2("web");
    await h.converge();
    await h.advance(5_000);
    assert.equal(h.service("web").updateStatus?.state, UpdateState.COMPLETED);
    assert.equal(h.service("web").endpoint?.ports?.[0]?.publishedPort, 30000);
    const running = h.running("web");
    assert.equal(running.length, 2);
    assert.ok(running.every((t) => t.spec.container!.image === "img:v2" && t.endpoint?.ports?.[0]?.publishedPort === 30000));
  });
});

describe("Updater: bounded passes", () => {
  it("decides at most passTaskBudget tasks a pass and the marked services left in the next passes", async () => {
    // A budget of one task: each pass decides one service and leaves the others marked.
    const h = new UpdateHarness({ updaterTaskBudget: 1 });
    await h.start();
    try {
      for (const name of ["a", "b", "c"]) await h.createService(name, 2);
      await h.changeLeader();
      for (const name of ["a", "b", "c"]) await h.updateSpec(name, (s) => (s.task.container!.image = "img:v2"));
      await h.converge();
      for (const name of ["a", "b", "c"]) assert.deepEqual(h.wantedImages(name), ["1:img:v2", "2:img:v2"], name);
    } finally {
      await h.stop();
    }
  });
});
