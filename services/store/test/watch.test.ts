import assert from "node:assert/strict";
import { StoreError, copyObject, type Cluster, type StoreEvent } from "../src/index.js";
import { cluster, newStore, service, take, task } from "./fixtures.js";

describe("store: watch", () => {
  it("delivers create, update and delete events after commit, in commit order", async () => {
    const { store } = newStore();
    const w = store.watch();
    await store.update((tx) => tx.create("service", service("s1", "web")));
    const s = copyObject(store.view((tx) => tx.get("service", "s1")!));
    s.spec.replicated = { replicas: 3 };
    await store.update((tx) => tx.update("service", s));
    await store.update((tx) => tx.delete("service", "s1"));
    const evs = await take(w, 3);
    assert.deepEqual(
      evs.map((e) => [e.kind, e.action, e.index, e.object.meta.version.index]),
      [
        ["service", "create", 1, 1],
        ["service", "update", 2, 2],
        ["service", "delete", 3, 2],
      ],
    );
    assert.equal((evs[1]!.oldObject as typeof s).spec.replicated?.replicas, 2);
    assert.equal((evs[1]!.object as typeof s).spec.replicated?.replicas, 3);
    w.close();
  });

  it("hands every watcher the same frozen event, and each its own copy of an object that holds bytes", async () => {
    const { store } = newStore();
    const a = store.watch();
    const b = store.watch();
    await store.update((tx) => tx.create("service", service("s1", "web")));
    await store.update((tx) => tx.create("cluster", cluster("c1")));
    const [a1, a2] = await take(a, 2);
    const [b1, b2] = await take(b, 2);
    assert.equal(a1, b1);
    assert.ok(Object.isFrozen(a1));
    assert.throws(() => Object.assign(a1!, { index: 7 }), TypeError);
    // The cluster holds bytes: a watcher that changes its copy changes nobody else's.
    assert.notEqual(a2, b2);
    const caCert = (c: unknown): Uint8Array => (c as Cluster).rootCa!.caCert;
    caCert(a2!.object)[0] = 9;
    assert.equal(caCert(b2!.object)[0], 1);
    assert.equal(caCert(store.view((tx) => tx.get("cluster", "c1")))[0], 1);
    a.close();
    b.close();
  });

  it("delivers nothing for a transaction that failed", async () => {
    const { store } = newStore();
    const w = store.watch();
    await assert.rejects(
      store.update((tx) => {
        tx.create("task", task("t1", "s", 1));
        throw new Error("no");
      }),
    );
    await store.update((tx) => tx.create("task", task("t2", "s", 1)));
    const [ev] = await take(w, 1);
    assert.equal(ev!.object.id, "t2");
    w.close();
  });

  it("filters by kind and by predicate", async () => {
    const { store } = newStore();
    const tasksOfS2 = store.watch({ kinds: ["task"], filter: (e) => (e.object as { serviceId?: string }).serviceId === "s2" });
    const services = store.watch({ kinds: ["service"] });
    await store.update((tx) => {
      tx.create("service", service("s1", "web"));
      tx.create("task", task("t1", "s1", 1));
      tx.create("task", task("t2", "s2", 1));
    });
    await store.update((tx) => tx.create("task", task("t3", "s2", 2)));
    assert.deepEqual((await take(tasksOfS2, 2)).map((e) => e.object.id), ["t2", "t3"]);
    assert.deepEqual((await take(services, 1)).map((e) => e.object.id), ["s1"]);
    assert.equal(tasksOfS2.backlog, 0);
    assert.equal(services.backlog, 0);
    tasksOfS2.close();
    services.close();
  });

  it("ends the iteration when its signal aborts", async () => {
    const { store } = newStore();
    const ac = new AbortController();
    const seen: StoreEvent[] = [];
    const loop = (async () => {
      for await (const ev of store.watch({ signal: ac.signal })) seen.push(ev);
    })();
    await store.update((tx) => tx.create("task", task("t1", "s", 1)));
    await new Promise((r) => setImmediate(r));
    ac.abort();
    await loop;
    assert.deepEqual(seen.map((e) => e.object.id), ["t1"]);
  });

  it("closes a watcher that falls behind with STORE_WATCH_OVERFLOW, without blocking writers", async () => {
    const { store } = newStore(undefined, undefined, { watchQueueLimit: 5 });
    const slow = store.watch();
    const fast = store.watch({ queueLimit: 100 });
    for (let i = 0; i < 10; i++) await store.update((tx) => tx.create("task", task(`t${i}`, "s", i + 1)));
    assert.equal(slow.closed, true);
    await assert.rejects(slow.next(), (err: unknown) => err instanceof StoreError && err.code === "STORE_WATCH_OVERFLOW");
    assert.deepEqual(await slow.next(), { value: undefined, done: true });
    assert.equal((await take(fast, 10)).length, 10);
    fast.close();
  });

  it("viewAndWatch gives a snapshot and then every later change, with no gap and no duplicate", async () => {
    // Proposals resolve on a later macrotask, so writes are genuinely in flight around the view.
    let index = 0;
    const { store } = newStore({ proposeValue: () => new Promise((r) => setImmediate(() => r({ index: ++index }))) });
    let n = 0;
    const writer = async (): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        const id = `t${n++}`;
        await store.update((tx) => tx.create("task", task(id, "s", n)));
      }
    };
    const writing = Promise.all([writer(), writer()]);
    // Start watching while writes are in flight.
    while (store.appliedIndex < 100) await new Promise((r) => setImmediate(r));
    const { result: initial, watch, index: viewIndex } = store.viewAndWatch({ kinds: ["task"] }, (tx) => tx.find("task").map((t) => t.id));
    await writing;
    const later = await take(watch, 400 - initial.length);
    assert.ok(later.every((e) => e.index > viewIndex));
    const all = [...initial, ...later.map((e) => e.object.id)];
    assert.equal(new Set(all).size, all.length, "no duplicates");
    assert.equal(all.length, 400, "no gap");
    assert.ok(initial.length > 0 && initial.length < 400, `watch started mid-stream (${initial.length})`);
    assert.equal(watch.backlog, 0);
    watch.close();
  });

  it("close() ends every watch", async () => {
    const { store } = newStore();
    const w = store.watch();
    const pending = w.next();
    store.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.throws(() => store.watch(), (err: unknown) => err instanceof StoreError && err.code === "STORE_CLOSED");
  });
});
