import assert from "node:assert/strict";
import { NodeAvailability, NodeState, PublishMode, ResolutionMode, RestartCondition, TaskState } from "@shoal/store";
import { SECOND_NS, service } from "../fixtures.js";
import { Harness } from "./harness.js";

const states = (h: Harness, id: string): string[] => h.tasks(id).map((t) => `${t.slot}:${TaskState[t.status.state]}/${TaskState[t.desiredState]}`);

describe("orchestrator edge: replicated services on a store", () => {
  let h: Harness;
  beforeEach(async () => {
    h = new Harness();
    await h.start();
    for (const n of ["n1", "n2", "n3"]) await h.addNode(n);
  });
  afterEach(() => h.stop());

  it("creates a task per slot, and scaling down removes the highest slots", async () => {
    await h.createService(service("web", { replicated: { replicas: 3 } }));
    assert.deepEqual(h.tasks("web").map((t) => t.slot), [1, 2, 3]);
    await h.runAll("web", ["n1", "n2", "n3"]);
    await h.updateService("web", (s) => (s.spec.replicated = { replicas: 1 }));
    assert.deepEqual(states(h, "web"), ["1:RUNNING/RUNNING", "2:RUNNING/REMOVE", "3:RUNNING/REMOVE"]);
    await h.updateService("web", (s) => (s.spec.replicated = { replicas: 2 }));
    assert.deepEqual(h.wanted("web").map((t) => t.slot), [1, 2]);
  });

  // The harness runs no allocator: a PENDING task here was born so.
  it("creates tasks already allocated (PENDING, in the creating write) when the service's endpoint needs nothing", async () => {
    await h.createService(service("web", { replicated: { replicas: 2 } }));
    for (const t of h.tasks("web")) {
      assert.equal(t.status.state, TaskState.PENDING);
      assert.equal(t.status.message, "pending task scheduling");
      assert.equal(t.status.timestamp, h.clock.now());
    }
  });

  it("writes the endpoint of a service that claims no ingress port (mode vip, as the CLIs send) with its first tasks, born PENDING", async () => {
    const endpointSpec = { mode: ResolutionMode.VIP, ports: [{ targetPort: 80, publishedPort: 8080, publishMode: PublishMode.HOST }] };
    await h.createService(service("vip", { replicated: { replicas: 2 } }, { spec: { endpoint: endpointSpec } }));
    assert.deepEqual(states(h, "vip"), ["1:PENDING/RUNNING", "2:PENDING/RUNNING"]);
    const svc = h.store.view((tx) => tx.get("service", "vip"))!;
    // What the allocator's loop would have written: the spec, and the host port as asked.
    assert.deepEqual(svc.endpoint?.spec, endpointSpec);
    assert.equal(svc.endpoint?.ports?.[0]?.publishedPort, 8080);
    for (const t of h.tasks("vip")) assert.deepEqual(t.endpoint, svc.endpoint);
  });

  it("creates a task NEW while its service's published ports are not allocated yet (the allocator's loop moves it)", async () => {
    await h.createService(service("pub", { replicated: { replicas: 1 } }, { spec: { endpoint: { ports: [{ targetPort: 80 }] } } }));
    assert.deepEqual(states(h, "pub"), ["1:NEW/RUNNING"]);
    // Once the service's endpoint is allocated, a task created from then on is born PENDING with it.
    await h.updateService("pub", (s) => (s.endpoint = { spec: s.spec.endpoint!, ports: [{ targetPort: 80, publishedPort: 30000 }] }));
    await h.updateService("pub", (s) => (s.spec.replicated = { replicas: 2 }));
    const second = h.tasks("pub").find((t) => t.slot === 2)!;
    assert.equal(second.status.state, TaskState.PENDING);
    assert.equal(second.endpoint?.ports?.[0]?.publishedPort, 30000);
  });

  it("restarts a failed task in its slot after the restart delay (held READY until then)", async () => {
    await h.createService(service("web", { replicated: { replicas: 1 } }));
    await h.runAll("web", ["n1"]);
    const [first] = h.tasks("web");
    await h.setState(first!.id, TaskState.FAILED);
    assert.deepEqual(states(h, "web"), ["1:FAILED/SHUTDOWN", "1:PENDING/READY"]);
    await h.advance(4_999);
    assert.deepEqual(states(h, "web"), ["1:FAILED/SHUTDOWN", "1:PENDING/READY"]);
    await h.advance(1);
    assert.deepEqual(states(h, "web"), ["1:FAILED/SHUTDOWN", "1:PENDING/RUNNING"]);
  });

  it("stops restarting a slot after maxAttempts restarts within the window", async () => {
    await h.createService(service("web", { replicated: { replicas: 1 } }, { spec: { task: { restart: { delayNs: SECOND_NS, maxAttempts: 2, windowNs: 60 * SECOND_NS } } } }));
    for (let i = 0; i < 3; i++) {
      await h.advance(1_000);
      await h.runAll("web", ["n1"]);
      const live = h.wanted("web").find((t) => t.status.state === TaskState.RUNNING)!;
      await h.setState(live.id, TaskState.FAILED);
    }
    await h.advance(1_000);
    assert.equal(h.tasks("web").length, 3, "the first task and two restarts");
    assert.deepEqual(h.wanted("web"), []);
  });

  it("restart condition on-failure replaces a failed task but not a completed one; none replaces neither", async () => {
    await h.createService(service("onfail", { replicated: { replicas: 2 } }, { spec: { task: { restart: { condition: RestartCondition.ON_FAILURE, delayNs: SECOND_NS } } } }));
    await h.createService(service("never", { replicated: { replicas: 1 } }, { spec: { task: { restart: { condition: RestartCondition.NONE } } } }));
    await h.runAll("onfail", ["n1", "n2"]);
    await h.runAll("never", ["n3"]);
    const [a, b] = h.tasks("onfail");
    await h.setState(a!.id, TaskState.COMPLETE);
    await h.setState(b!.id, TaskState.FAILED);
    await h.setState(h.tasks("never")[0]!.id, TaskState.FAILED);
    await h.advance(1_000);
    assert.deepEqual(states(h, "onfail"), ["1:COMPLETE/SHUTDOWN", "2:FAILED/SHUTDOWN", "2:PENDING/RUNNING"]);
    assert.deepEqual(states(h, "never"), ["1:FAILED/SHUTDOWN"]);
  });

  it("replaces the tasks of a drained node in their slots, and those of a node that went down at once", async () => {
    await h.createService(service("web", { replicated: { replicas: 3 } }));
    await h.runAll("web", ["n1", "n2", "n3"]);
    await h.updateNode("n1", (n) => (n.spec.availability = NodeAvailability.DRAIN));
    await h.updateNode("n2", (n) => (n.status.state = NodeState.DOWN));
    assert.deepEqual(states(h, "web"), ["1:RUNNING/SHUTDOWN", "1:PENDING/RUNNING", "2:RUNNING/SHUTDOWN", "2:PENDING/RUNNING", "3:RUNNING/RUNNING"]);
  });

  it("removing the service sets REMOVE on its tasks, and the reaper deletes them once they stopped", async () => {
    await h.createService(service("web", { replicated: { replicas: 2 } }));
    await h.runAll("web", ["n1", "n2"]);
    await h.deleteService("web");
    assert.deepEqual(states(h, "web"), ["1:RUNNING/REMOVE", "2:RUNNING/REMOVE"]);
    for (const t of h.tasks("web")) await h.setState(t.id, TaskState.SHUTDOWN);
    assert.deepEqual(h.tasks("web"), []);
  });

  it("the reaper deletes a removed service's task once its node goes down (it will not report again), not on other node changes", async () => {
    await h.createService(service("web", { replicated: { replicas: 1 } }));
    await h.runAll("web", ["n1"]);
    await h.deleteService("web");
    assert.deepEqual(states(h, "web"), ["1:RUNNING/REMOVE"]);
    await h.updateNode("n1", (n) => (n.status.addr = "10.0.0.9"));
    assert.deepEqual(states(h, "web"), ["1:RUNNING/REMOVE"], "a node that re-registered still runs it");
    await h.updateNode("n1", (n) => (n.status.state = NodeState.DOWN));
    assert.deepEqual(h.tasks("web"), []);
  });

  it("a service marked pendingDelete has its tasks removed and reaped, and is then deleted itself", async () => {
    await h.createService(service("web", { replicated: { replicas: 2 } }));
    await h.runAll("web", ["n1", "n2"]);
    await h.updateService("web", (s) => (s.pendingDelete = true));
    assert.deepEqual(states(h, "web"), ["1:RUNNING/REMOVE", "2:RUNNING/REMOVE"]);
    for (const t of h.tasks("web")) await h.setState(t.id, TaskState.SHUTDOWN);
    assert.deepEqual(h.tasks("web"), []);
    assert.equal(h.store.view((tx) => tx.get("service", "web")), undefined);
  });

  it("the reaper keeps 5 old tasks per slot besides the current one", async () => {
    await h.createService(service("web", { replicated: { replicas: 1 } }, { spec: { task: { restart: { delayNs: SECOND_NS } } } }));
    for (let i = 0; i < 8; i++) {
      await h.runAll("web", ["n1"]);
      const live = h.wanted("web")[0]!;
      await h.setState(live.id, TaskState.FAILED);
      await h.advance(1_000);
    }
    const tasks = h.tasks("web");
    assert.equal(tasks.length, 6);
    assert.equal(tasks.filter((t) => t.desiredState === TaskState.RUNNING).length, 1);
  });

  it("a new leader's reaper, a service per pass (budget 1), tells the live tasks of services deleted under the old leader to REMOVE and reaps the stopped ones", async () => {
    const small = new Harness({ passTaskBudget: 1 });
    try {
      await small.start();
      for (const n of ["n1", "n2"]) await small.addNode(n);
      for (const id of ["a", "b", "c"]) {
        await small.createService(service(id, { replicated: { replicas: 2 } }));
        await small.runAll(id, ["n1", "n2"]);
      }
      // No leader runs orchestration while a and b are deleted, and one task of a stops.
      await small.orchestration.stop();
      await small.store.update((tx) => {
        for (const id of ["a", "b"]) tx.delete("service", id);
      });
      await small.setState(small.tasks("a")[0]!.id, TaskState.SHUTDOWN);
      await small.changeLeader();
      const st = (id: string): string[] => small.tasks(id).map((t) => `${t.slot}:${TaskState[t.status.state]}/${TaskState[t.desiredState]}`);
      assert.deepEqual(st("a"), ["2:RUNNING/REMOVE"], "the stopped task of a is reaped, the live one told to go");
      assert.deepEqual(st("b"), ["1:RUNNING/REMOVE", "2:RUNNING/REMOVE"]);
      assert.deepEqual(st("c"), ["1:RUNNING/RUNNING", "2:RUNNING/RUNNING"]);
      for (const t of [...small.tasks("a"), ...small.tasks("b")]) await small.setState(t.id, TaskState.SHUTDOWN);
      assert.deepEqual([...small.tasks("a"), ...small.tasks("b")], []);
    } finally {
      await small.stop();
    }
  });

  it("a pass creates new tasks up to its create budget; the rest of the service's slots follow in the next passes", async () => {
    const small = new Harness({ passCreateBudget: 3 });
    try {
      await small.start();
      await small.addNode("n1");
      await small.store.update((tx) => {
        for (const id of ["a", "b"]) tx.create("service", service(id, { replicated: { replicas: 4 } }));
      });
      await small.settle();
      const tasks = [...small.tasks("a"), ...small.tasks("b")];
      assert.deepEqual(["a", "b"].map((id) => small.tasks(id).map((t) => t.slot).sort()), [[1, 2, 3, 4], [1, 2, 3, 4]], "each slot once");
      // 8 new tasks, at most 3 a pass: 3 commits of 3, 3 and 2.
      const perCommit = new Map<number, number>();
      for (const t of tasks) perCommit.set(t.meta.version.index, (perCommit.get(t.meta.version.index) ?? 0) + 1);
      assert.deepEqual([...perCommit.values()], [3, 3, 2]);
    } finally {
      await small.stop();
    }
  });

  it("a pass decides services up to its task budget and leaves the rest to the next pass, which follows at once", async () => {
    const small = new Harness({ passTaskBudget: 5 });
    try {
      await small.start();
      await small.addNode("n1");
      await small.store.update((tx) => {
        for (const id of ["a", "b", "c"]) tx.create("service", service(id, { replicated: { replicas: 4 } }));
      });
      await small.settle();
      const indexes = (id: string): number[] => [...new Set(small.tasks(id).map((t) => t.meta.version.index))];
      assert.deepEqual(["a", "b", "c"].map((id) => small.tasks(id).length), [4, 4, 4]);
      // a (4 new tasks) and b (over the budget after it) share one commit; c waited for the next pass.
      assert.deepEqual(indexes("a"), indexes("b"));
      assert.equal(indexes("c").length, 1);
      assert.ok(indexes("c")[0]! > indexes("a")[0]!, "c was decided by a later pass");
    } finally {
      await small.stop();
    }
  });
});
