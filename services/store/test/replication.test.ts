import assert from "node:assert/strict";
import {
  LocalProposer,
  MemoryStore,
  StoreError,
  copyObject,
  decodeSnapshot,
  decodeStoreActions,
  encodeSnapshot,
  encodeSnapshotParts,
  encodeStoreActions,
  type Proposer,
  type StoreAction,
} from "../src/index.js";
import { RecordingProposer, cluster, config, ids, network, newStore, node, secret, service, take, task } from "./fixtures.js";

async function populate(store: MemoryStore): Promise<void> {
  const id = ids(7);
  const svc = id();
  await store.update((tx) => {
    tx.create("cluster", cluster(id()));
    tx.create("node", node(id(), "m1"));
    tx.create("network", network("net-1", "front"));
    tx.create("secret", secret(id(), "pw"));
    tx.create("config", config(id(), "conf"));
    tx.create("service", service(svc, "web"));
  });
  await store.batch(async (b) => {
    for (let i = 1; i <= 20; i++) await b.update((tx) => tx.create("task", task(id(), svc, i, "")));
  });
  const s = copyObject(store.view((tx) => tx.get("service", svc)!));
  s.spec.replicated = { replicas: 20 };
  await store.update((tx) => tx.update("service", s));
  const victim = store.view((tx) => tx.find("task", { slot: { serviceId: svc, slot: 3 } })[0]!);
  await store.update((tx) => tx.delete("task", victim.id));
}

describe("store: codec, snapshot and replication", () => {
  it("round-trips store actions through bytes, byte arrays included", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("secret", secret("x1", "pw")));
    const actions: StoreAction[] = [{ action: "create", kind: "secret", object: store.view((tx) => tx.get("secret", "x1")!) }];
    const back = decodeStoreActions(encodeStoreActions(actions));
    assert.deepEqual(back, actions);
    assert.ok((back[0]!.object as { spec: { data: unknown } }).spec.data instanceof Uint8Array);
  });

  it("encodes byte arrays wherever they are: in stored objects, and in a caller's unfrozen ones", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("secret", secret("x1", "pw"));
      tx.create("service", service("s1", "web"));
    });
    const stored: StoreAction[] = store.view((tx) => [
      { action: "update", kind: "service", object: tx.get("service", "s1")! },
      { action: "update", kind: "secret", object: tx.get("secret", "x1")! },
    ]);
    const loose: StoreAction[] = [{ action: "create", kind: "secret", object: copyObject(stored[1]!.object) }];
    for (const actions of [stored, [stored[0]!], loose]) {
      const back = decodeStoreActions(encodeStoreActions(actions));
      assert.deepEqual(back, actions);
    }
    const text = new TextDecoder().decode(encodeStoreActions(loose));
    assert.match(text, /"\$b64"/);
  });

  it("encodes a snapshot in slices to exactly the same bytes, pausing between slices", async () => {
    const { store } = newStore();
    await populate(store);
    let pauses = 0;
    const parts = await encodeSnapshotParts(
      store.snapshot(),
      async () => {
        pauses++;
      },
      4,
    );
    const sliced = new Uint8Array(Buffer.concat(parts));
    assert.deepEqual(sliced, encodeSnapshot(store.snapshot()));
    assert.ok(pauses >= 6, `${pauses} pauses for about 25 objects in slices of 4`);
    // Byte arrays (the secret's data) survive the sliced path too.
    const back = new MemoryStore();
    back.restore(decodeSnapshot(sliced));
    assert.ok(back.view((tx) => tx.find("secret", { all: true })[0]!.spec.data) instanceof Uint8Array);
  });

  it("refuses malformed bytes with STORE_INVALID", () => {
    const bad = [new TextEncoder().encode("{"), new TextEncoder().encode('{"v":9,"actions":[]}'), encodeStoreActions([{ action: "zap", kind: "task", object: { id: "x" } } as unknown as StoreAction])];
    for (const b of bad) assert.throws(() => decodeStoreActions(b), (err: unknown) => err instanceof StoreError && err.code === "STORE_INVALID");
    assert.throws(() => decodeSnapshot(new TextEncoder().encode('{"v":1}')), (err: unknown) => err instanceof StoreError && err.code === "STORE_INVALID");
  });

  it("restores a snapshot into an identical store", async () => {
    const { store } = newStore();
    await populate(store);
    const bytes = encodeSnapshot(store.snapshot());
    const copy = new MemoryStore();
    copy.restore(decodeSnapshot(bytes));
    assert.deepEqual(copy.snapshot(), store.snapshot());
    assert.deepEqual(encodeSnapshot(copy.snapshot()), bytes);
    assert.equal(copy.appliedIndex, store.appliedIndex);
    // Indexes are rebuilt, not just the objects.
    const svc = store.view((tx) => tx.lookup("service", "web").id);
    assert.equal(copy.view((tx) => tx.find("task", { serviceId: svc }).length), 19);
    // Writes continue above the restored index.
    await copy.update((tx) => tx.create("task", task("after", svc, 99)));
    assert.equal(copy.view((tx) => tx.get("task", "after")!.meta.version.index), store.appliedIndex + 1);
  });

  it("restore tells watchers what changed", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("task", task("keep", "s", 1));
      tx.create("task", task("gone", "s", 2));
    });
    const target = newStore().store;
    await target.update((tx) => {
      tx.create("task", task("keep", "s", 1));
      tx.create("task", task("gone", "s", 2));
    });
    const t = copyObject(target.view((tx) => tx.get("task", "keep")!));
    t.nodeId = "n1";
    await target.update((tx) => {
      tx.update("task", t);
      tx.delete("task", "gone");
      tx.create("task", task("new", "s", 3));
    });
    const w = store.watch();
    store.restore(target.snapshot());
    const evs = await take(w, 3);
    assert.deepEqual(evs.map((e) => [e.action, e.object.id]).sort(), [["create", "new"], ["delete", "gone"], ["update", "keep"]]);
    w.close();
  });

  it("applyStoreActions on a second store, from the encoded log, yields an identical store", async () => {
    const proposer = new RecordingProposer();
    const { store: leader } = newStore(proposer);
    await populate(leader);
    const follower = new MemoryStore();
    const seen = follower.watch();
    for (const entry of proposer.log) {
      const r = follower.applyStoreActions(decodeStoreActions(entry.data), entry.index);
      assert.equal(r.applied, true);
    }
    assert.deepEqual(encodeSnapshot(follower.snapshot()), encodeSnapshot(leader.snapshot()));
    assert.equal(follower.appliedIndex, leader.appliedIndex);
    assert.ok(seen.backlog > 20);
    seen.close();
  });

  it("skips an entry already applied", async () => {
    const proposer = new RecordingProposer();
    const { store: leader } = newStore(proposer);
    await leader.update((tx) => tx.create("task", task("t1", "s", 1)));
    const follower = new MemoryStore();
    const entry = proposer.log[0]!;
    assert.equal(follower.applyStoreActions(decodeStoreActions(entry.data), entry.index).applied, true);
    assert.equal(follower.applyStoreActions(decodeStoreActions(entry.data), entry.index).applied, false);
    assert.equal(follower.view((tx) => tx.find("task").length), 1);
  });

  it("refuses a stale replicated update on every replica alike, changing nothing", async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    const create = { action: "create", kind: "task", object: { ...task("t1", "s", 1), meta: { version: { index: 0 }, createdAt: 5, updatedAt: 5 } } } as StoreAction;
    const stale = { action: "update", kind: "task", object: { ...task("t1", "s", 1), nodeId: "n1", meta: { version: { index: 0 }, createdAt: 5, updatedAt: 6 } } } as StoreAction;
    const fine = { action: "create", kind: "task", object: { ...task("t2", "s", 2), meta: { version: { index: 0 }, createdAt: 5, updatedAt: 5 } } } as StoreAction;
    for (const s of [a, b]) {
      assert.equal(s.applyStoreActions([create], 3).applied, true);
      const r = s.applyStoreActions([fine, stale], 4);
      assert.equal(r.applied, false);
      assert.equal(r.error?.code, "STORE_VERSION_CONFLICT");
      assert.equal(s.appliedIndex, 4);
      assert.equal(s.view((tx) => tx.get("task", "t2")), undefined, "all or nothing");
    }
    assert.deepEqual(a.snapshot(), b.snapshot());
  });

  it("a leader whose entry the replication layer applied first does not apply it twice", async () => {
    // The manager may apply every committed entry through applyStoreActions, its own included,
    // before resolving the proposal.
    let next = 10;
    const applyingProposer: Proposer = {
      proposeValue: (actions) => {
        const index = next++;
        store.applyStoreActions(decodeStoreActions(encodeStoreActions(actions)), index);
        return Promise.resolve({ index });
      },
    };
    const store: MemoryStore = new MemoryStore({}, { proposer: applyingProposer });
    const w = store.watch();
    await store.update((tx) => tx.create("task", task("t1", "s", 1)));
    assert.equal(store.view((tx) => tx.get("task", "t1")!.meta.version.index), 10);
    assert.equal((await take(w, 1)).length, 1);
    assert.equal(w.backlog, 0);
    w.close();
  });

  it("a leader learns that its entry was refused when the replication layer applied it", async () => {
    let store!: MemoryStore;
    let next = 10;
    const racing: Proposer = {
      proposeValue: (actions) => {
        // Another leader's entry, unseen by the writer, lands first and bumps the object.
        const cur = store.view((tx) => tx.get("task", "t1")!);
        store.applyStoreActions([{ action: "update", kind: "task", object: { ...copyObject(cur), nodeId: "other" } }], next++);
        const index = next++;
        store.applyStoreActions(actions, index);
        return Promise.resolve({ index });
      },
    };
    store = new MemoryStore({}, { proposer: new LocalProposer(1) });
    await store.update((tx) => tx.create("task", task("t1", "s", 1)));
    const snapshot = store.snapshot();
    store = new MemoryStore({}, { proposer: racing });
    store.restore(snapshot);
    const t = copyObject(store.view((tx) => tx.get("task", "t1")!));
    t.nodeId = "mine";
    await assert.rejects(store.update((tx) => tx.update("task", t)), (err: unknown) => err instanceof StoreError && err.code === "STORE_VERSION_CONFLICT");
    assert.equal(store.view((tx) => tx.get("task", "t1")!.nodeId), "other");
  });
});
