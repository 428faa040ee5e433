// Stored objects share the frozen values they repeat: a task its service's template, a new version
// the fields it left unchanged. The data must stay exactly what was written, on the leader, on a
// follower applying the encoded log and after a snapshot restore.
import assert from "node:assert/strict";
import {
  MemoryStore,
  TaskState,
  copyObject,
  decodeSnapshot,
  decodeStoreActions,
  encodeSnapshot,
  type Service,
  type Task,
} from "../src/index.js";
import { RecordingProposer, newStore, service } from "./fixtures.js";

/** A task made the way the orchestrator makes one: a copy of the service's template. */
function taskOf(svc: Service, id: string, slot: number): Omit<Task, "meta"> {
  return {
    id,
    serviceId: svc.id,
    slot,
    nodeId: "",
    spec: copyObject(svc.spec.task),
    serviceAnnotations: copyObject(svc.spec.annotations),
    status: { timestamp: 0, state: TaskState.NEW },
    desiredState: TaskState.RUNNING,
  };
}

async function writeTasks(store: MemoryStore): Promise<void> {
  await store.update((tx) => tx.create("service", service("s1", "web", { tier: "front" })));
  const svc = store.view((tx) => tx.get("service", "s1")!);
  await store.update((tx) => {
    tx.create("task", taskOf(svc, "t1", 1));
    tx.create("task", taskOf(svc, "t2", 2));
    // Not the template: keeps its own spec.
    tx.create("task", { ...taskOf(svc, "t3", 3), spec: { container: { image: "other" } } });
    // The same data with its keys in another order is not shared (it would encode differently).
    const { networks, container } = copyObject(svc.spec.task);
    tx.create("task", { ...taskOf(svc, "t4", 4), spec: { networks, container } });
  });
  const t1 = store.view((tx) => tx.get("task", "t1")!);
  await store.update((tx) => tx.update("task", { ...t1, status: { timestamp: 5, state: TaskState.PENDING, message: "pending" } }));
}

function checkShared(store: MemoryStore, what: string): void {
  store.view((tx) => {
    const svc = tx.get("service", "s1")!;
    const [t1, t2, t3, t4] = ["t1", "t2", "t3", "t4"].map((id) => tx.get("task", id)!);
    assert.equal(t1!.spec, svc.spec.task, `${what}: t1 shares its service's template`);
    assert.equal(t2!.spec, svc.spec.task, `${what}: t2 shares its service's template`);
    assert.equal(t1!.serviceAnnotations, svc.spec.annotations, `${what}: and its annotations`);
    assert.notEqual(t3!.spec, svc.spec.task);
    assert.equal(t3!.spec.container?.image, "other");
    assert.notEqual(t4!.spec, svc.spec.task);
    assert.deepEqual(Object.keys(t4!.spec), ["networks", "container"]);
    assert.equal(t1!.status.state, TaskState.PENDING);
    assert.ok(Object.isFrozen(t1!.spec) && Object.isFrozen(t1!.spec.container));
  });
}

describe("store: sharing repeated values", () => {
  it("on the writing store, a task shares its service's template and an update keeps the fields it did not change", async () => {
    const { store } = newStore();
    await writeTasks(store);
    checkShared(store, "leader");
  });

  it("a follower applying the encoded log shares the same values and encodes to the same bytes", async () => {
    const proposer = new RecordingProposer();
    const { store: leader } = newStore(proposer);
    await writeTasks(leader);
    const follower = new MemoryStore();
    for (const e of proposer.log) follower.applyStoreActions(decodeStoreActions(e.data), e.index, { owned: true });
    checkShared(follower, "follower");
    assert.deepEqual(encodeSnapshot(follower.snapshot()), encodeSnapshot(leader.snapshot()));
  });

  it("a store restored from a snapshot shares them too", async () => {
    const { store: leader } = newStore();
    await writeTasks(leader);
    const restored = new MemoryStore();
    restored.restore(decodeSnapshot(encodeSnapshot(leader.snapshot())));
    checkShared(restored, "restored");
  });

  it("a create keeps the values nothing can change (the stored template) and copies any a caller still could", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("service", service("s1", "web")));
    const svc = store.view((tx) => tx.get("service", "s1")!);
    // Frozen on top only: its container can still change, so it is copied.
    const shallow = Object.freeze({ ...copyObject(svc.spec.task) });
    const bytes = Object.freeze({ annotations: Object.freeze({ name: "k" }), data: new Uint8Array([1, 2]) });
    await store.update((tx) => {
      const staged = tx.create("task", { ...taskOf(svc, "t1", 1), spec: svc.spec.task, serviceAnnotations: svc.spec.annotations });
      assert.equal(staged.spec, svc.spec.task, "the staged task keeps the stored template");
      assert.equal(staged.serviceAnnotations, svc.spec.annotations);
      const other = tx.create("task", { ...taskOf(svc, "t2", 2), spec: shallow });
      assert.notEqual(other.spec, shallow);
      assert.notEqual(other.spec.container, shallow.container);
      tx.create("secret", { id: "k1", spec: bytes });
    });
    shallow.container!.image = "changed";
    bytes.data[0] = 9;
    store.view((tx) => {
      assert.equal(tx.get("task", "t1")!.spec, svc.spec.task);
      assert.equal(tx.get("task", "t2")!.spec.container?.image, "busybox:latest");
      assert.deepEqual([...tx.get("secret", "k1")!.spec.data!], [1, 2]);
    });
    // A frozen object that is not plain data is still refused.
    await assert.rejects(
      store.update((tx) => tx.create("task", { ...taskOf(svc, "t3", 3), spec: Object.freeze(new Date()) as never })),
      /plain data/,
    );
  });

  it("a new service spec is not shared by the tasks made from the old one", async () => {
    const { store } = newStore();
    await writeTasks(store);
    const svc = copyObject(store.view((tx) => tx.get("service", "s1")!));
    svc.spec.task.container!.image = "busybox:2";
    await store.update((tx) => tx.update("service", svc));
    store.view((tx) => {
      const t1 = tx.get("task", "t1")!;
      assert.equal(t1.spec.container?.image, "busybox:latest");
      assert.notEqual(t1.spec, tx.get("service", "s1")!.spec.task);
    });
  });
});
