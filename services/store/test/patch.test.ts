import assert from "node:assert/strict";
import { MemoryStore, TaskState, copyObject, decodeSnapshot, decodeStoreActions, encodeSnapshot, encodeStoreActions, type LoggedAction, type Proposer, type StoreAction, type StorePatch, type Task } from "../src/index.js";
import { makePatch, resolvePatch } from "../src/patch.js";
import { newStore, node, secret, service, task } from "./fixtures.js";

/** Records each proposal as the manager's raft log would hold it: encoded by the proposing store. */
class PatchingProposer implements Proposer {
  readonly log: Array<{ index: number; data: Uint8Array }> = [];
  store!: MemoryStore;
  private next = 1;
  proposeValue(actions: StoreAction[]): Promise<{ index: number }> {
    const index = this.next++;
    this.log.push({ index, data: this.store.encodeActions(actions) });
    return Promise.resolve({ index });
  }
}

function leaderStore(): { leader: MemoryStore; proposer: PatchingProposer } {
  const proposer = new PatchingProposer();
  const { store } = newStore(proposer);
  proposer.store = store;
  return { leader: store, proposer };
}

function replay(proposer: PatchingProposer): { follower: MemoryStore; patches: number; refused: number } {
  const follower = new MemoryStore();
  let patches = 0;
  let refused = 0;
  for (const entry of proposer.log) {
    const actions = decodeStoreActions(entry.data);
    patches += actions.filter((a) => a.action === "patch").length;
    if (follower.applyStoreActions(actions, entry.index).error !== undefined) refused++;
  }
  return { follower, patches, refused };
}

const text = (x: unknown): string => JSON.stringify(x);

describe("store: updates logged as patches", () => {
  it("a replica applying the patches ends byte for byte where the writer's store is", async () => {
    const { leader, proposer } = leaderStore();
    await leader.update((tx) => {
      tx.create("service", service("s1", "web"));
      tx.create("node", node("n1", "host-1"));
      tx.create("secret", secret("x1", "pw"));
    });
    await leader.batch(async (b) => {
      for (let i = 1; i <= 10; i++) await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
    });
    // The pipeline's writes: state moves, an assignment, a status with new nested fields.
    for (const state of [TaskState.PENDING, TaskState.ASSIGNED, TaskState.RUNNING]) {
      await leader.batch(async (b) => {
        for (let i = 1; i <= 10; i++) {
          await b.update((tx) => {
            const t = tx.get("task", `t${i}`)!;
            const next: Task = { ...t, status: { timestamp: state, state, message: TaskState[state] } };
            if (state === TaskState.ASSIGNED) next.nodeId = "n1";
            if (state === TaskState.RUNNING) next.status.containerStatus = { containerId: `c${i}`, pid: 100 + i };
            tx.update("task", next);
          });
        }
      });
    }
    // A field added, a field removed, and an object written with its keys in another order.
    await leader.update((tx) => {
      const t1 = tx.get("task", "t1")!;
      tx.update("task", { ...t1, annotations: { name: "web.1" } });
      const { nodeId: _gone, ...t2 } = tx.get("task", "t2")!;
      tx.update("task", { ...t2, nodeId: "" });
      const t3 = tx.get("task", "t3")!;
      const { status, ...rest } = t3;
      tx.update("task", { status: { ...status, message: "moved" }, ...rest });
    });
    await leader.update((tx) => {
      const { annotations: _a, ...t1 } = tx.get("task", "t1")!;
      tx.update("task", t1 as Task);
    });
    // Two writes of one object in one entry (the second's base is the first's): sent whole.
    await leader.batch(async (b) => {
      await b.update((tx) => tx.update("task", { ...tx.get("task", "t4")!, desiredState: TaskState.SHUTDOWN }));
      await b.update((tx) => tx.update("task", { ...tx.get("task", "t4")!, status: { timestamp: 9, state: TaskState.SHUTDOWN } }));
    });
    // Objects with bytes, and a node update.
    await leader.update((tx) => {
      const s = copyObject(tx.get("secret", "x1")!);
      s.spec.annotations.labels = { a: "b" };
      tx.update("secret", s);
      tx.update("node", { ...tx.get("node", "n1")!, status: { state: 0, addr: "10.0.0.2" } });
    });

    const { follower, patches, refused } = replay(proposer);
    assert.equal(refused, 0);
    assert.ok(patches >= 30, `only ${patches} patches`);
    assert.equal(Buffer.from(encodeSnapshot(follower.snapshot())).toString(), Buffer.from(encodeSnapshot(leader.snapshot())).toString());
    assert.equal(follower.appliedIndex, leader.appliedIndex);
    for (const id of ["t1", "t2", "t3", "t4"]) assert.equal(text(follower.view((tx) => tx.get("task", id))), text(leader.view((tx) => tx.get("task", id))), id);
    // The indexes follow the patched fields.
    assert.deepEqual(follower.view((tx) => tx.find("task", { nodeId: "n1" }).map((t) => t.id)).sort(), leader.view((tx) => tx.find("task", { nodeId: "n1" }).map((t) => t.id)).sort());
    assert.deepEqual(follower.view((tx) => tx.find("task", { desiredState: TaskState.SHUTDOWN }).map((t) => t.id)), ["t4"]);
  });

  it("a status update logs a fraction of the task", async () => {
    const { leader, proposer } = leaderStore();
    await leader.update((tx) => tx.create("service", service("s1", "web")));
    await leader.update((tx) => tx.create("task", task("t1", "s1", 1)));
    await leader.update((tx) => tx.update("task", { ...tx.get("task", "t1")!, status: { timestamp: 1, state: TaskState.RUNNING } }));
    const [create, update] = proposer.log.slice(1).map((e) => e.data.length);
    const [logged] = decodeStoreActions(proposer.log[2]!.data);
    assert.equal(logged!.action, "patch");
    assert.deepEqual(Object.keys((logged as { set: object }).set), ["status"]);
    assert.ok(update! < create! / 2, `update ${update} bytes, create ${create}`);
  });

  it("a stale write is refused alike by the writer's store and by replicas applying its patch", async () => {
    const { leader, proposer } = leaderStore();
    await leader.update((tx) => tx.create("task", task("t1", "s1", 1)));
    const read = leader.view((tx) => tx.get("task", "t1")!);
    await leader.update((tx) => tx.update("task", { ...read, status: { timestamp: 1, state: TaskState.PENDING } }));
    // A patch against the first version, arriving after the second: every replica refuses it.
    const stale: LoggedAction[] = [makePatch("task", read, { ...read, status: { timestamp: 2, state: TaskState.FAILED } })!];
    const { follower } = replay(proposer);
    for (const s of [leader, follower]) {
      const r = s.applyStoreActions(decodeStoreActions(new TextEncoder().encode(JSON.stringify({ v: 2, actions: stale }))), 3);
      assert.equal(r.error?.code, "STORE_VERSION_CONFLICT");
      assert.equal(s.view((tx) => tx.get("task", "t1")!.status.state), TaskState.PENDING);
    }
    // Nor over an earlier write of the same entry, which a whole update may follow.
    const cur = follower.view((tx) => tx.get("task", "t1")!);
    const twice: LoggedAction[] = [
      { action: "update", kind: "task", object: { ...cur, desiredState: TaskState.SHUTDOWN } },
      makePatch("task", cur, { ...cur, status: { timestamp: 3, state: TaskState.RUNNING } })!,
    ];
    assert.equal(twice[1]!.action, "patch");
    assert.equal(follower.applyStoreActions(twice, 4).error?.code, "STORE_VERSION_CONFLICT");
    assert.equal(follower.view((tx) => tx.get("task", "t1")!.desiredState), TaskState.RUNNING);
    const gone: LoggedAction[] = [{ ...(stale[0] as StorePatch), id: "nope" }];
    assert.equal(follower.applyStoreActions(gone, 5).error?.code, "STORE_NOT_FOUND");
  });

  it("without a base (a follower forwarding a write) updates go whole", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("task", task("t1", "s1", 1)));
    const t = store.view((tx) => tx.get("task", "t1")!);
    const actions: StoreAction[] = [{ action: "update", kind: "task", object: { ...t, status: { timestamp: 1, state: TaskState.PENDING } } }];
    assert.equal(decodeStoreActions(encodeStoreActions(actions))[0]!.action, "update");
    assert.equal(decodeStoreActions(store.encodeActions(actions))[0]!.action, "patch");
  });

  it("rebuilds the writer's object, key order included, and sends whole what changed mostly", () => {
    const fields = { id: "t", meta: { version: { index: 4 }, createdAt: 1, updatedAt: 2 }, a: 1, b: { x: 1 }, c: "c", d: [1], e: true };
    const base = fields as unknown as Task;
    const cases: Array<Record<string, unknown>> = [
      { ...base, meta: { version: { index: 4 }, createdAt: 1, updatedAt: 3 }, a: 2 },
      { ...base, meta: { version: { index: 4 }, createdAt: 1, updatedAt: 3 }, f: "new" },
      { ...base, meta: { version: { index: 4 }, createdAt: 1, updatedAt: 3 }, c: undefined },
      { meta: { version: { index: 4 }, createdAt: 1, updatedAt: 3 }, id: "t", e: true, d: fields.d, a: 1, b: fields.b, c: "c" },
    ];
    for (const next of cases) {
      const p = makePatch("task", base, next as unknown as Task)!;
      assert.ok(p !== undefined);
      const back = resolvePatch(JSON.parse(JSON.stringify(p)) as typeof p, base);
      assert.equal(JSON.stringify(back.object), JSON.stringify(next));
    }
    const most = { ...base, a: 9, b: { x: 2 }, c: "z", d: [2] };
    assert.equal(makePatch("task", base, most as unknown as Task), undefined);
  });

  it("refuses a malformed patch before any replica applies it", () => {
    const good = { action: "patch", kind: "task", id: "t", read: 3, set: {} };
    const bad: unknown[] = [
      { ...good, kind: "nope" },
      { ...good, read: "3" },
      { ...good, set: [] },
      { ...good, set: JSON.parse('{"__proto__": {"x": 1}}') as unknown },
      { ...good, set: { meta: {} } },
      { ...good, unset: ["a", 1] },
      { ...good, keys: ["__proto__"] },
    ];
    const bytes = (actions: unknown[], v = 2): Uint8Array => new TextEncoder().encode(JSON.stringify({ v, actions }));
    assert.equal(decodeStoreActions(bytes([good]))[0]!.action, "patch");
    for (const b of bad) assert.throws(() => decodeStoreActions(bytes([b])), /bad patch/, JSON.stringify(b));
    // Only entries of the patch format may hold patches.
    assert.throws(() => decodeStoreActions(bytes([good], 1)), /bad action/);
    // An entry from a newer shoald says what to do about it.
    assert.throws(() => decodeStoreActions(bytes([good], 4)), /store actions of format 4, which this version of shoald does not read \(it reads 1, 2 and 3\): upgrade this manager/);
    // Format 3 names the entry it was staged after.
    assert.throws(() => decodeStoreActions(bytes([good], 3)), /bad after/);
    assert.throws(() => decodeSnapshot(new TextEncoder().encode(JSON.stringify({ v: 2 }))), /store snapshot of format 2, .* reads 1\)/);
  });
});
