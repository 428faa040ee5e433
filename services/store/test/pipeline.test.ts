import assert from "node:assert/strict";
import { FakeClock } from "@shoal/common";
import {
  MemoryStore,
  StoreError,
  copyObject,
  decodeSnapshot,
  decodeStoreEntry,
  encodeSnapshot,
  encodeStoreActions,
  type ProposeOptions,
  type Proposer,
  type StoreAction,
} from "../src/index.js";
import { newStore, service, task } from "./fixtures.js";

function code(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

interface LoggedEntry {
  index: number;
  term: number;
  data: Uint8Array;
  settle?: { resolve: (r: { index: number }) => void; reject: (err: unknown) => void };
}

/**
 * A raft leader in miniature: appends each proposal to its log at once (telling the store where,
 * as a leader's append does), commits entries in order only when told, and then applies them to
 * the store from their bytes before the proposal resolves (as ReplicatedStore's state machine
 * does). Entries of other writers (a follower's forwarded proposal) can be put in its log too.
 */
class LeaderLog implements Proposer {
  readonly log: LoggedEntry[] = [];
  term = 1;
  store!: MemoryStore;
  private committed = 0;

  proposeValue(actions: StoreAction[], opts: ProposeOptions = {}): Promise<{ index: number }> {
    if (opts.term !== undefined && opts.term !== this.term) return Promise.reject(new Error(`not the leader of term ${opts.term}`));
    const e: LoggedEntry = { index: this.log.length + 1, term: this.term, data: this.store.encodeActions(actions, opts.after ?? 0) };
    this.log.push(e);
    opts.onAppended?.({ index: e.index, term: e.term });
    return new Promise((resolve, reject) => (e.settle = { resolve, reject }));
  }

  /** An entry the store did not propose (forwarded by a follower). */
  appendForeign(actions: StoreAction[]): void {
    this.log.push({ index: this.log.length + 1, term: this.term, data: encodeStoreActions(actions) });
  }

  /** Commits and applies entries up to `upTo` (all by default), in order. */
  commit(upTo = this.log.length): void {
    for (; this.committed < upTo; ) {
      const e = this.log[this.committed++]!;
      const { actions, after } = decodeStoreEntry(e.data);
      this.store.applyStoreActions(actions, e.index, { after });
      e.settle?.resolve({ index: e.index });
    }
  }

  /** The proposal at `index` is lost (a new leader's log replaced it). */
  drop(index: number): void {
    this.log[index - 1]!.settle!.reject(new Error("proposal dropped"));
  }

  /** Applies the whole log, from its bytes, to another store (a follower). */
  replay(into: MemoryStore, upTo = this.log.length): void {
    for (const e of this.log.slice(0, upTo)) {
      const { actions, after } = decodeStoreEntry(e.data);
      into.applyStoreActions(actions, e.index, { after });
    }
  }
}

function leaderStore(opts: { maxInFlight?: number; maxBatchActions?: number } = {}): { store: MemoryStore; raft: LeaderLog } {
  const raft = new LeaderLog();
  const { store } = newStore(raft, new FakeClock(), opts);
  raft.store = store;
  return { store, raft };
}

/** The store's state without the snapshot's own bookkeeping. */
function state(store: MemoryStore): unknown {
  const { refused: _refused, ...rest } = store.snapshot();
  return rest;
}

/** Lets the store's promise chains run (a writer awaiting the lock or room): no timers here. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe("store: pipelined writes", () => {
  it("the next write stages over an entry in flight, at the version it will have, and replicas agree", async () => {
    const { store, raft } = leaderStore();
    const first = store.update((tx) => tx.create("service", service("s1", "web")));
    await settle();
    const seen: number[] = [];
    const second = store.update((tx) => {
      const s = copyObject(tx.get("service", "s1")!);
      seen.push(s.meta.version.index);
      s.spec.annotations.labels = { tier: "front" };
      tx.update("service", s);
    });
    await settle();
    assert.equal(raft.log.length, 2, "both entries were appended before either committed");
    assert.deepEqual(seen, [1], "the second saw the first's service at index 1");
    assert.equal(decodeStoreEntry(raft.log[1]!.data).after, 1);
    assert.equal(decodeStoreEntry(raft.log[1]!.data).actions[0]!.action, "patch", "an update of an object in flight goes as a patch over it");
    assert.equal(store.view((tx) => tx.get("service", "s1")), undefined, "nothing is visible before it commits");
    raft.commit();
    await Promise.all([first, second]);
    const s = store.view((tx) => tx.get("service", "s1")!);
    assert.equal(s.meta.version.index, 2);
    assert.deepEqual(s.spec.annotations.labels, { tier: "front" });
    const { store: replica } = newStore();
    raft.replay(replica);
    assert.deepEqual(state(replica), state(store));
  });

  it("an entry staged over one that is refused is refused too, on every replica and after a snapshot", async () => {
    const { store, raft } = leaderStore();
    const created = store.update((tx) => tx.create("service", service("s1", "web")));
    await settle();
    raft.commit();
    await created;
    // A follower's forwarded write to s1 is in the log but not applied yet when the leader writes.
    const foreign = copyObject(store.view((tx) => tx.get("service", "s1")!));
    foreign.spec.annotations.labels = { by: "follower" };
    raft.appendForeign([{ action: "update", kind: "service", object: foreign }]);
    const stale = store.update((tx) => {
      const s = copyObject(tx.get("service", "s1")!);
      s.spec.annotations.labels = { by: "leader" };
      tx.update("service", s);
    });
    await settle();
    // Valid on its own, but staged over the stale update: it must not outlive it.
    const built = store.update((tx) => tx.create("task", task("t1", "s1", 1)));
    await settle();
    assert.deepEqual(
      raft.log.map((e) => decodeStoreEntry(e.data).after),
      [0, 0, 0, 3],
    );
    // Once the stale update is refused, a writer no longer sees it, though the entry staged over
    // it is still in flight: the refused one's layer left the stack under it.
    const staleRefused = assert.rejects(stale, (err: unknown) => code(err) === "STORE_VERSION_CONFLICT");
    const builtRefused = assert.rejects(built, (err: unknown) => code(err) === "STORE_VERSION_CONFLICT" && /staged over entry 3, which was refused/.test((err as Error).message));
    raft.commit(3);
    const seen = store.update((tx) => tx.get("service", "s1")!.spec.annotations.labels);
    await settle();
    raft.commit();
    assert.deepEqual(await seen, { by: "follower" });
    await staleRefused;
    await builtRefused;
    assert.equal(store.view((tx) => tx.get("task", "t1")), undefined);
    assert.deepEqual(store.view((tx) => tx.get("service", "s1")!.spec.annotations.labels), { by: "follower" });

    const { store: replica } = newStore();
    raft.replay(replica);
    assert.deepEqual(state(replica), state(store));
    // A replica that starts from a snapshot taken between the two entries decides alike.
    const { store: upTo3 } = newStore();
    raft.replay(upTo3, 3);
    const snap = decodeSnapshot(encodeSnapshot(upTo3.snapshot()));
    assert.deepEqual(snap.refused, [3]);
    const { store: restored } = newStore();
    restored.restore(snap);
    const e4 = decodeStoreEntry(raft.log[3]!.data);
    assert.equal(restored.applyStoreActions(e4.actions, 4, { after: e4.after }).applied, false);
    assert.deepEqual(state(restored), state(store));
  });

  it("keeps at most maxInFlight entries in flight; a writer waits for room", async () => {
    const { store, raft } = leaderStore({ maxInFlight: 2 });
    const writes = ["a", "b", "c"].map((name) => store.update((tx) => tx.create("service", service(`s-${name}`, name))));
    await settle();
    assert.equal(raft.log.length, 2);
    raft.commit(1);
    await writes[0];
    await settle();
    assert.equal(raft.log.length, 3, "the third went once the first landed");
    assert.equal(decodeStoreEntry(raft.log[2]!.data).after, 2);
    raft.commit();
    await Promise.all(writes);
    assert.equal(store.view((tx) => tx.find("service").length), 3);
  });

  it("a proposal that fails takes its writes out of what later writers see", async () => {
    const { store, raft } = leaderStore();
    const lost = store.update((tx) => tx.create("service", service("s1", "web")));
    await settle();
    raft.drop(1);
    await assert.rejects(lost, /proposal dropped/);
    const next = store.update((tx) => {
      tx.create("service", service("s2", "api"));
      return tx.get("service", "s1");
    });
    await settle();
    raft.commit();
    assert.equal(await next, undefined);
    assert.equal(decodeStoreEntry(raft.log[1]!.data).after, 0, "staged over nothing in flight");
  });

  it("a member that lost leadership stages over what it applied, not over its entries still in flight", async () => {
    const { store, raft } = leaderStore({ maxInFlight: 1 });
    const created = store.update((tx) => tx.create("service", service("s1", "web")));
    await settle();
    raft.commit();
    await created;
    const seen: number[] = [];
    const label = (key: string): Promise<void> =>
      store.update((tx) => {
        const s = copyObject(tx.get("service", "s1")!);
        seen.push(s.meta.version.index);
        s.spec.annotations.labels = { [key]: "1" };
        tx.update("service", s);
      });
    const inFlight = label("old-term");
    inFlight.catch(() => undefined);
    await settle();
    assert.equal(raft.log.length, 2);
    // The next writer waits for room behind entry 2; leadership is lost meanwhile.
    const next = label("after");
    next.catch(() => undefined);
    await settle();
    assert.equal(raft.log.length, 2, "waiting for room");
    store.leftLeadership();
    await settle();
    assert.equal(raft.log.length, 3, "woken: the stack is gone");
    assert.equal(decodeStoreEntry(raft.log[2]!.data).after, 0, "staged over nothing in flight");
    assert.deepEqual(seen, [1, 1], "over the applied service (version 1), not entry 2's");
    raft.drop(2);
    raft.drop(3);
    await assert.rejects(inFlight, /proposal dropped/);
    await assert.rejects(next, /proposal dropped/);
  });

  it("a write staged over entries in flight goes only into the same term's log", async () => {
    const { store, raft } = leaderStore();
    const first = store.update((tx) => tx.create("service", service("s1", "web")));
    await settle();
    raft.term = 2; // leadership moved and came back: entry 1 may not be where it was
    await assert.rejects(
      store.update((tx) => tx.create("service", service("s2", "api"))),
      /not the leader of term 1/,
    );
    assert.equal(raft.log.length, 1);
    raft.commit();
    await first;
  });

  it("a batch keeps proposing while its earlier entries commit, and resolves once all have", async () => {
    const { store, raft } = leaderStore({ maxBatchActions: 10, maxInFlight: 8 });
    let done = false;
    const batch = store
      .batch(async (b) => {
        for (let i = 1; i <= 30; i++) await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
        // Each transaction sees the ones before it, in flight or not.
        return b.update((tx) => tx.find("task").length);
      })
      .then((n) => {
        done = true;
        return n;
      });
    await settle();
    assert.equal(raft.log.length, 3, "three full proposals appended without waiting for commits");
    assert.deepEqual(
      raft.log.map((e) => decodeStoreEntry(e.data).after),
      [0, 1, 2],
    );
    raft.commit(2);
    await settle();
    assert.equal(done, false, "not resolved before its last entry commits");
    raft.commit();
    assert.equal(await batch, 30);
    assert.equal(store.view((tx) => tx.find("task").length), 30);
  });

  it("a batch whose entry fails while it is still staging stops, and rejects with that error", async () => {
    const { store, raft } = leaderStore({ maxBatchActions: 10, maxInFlight: 8 });
    let staged = 0;
    const batch = store.batch(async (b) => {
      for (let i = 1; i <= 10; i++) await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
      // Entry 1 is in flight; it fails while this batch goes on staging.
      await settle();
      raft.drop(1);
      await settle();
      for (let i = 11; i <= 20; i++) {
        await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
        staged++;
      }
    });
    await assert.rejects(batch, /proposal dropped/);
    assert.equal(staged, 0, "nothing more was staged once an entry of the batch failed");
    assert.equal(raft.log.length, 1);
  });

  // A manager exits on an unhandled rejection: an entry that fails while its batch is still
  // staging must be handled at once, not only when the batch ends.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  before(() => process.on("unhandledRejection", onUnhandled));
  after(() => process.off("unhandledRejection", onUnhandled));
  afterEach(async () => {
    await settle();
    assert.deepEqual(unhandled.splice(0), [], "no promise rejection went unhandled");
  });

  it("a batch whose entry fails rejects, after its other entries settle", async () => {
    const { store, raft } = leaderStore({ maxBatchActions: 10, maxInFlight: 8 });
    const batch = store.batch(async (b) => {
      for (let i = 1; i <= 25; i++) await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
    });
    await settle();
    assert.equal(raft.log.length, 3);
    // A new leader replaced entries 2 and 3: both proposals fail; entry 1 still commits.
    let settled = false;
    batch.catch(() => (settled = true));
    raft.drop(2);
    raft.drop(3);
    await settle();
    assert.equal(settled, false, "not settled while entry 1 is in flight");
    raft.commit(1);
    await assert.rejects(batch, /proposal dropped/);
    assert.equal(store.view((tx) => tx.find("task").length), 10);
  });
});
