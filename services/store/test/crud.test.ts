import assert from "node:assert/strict";
import { NodeRole, StoreError, TaskState, copyObject, type Task } from "../src/index.js";
import { cluster, config, network, newStore, node, secret, service, task } from "./fixtures.js";

function code(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

describe("store: objects and indexes", () => {
  it("creates objects with meta filled from the clock and the committed index", async () => {
    const { store, clock } = newStore();
    await store.update((tx) => tx.create("service", service("svc1", "web")));
    clock.advance(1000);
    await store.update((tx) => tx.create("network", network("net1", "front")));
    const [svc, net] = store.view((tx) => [tx.get("service", "svc1")!, tx.get("network", "net1")!] as const);
    assert.deepEqual(svc.meta, { version: { index: 1 }, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 });
    assert.deepEqual(net.meta, { version: { index: 2 }, createdAt: 1_700_000_001_000, updatedAt: 1_700_000_001_000 });
    assert.equal(store.appliedIndex, 2);
  });

  it("updates keep createdAt, move updatedAt and take the new index as version", async () => {
    const { store, clock } = newStore();
    await store.update((tx) => tx.create("service", service("svc1", "web")));
    clock.advance(5000);
    const cur = store.view((tx) => tx.get("service", "svc1")!);
    const next = copyObject(cur);
    next.spec.replicated = { replicas: 7 };
    await store.update((tx) => tx.update("service", next));
    const after = store.view((tx) => tx.get("service", "svc1")!);
    assert.equal(after.spec.replicated?.replicas, 7);
    assert.equal(after.meta.version.index, 2);
    assert.equal(after.meta.createdAt, cur.meta.createdAt);
    assert.equal(after.meta.updatedAt, cur.meta.createdAt + 5000);
  });

  it("finds tasks by service, node, desired state and slot", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("task", task("t1", "s1", 1, "n1"));
      tx.create("task", task("t2", "s1", 2, "n2"));
      tx.create("task", task("t3", "s1", 1, "n2", TaskState.SHUTDOWN));
      tx.create("task", task("t4", "s2", 1, "n1"));
      tx.create("task", task("t5", "s2", 0, ""));
    });
    const idsOf = (ts: Task[]): string[] => ts.map((t) => t.id).sort();
    store.view((tx) => {
      assert.deepEqual(idsOf(tx.find("task", { serviceId: "s1" })), ["t1", "t2", "t3"]);
      assert.deepEqual(idsOf(tx.find("task", { nodeId: "n2" })), ["t2", "t3"]);
      assert.deepEqual(idsOf(tx.find("task", { nodeId: "" })), []);
      assert.deepEqual(idsOf(tx.find("task", { desiredState: TaskState.RUNNING })), ["t1", "t2", "t4", "t5"]);
      assert.deepEqual(idsOf(tx.find("task", { slot: { serviceId: "s1", slot: 1 } })), ["t1", "t3"]);
      assert.deepEqual(idsOf(tx.find("task", { slot: { serviceId: "s2", slot: 1 } })), ["t4"]);
      assert.deepEqual(idsOf(tx.find("task", { secretId: "sec-1" })), ["t1", "t2", "t3", "t4", "t5"]);
      assert.deepEqual(idsOf(tx.find("task", { or: [{ nodeId: "n1" }, { serviceId: "s1" }] })), ["t1", "t2", "t3", "t4"]);
      assert.deepEqual(idsOf(tx.find("task")), ["t1", "t2", "t3", "t4", "t5"]);
    });
  });

  it("moves a task between index entries when it is updated", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("task", task("t1", "s1", 1, "")));
    const t = copyObject(store.view((tx) => tx.get("task", "t1")!));
    t.nodeId = "n9";
    t.desiredState = TaskState.SHUTDOWN;
    await store.update((tx) => tx.update("task", t));
    store.view((tx) => {
      assert.deepEqual(tx.find("task", { nodeId: "n9" }).map((x) => x.id), ["t1"]);
      assert.deepEqual(tx.find("task", { desiredState: TaskState.RUNNING }), []);
      assert.deepEqual(tx.find("task", { desiredState: TaskState.SHUTDOWN }).map((x) => x.id), ["t1"]);
    });
  });

  it("finds by name case-insensitively, by name prefix, by labels and by referenced network", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("service", service("a1", "Web", { tier: "front", "com.docker.stack.namespace": "app" }));
      tx.create("service", service("b2", "db", { tier: "back" }));
      tx.create("service", service("c3", "web-admin", { tier: "front" }));
    });
    store.view((tx) => {
      assert.deepEqual(tx.find("service", { name: "web" }).map((s) => s.id), ["a1"]);
      assert.deepEqual(tx.find("service", { namePrefix: "WEB" }).map((s) => s.id).sort(), ["a1", "c3"]);
      assert.deepEqual(tx.find("service", { label: "tier", value: "front" }).map((s) => s.id).sort(), ["a1", "c3"]);
      assert.deepEqual(tx.find("service", { label: "com.docker.stack.namespace" }).map((s) => s.id), ["a1"]);
      assert.deepEqual(tx.find("service", { label: "tier", value: "nope" }), []);
      assert.equal(tx.find("service", { networkId: "net-1" }).length, 3);
    });
  });

  it("an update moves an object's index entries, with few labels and with many", async () => {
    const { store } = newStore();
    const many: Record<string, string> = {};
    for (let i = 0; i < 20; i++) many[`k${i}`] = "v";
    await store.update((tx) => {
      tx.create("service", service("few", "few", { tier: "front" }));
      tx.create("service", service("many", "many", { ...many, tier: "front" }));
    });
    for (const id of ["few", "many"]) {
      const next = copyObject(store.view((tx) => tx.get("service", id)!));
      next.spec.annotations.labels = { ...next.spec.annotations.labels, tier: "back", added: "yes" };
      await store.update((tx) => tx.update("service", next));
    }
    store.view((tx) => {
      assert.deepEqual(tx.find("service", { label: "tier", value: "front" }), []);
      assert.deepEqual(tx.find("service", { label: "tier", value: "back" }).map((s) => s.id).sort(), ["few", "many"]);
      assert.deepEqual(tx.find("service", { label: "added" }).map((s) => s.id).sort(), ["few", "many"]);
      assert.deepEqual(tx.find("service", { label: "k3", value: "v" }).map((s) => s.id), ["many"]);
    });
  });

  it("indexes nodes by hostname without requiring it to be unique, and by role", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("node", node("n1", "host"));
      tx.create("node", node("n2", "host", NodeRole.MANAGER));
    });
    store.view((tx) => {
      assert.deepEqual(tx.find("node", { name: "host" }).map((n) => n.id).sort(), ["n1", "n2"]);
      assert.deepEqual(tx.find("node", { role: NodeRole.MANAGER }).map((n) => n.id), ["n2"]);
    });
  });

  it("looks up by exact id, then name, then unique id prefix", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("service", service("abc111", "web"));
      tx.create("service", service("abc222", "api"));
      tx.create("service", service("xyz333", "abc"));
    });
    store.view((tx) => {
      assert.equal(tx.lookup("service", "abc111").id, "abc111");
      assert.equal(tx.lookup("service", "WEB").id, "abc111");
      assert.equal(tx.lookup("service", "abc2").id, "abc222");
      // A name wins over an id prefix.
      assert.equal(tx.lookup("service", "abc").id, "xyz333");
      assert.equal(tx.lookup("service", "x").id, "xyz333");
    });
  });

  it("refuses an ambiguous id prefix and lists the candidates; unknown refs are not found", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("secret", secret("abc111", "one"));
      tx.create("secret", secret("abc222", "two"));
    });
    store.view((tx) => {
      assert.throws(
        () => tx.lookup("secret", "abc"),
        (err: unknown) =>
          code(err) === "STORE_AMBIGUOUS" &&
          (err as StoreError).meta["candidates"] !== undefined &&
          JSON.stringify((err as StoreError).meta["candidates"]) === JSON.stringify(["abc111", "abc222"]) &&
          /ambiguous/.test((err as Error).message),
      );
      assert.throws(() => tx.lookup("secret", "zzz"), (err: unknown) => code(err) === "STORE_NOT_FOUND" && (err as Error).message === "no such secret: zzz");
      assert.throws(() => tx.lookup("secret", ""), (err: unknown) => code(err) === "STORE_NOT_FOUND");
      assert.deepEqual(tx.find("secret", { idPrefix: "abc" }).map((s) => s.id).sort(), ["abc111", "abc222"]);
    });
  });

  it("refuses a second object with the same name (any case) for services, networks, secrets and configs", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("service", service("s1", "web"));
      tx.create("network", network("n1", "front"));
      tx.create("secret", secret("x1", "pw"));
      tx.create("config", config("c1", "conf"));
    });
    const attempts: Array<Promise<unknown>> = [
      store.update((tx) => tx.create("service", service("s2", "WEB"))),
      store.update((tx) => tx.create("network", network("n2", "front"))),
      store.update((tx) => tx.create("secret", secret("x2", "pw"))),
      store.update((tx) => tx.create("config", config("c2", "conf"))),
    ];
    for (const p of attempts) await assert.rejects(p, (err: unknown) => code(err) === "STORE_NAME_CONFLICT");
    // Same name across kinds is fine, and renaming into a taken name is refused too.
    await store.update((tx) => tx.create("network", network("n3", "web")));
    const s1 = copyObject(store.view((tx) => tx.get("service", "s1")!));
    await store.update((tx) => tx.create("service", service("s3", "api")));
    const s3 = copyObject(store.view((tx) => tx.get("service", "s3")!));
    s3.spec.annotations.name = "web";
    await assert.rejects(store.update((tx) => tx.update("service", s3)), (err: unknown) => code(err) === "STORE_NAME_CONFLICT");
    // Keeping one's own name is not a conflict.
    s1.spec.replicated = { replicas: 3 };
    await store.update((tx) => tx.update("service", s1));
  });

  it("refuses a second object with the same id", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("task", task("t1", "s", 1)));
    await assert.rejects(store.update((tx) => tx.create("task", task("t1", "s", 2))), (err: unknown) => code(err) === "STORE_ID_CONFLICT");
  });

  it("refuses an update carrying a stale version with 'update out of sequence'", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("service", service("s1", "web")));
    const stale = copyObject(store.view((tx) => tx.get("service", "s1")!));
    const fresh = copyObject(stale);
    fresh.spec.replicated = { replicas: 5 };
    await store.update((tx) => tx.update("service", fresh));
    stale.spec.replicated = { replicas: 9 };
    await assert.rejects(
      store.update((tx) => tx.update("service", stale)),
      (err: unknown) => code(err) === "STORE_VERSION_CONFLICT" && (err as Error).message === "update out of sequence",
    );
    assert.equal(store.view((tx) => tx.get("service", "s1")!.spec.replicated?.replicas), 5);
  });

  it("refuses updates and deletes of missing objects", async () => {
    const { store } = newStore();
    const ghost = { ...service("s1", "web"), meta: { version: { index: 0 }, createdAt: 0, updatedAt: 0 } };
    await assert.rejects(store.update((tx) => tx.update("service", ghost)), (err: unknown) => code(err) === "STORE_NOT_FOUND");
    await assert.rejects(store.update((tx) => tx.delete("service", "s1")), (err: unknown) => code(err) === "STORE_NOT_FOUND");
  });

  it("deletes, after which the id and the name can be used again", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("secret", secret("x1", "pw")));
    await store.update((tx) => tx.delete("secret", "x1"));
    store.view((tx) => {
      assert.equal(tx.get("secret", "x1"), undefined);
      assert.deepEqual(tx.find("secret", { name: "pw" }), []);
    });
    await store.update((tx) => tx.create("secret", secret("x1", "pw", "other")));
    const again = store.view((tx) => tx.get("secret", "x1")!);
    assert.equal(new TextDecoder().decode(again.spec.data), "other");
    assert.equal(again.meta.version.index, 3);
  });

  it("refuses unnamed objects of unique-name kinds and unknown kinds", async () => {
    const { store } = newStore();
    await assert.rejects(store.update((tx) => tx.create("network", network("n1", ""))), (err: unknown) => code(err) === "STORE_INVALID");
    await assert.rejects(store.update((tx) => tx.create("network", network("", "x"))), (err: unknown) => code(err) === "STORE_INVALID");
    assert.throws(() => store.view((tx) => tx.find("widget" as "task")), (err: unknown) => code(err) === "STORE_INVALID");
  });

  it("never lets callers change stored state through objects they read or passed in", async () => {
    const { store } = newStore();
    const input = service("s1", "web");
    await store.update((tx) => {
      tx.create("service", input);
      tx.create("secret", secret("x1", "pw"));
      tx.create("cluster", cluster("c1"));
    });
    input.spec.task.container!.env!.push("B=2");
    const svc = store.view((tx) => tx.get("service", "s1")!);
    assert.deepEqual(svc.spec.task.container?.env, ["A=1"]);
    assert.throws(() => {
      (svc.spec.task.container!.env as string[]).push("C=3");
    }, TypeError);
    assert.throws(() => {
      svc.spec.annotations.name = "hacked";
    }, TypeError);
    // Byte arrays cannot be frozen: each read gets its own copy.
    const sec = store.view((tx) => tx.get("secret", "x1")!);
    sec.spec.data![0] = 0;
    const cl = store.view((tx) => tx.find("cluster")[0]!);
    cl.rootCa!.caCert[0] = 99;
    assert.equal(new TextDecoder().decode(store.view((tx) => tx.get("secret", "x1")!.spec.data)), "s3cret");
    assert.equal(store.view((tx) => tx.get("cluster", "c1")!.rootCa!.caCert[0]), 1);
  });

  it("refuses use of a transaction after its callback returned", async () => {
    const { store } = newStore();
    const leaked = store.view((tx) => tx);
    assert.throws(() => leaked.find("task"), (err: unknown) => code(err) === "STORE_INVALID");
  });
});
