import { strict as assert } from "node:assert";
import { FakeClock, silentLogger } from "@shoal/common";
import { MemoryStore, PublishMode, TaskState, type Service, type Task } from "@shoal/store";
import { Allocator, AllocatorError, checkPortConflicts } from "../../src/allocator/index.js";
import { NOW, service, taskOf } from "../orchestrator/fixtures.js";

describe("Allocator (edge, on a MemoryStore)", () => {
  let clock: FakeClock;
  let store: MemoryStore;
  let allocator: Allocator;

  const newAllocator = (): Allocator => new Allocator({}, { store, logger: silentLogger(), clock });

  beforeEach(async () => {
    clock = new FakeClock(NOW);
    store = new MemoryStore({}, { clock });
    allocator = newAllocator();
    allocator.start();
    await allocator.whenIdle();
  });

  afterEach(async () => {
    await allocator.stop();
    store.close();
  });

  const svcWithPorts = (id: string, ports: { targetPort: number; publishedPort?: number; publishMode?: PublishMode }[]): Service =>
    service(id, { replicated: { replicas: 1 } }, { spec: { endpoint: { ports } } });

  async function create(svc: Service, ...tasks: Task[]): Promise<void> {
    await store.update((tx) => {
      tx.create("service", svc);
      for (const t of tasks) tx.create("task", t);
    });
    await allocator.whenIdle();
  }

  /** A NEW task as the orchestrator makes it: carrying the endpoint spec of its service. */
  const newTaskOf = (svc: Service, id: string): Task => ({ ...taskOf(svc, { id, slot: 1, state: TaskState.NEW }), endpoint: { spec: svc.spec.endpoint! } });
  const get = (id: string): Service => store.view((tx) => tx.get("service", id)!);
  const task = (id: string): Task => store.view((tx) => tx.get("task", id)!);

  it("allocates a dynamic ingress port and moves the service's NEW task to PENDING carrying it", async () => {
    const svc = svcWithPorts("web", [{ targetPort: 80 }]);
    await create(svc, newTaskOf(svc, "t1"));
    assert.equal(get("web").endpoint?.ports?.[0]?.publishedPort, 30000);
    const t = task("t1");
    assert.equal(t.status.state, TaskState.PENDING);
    assert.equal(t.status.message, "pending task scheduling");
    assert.equal(t.endpoint?.ports?.[0]?.publishedPort, 30000);
  });

  it("moves tasks of services without published ports straight to PENDING", async () => {
    const svc = service("plain", { replicated: { replicas: 1 } });
    await create(svc, taskOf(svc, { id: "t2", slot: 1, state: TaskState.NEW }));
    assert.equal(task("t2").status.state, TaskState.PENDING);
    assert.equal(get("plain").endpoint, undefined);
  });

  it("checkPortConflicts refuses a published port another service holds (ALLOCATOR_PORT_CONFLICT)", async () => {
    await create(svcWithPorts("web", [{ targetPort: 80, publishedPort: 8080 }]));
    const spec = svcWithPorts("other", [{ targetPort: 81, publishedPort: 8080 }]).spec;
    assert.throws(
      () => checkPortConflicts(store, spec),
      (err: unknown) => err instanceof AllocatorError && err.code === "ALLOCATOR_PORT_CONFLICT" && /already in use by service 'svc-web'/.test(err.message),
    );
    assert.doesNotThrow(() => checkPortConflicts(store, get("web").spec, "web"), "a service's update does not clash with itself");
    const dynamic = svcWithPorts("dyn", [{ targetPort: 80 }]);
    await create(dynamic);
    assert.throws(() => checkPortConflicts(store, svcWithPorts("x", [{ targetPort: 1, publishedPort: 30000 }]).spec), AllocatorError);
  });

  it("frees a removed service's port for the service that lost the race for it", async () => {
    await create(svcWithPorts("first", [{ targetPort: 80, publishedPort: 8080 }]));
    const second = svcWithPorts("second", [{ targetPort: 80, publishedPort: 8080 }]);
    second.meta.createdAt = NOW + 1;
    await create(second);
    assert.deepEqual(get("second").endpoint?.ports, [], "the port is left out: the mark of the conflict");
    await store.update((tx) => tx.delete("service", "first"));
    await allocator.whenIdle();
    assert.equal(get("second").endpoint?.ports?.[0]?.publishedPort, 8080);
  });

  it("re-allocates when the published ports change, keeping the ports still asked for", async () => {
    await create(svcWithPorts("web", [{ targetPort: 80 }]));
    await store.update((tx) => {
      const cur = tx.get("service", "web")!;
      tx.update("service", { ...cur, spec: { ...cur.spec, endpoint: { ports: [{ targetPort: 80 }, { targetPort: 22, publishedPort: 2222, publishMode: PublishMode.HOST }] } } });
    });
    await allocator.whenIdle();
    assert.deepEqual(get("web").endpoint?.ports?.map((p) => p.publishedPort), [30000, 2222]);
  });

  it("a new leader's Allocator keeps the allocations in the store and rewrites nothing", async () => {
    const svc = svcWithPorts("web", [{ targetPort: 80 }]);
    await create(svc, newTaskOf(svc, "t3"));
    const before = store.appliedIndex;
    await allocator.stop();
    allocator = newAllocator();
    allocator.start();
    await allocator.whenIdle();
    assert.equal(store.appliedIndex, before);
    assert.equal(get("web").endpoint?.ports?.[0]?.publishedPort, 30000);
    const svc2 = svcWithPorts("api", [{ targetPort: 80 }]);
    await create(svc2);
    assert.equal(get("api").endpoint?.ports?.[0]?.publishedPort, 30001, "the new leader knows 30000 is taken");
  });
});
