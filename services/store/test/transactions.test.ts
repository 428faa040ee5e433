import assert from "node:assert/strict";
import { FakeClock } from "@shoal/common";
import { LocalProposer, StoreError, TaskState, copyObject, type MemoryStore, type Proposer, type ReadTx, type StoreAction, type Task } from "../src/index.js";
import { newStore, service, task } from "./fixtures.js";

function code(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

describe("store: transactions", () => {
  it("a transaction that throws changes nothing and proposes nothing", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer);
    await store.update((tx) => tx.create("service", service("s1", "web")));
    await assert.rejects(
      store.update((tx) => {
        tx.create("task", task("t1", "s1", 1));
        tx.delete("service", "s1");
        throw new Error("boom");
      }),
      /boom/,
    );
    store.view((tx) => {
      assert.equal(tx.find("task").length, 0);
      assert.ok(tx.get("service", "s1"));
    });
    assert.equal(proposer.proposals.length, 1);
    assert.equal(store.appliedIndex, 1);
  });

  it("a rejected proposal changes nothing and the error reaches the writer", async () => {
    const failing: Proposer = { proposeValue: () => Promise.reject(new Error("no quorum")) };
    const { store } = newStore(failing);
    const w = store.watch();
    await assert.rejects(store.update((tx) => tx.create("service", service("s1", "web"))), /no quorum/);
    assert.equal(store.view((tx) => tx.find("service").length), 0);
    assert.equal(store.appliedIndex, 0);
    assert.equal(w.backlog, 0);
    w.close();
  });

  it("applies only after the proposer resolves, with the proposer's index as version", async () => {
    let resolveIt!: (v: { index: number }) => void;
    const seen: StoreAction[][] = [];
    const slow: Proposer = {
      proposeValue: (actions) => {
        seen.push(actions);
        return new Promise((r) => (resolveIt = r));
      },
    };
    const { store } = newStore(slow);
    const done = store.update((tx) => tx.create("service", service("s1", "web")));
    await new Promise((r) => setImmediate(r));
    assert.equal(seen.length, 1);
    assert.equal(store.view((tx) => tx.get("service", "s1")), undefined);
    resolveIt({ index: 42 });
    await done;
    assert.equal(store.view((tx) => tx.get("service", "s1")!.meta.version.index), 42);
    assert.equal(store.appliedIndex, 42);
  });

  it("a transaction reads its own uncommitted writes", async () => {
    const { store } = newStore();
    await store.update((tx) => {
      tx.create("service", service("s1", "web"));
      const s = copyObject(tx.get("service", "s1")!);
      assert.equal(s.meta.version.index, 0);
      s.spec.replicated = { replicas: 4 };
      tx.update("service", s);
      assert.equal(tx.find("service", { name: "web" })[0]!.spec.replicated?.replicas, 4);
      tx.create("task", task("t1", "s1", 1));
      tx.delete("task", "t1");
      assert.equal(tx.get("task", "t1"), undefined);
    });
    store.view((tx) => {
      assert.equal(tx.get("service", "s1")!.spec.replicated?.replicas, 4);
      assert.equal(tx.get("task", "t1"), undefined);
    });
  });

  it("an empty transaction proposes nothing", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer);
    assert.equal(await store.update(() => 7), 7);
    assert.equal(proposer.proposals.length, 0);
  });

  it("refuses asynchronous callbacks", async () => {
    const { store } = newStore();
    await assert.rejects(store.update(async () => undefined), (err: unknown) => code(err) === "STORE_INVALID");
    assert.throws(() => store.view(async () => undefined), (err: unknown) => code(err) === "STORE_INVALID");
  });

  it("serializes concurrent writers so the second sees the first's commit", async () => {
    const { store } = newStore();
    await store.update((tx) => tx.create("service", service("s1", "web")));
    const bump = (): Promise<void> =>
      store.update((tx) => {
        const s = copyObject(tx.get("service", "s1")!);
        s.spec.replicated = { replicas: (s.spec.replicated?.replicas ?? 0) + 1 };
        tx.update("service", s);
      });
    await Promise.all([bump(), bump(), bump()]);
    assert.equal(store.view((tx) => tx.get("service", "s1")!.spec.replicated?.replicas), 5);
  });

  it("an aborted write is refused before it is proposed", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(store.update((tx) => tx.create("task", task("t1", "s", 1)), { signal: ac.signal }), (err: unknown) => (err as { code?: string }).code === "ABORTED");
    assert.equal(proposer.proposals.length, 0);
  });
});

describe("store: batches", () => {
  it("commits many transactions in one proposal", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer);
    await store.batch(async (b) => {
      for (let i = 1; i <= 50; i++) await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
    });
    assert.equal(proposer.proposals.length, 1);
    assert.equal(proposer.proposals[0]!.length, 50);
    assert.equal(store.view((tx) => tx.find("task", { serviceId: "s1" }).length), 50);
    assert.ok(store.view((tx) => tx.find("task").every((t) => t.meta.version.index === 1)));
  });

  it("finds inside a large batch see the batch's own creates, updates and deletes through every index", async () => {
    const { store } = newStore(new LocalProposer());
    type Probe = { sel: Parameters<ReadTx["find"]>[1] & object; keep: (t: Task) => boolean };
    const probes: Probe[] = [
      { sel: { serviceId: "s1" }, keep: (t) => t.serviceId === "s1" },
      { sel: { nodeId: "n2" }, keep: (t) => t.nodeId === "n2" },
      { sel: { desiredState: TaskState.SHUTDOWN }, keep: (t) => t.desiredState === TaskState.SHUTDOWN },
      { sel: { slot: { serviceId: "s2", slot: 7 } }, keep: (t) => t.serviceId === "s2" && t.slot === 7 },
      { sel: { or: [{ nodeId: "n1" }, { serviceId: "s2" }] }, keep: (t) => t.nodeId === "n1" || t.serviceId === "s2" },
    ];
    const check = (tx: ReadTx, when: string): void => {
      const every = tx.find("task");
      for (const p of probes) {
        const got = tx.find("task", p.sel).map((t) => t.id).sort();
        assert.deepEqual(got, every.filter(p.keep).map((t) => t.id).sort(), `${when}: ${JSON.stringify(p.sel)}`);
      }
    };
    // Committed tasks below the batch, so finds merge the store's indexes with the batch's.
    await store.update((tx) => {
      for (let i = 1; i <= 10; i++) tx.create("task", task(`c${i}`, i % 2 ? "s1" : "s2", i, `n${(i % 3) + 1}`));
    });
    await store.batch(async (b) => {
      for (let i = 1; i <= 80; i++) await b.update((tx) => tx.create("task", task(`t${i}`, i % 2 ? "s1" : "s2", i, `n${(i % 3) + 1}`)));
      await b.update((tx) => check(tx, "after creates"));
      // Moves and shutdowns change index keys of tasks the batch created and of committed ones.
      for (const id of ["t2", "t5", "t7", "c2", "c3"]) {
        await b.update((tx) => {
          const t = tx.get("task", id)!;
          tx.update("task", { ...t, nodeId: "n2", desiredState: TaskState.SHUTDOWN });
        });
      }
      await b.update((tx) => check(tx, "after updates"));
      for (const id of ["t4", "t7", "c4"]) await b.update((tx) => tx.delete("task", id));
      await b.update((tx) => tx.create("task", task("t4", "s2", 7, "n1")));
      await b.update((tx) => check(tx, "after deletes and a re-create"));
    });
    store.view((tx) => check(tx, "committed"));
  });

  it("splits a large batch into proposals of at most maxBatchActions actions", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer, undefined, { maxBatchActions: 10 });
    await store.batch(async (b) => {
      for (let i = 1; i <= 25; i++) await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
    });
    assert.deepEqual(proposer.proposals.map((p) => p.length), [10, 10, 5]);
    assert.equal(store.view((tx) => tx.find("task").length), 25);
  });

  it("a long batch lets a writer that queued during its proposal go before its next proposal", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer, undefined, { maxBatchActions: 10 });
    let updateQueued!: Promise<unknown>;
    const batch = store.batch(async (b) => {
      for (let i = 1; i <= 25; i++) {
        await b.update((tx) => tx.create("task", task(`t${i}`, "s1", i)));
        // Queued while the batch holds the lock (its first proposal is about to go out).
        if (i === 9) updateQueued = store.update((tx) => tx.create("task", task("single", "s2", 1)));
      }
    });
    await Promise.all([batch, updateQueued]);
    assert.deepEqual(
      proposer.proposals.map((p) => p.length),
      [10, 1, 10, 5],
      "the single update committed between the batch's first and second proposals",
    );
    assert.equal(store.view((tx) => tx.find("task").length), 26);
  });

  it("a failing transaction in a batch drops only its own changes", async () => {
    const proposer = new LocalProposer();
    const { store } = newStore(proposer);
    await store.batch(async (b) => {
      await b.update((tx) => tx.create("task", task("t1", "s1", 1)));
      await assert.rejects(
        b.update((tx) => {
          tx.create("task", task("t2", "s1", 2));
          tx.create("task", task("t1", "s1", 3)); // duplicate id
        }),
        (err: unknown) => code(err) === "STORE_ID_CONFLICT",
      );
      // Later transactions see earlier staged ones.
      await b.update((tx) => {
        assert.ok(tx.get("task", "t1"));
        assert.equal(tx.get("task", "t2"), undefined);
        tx.create("task", task("t3", "s1", 3));
      });
    });
    assert.deepEqual(store.view((tx) => tx.find("task").map((t) => t.id).sort()), ["t1", "t3"]);
    assert.equal(proposer.proposals.length, 1);
  });

  it("a batch whose proposal is rejected fails and leaves the state unchanged", async () => {
    const failing: Proposer = { proposeValue: () => Promise.reject(new Error("not leader")) };
    const { store } = newStore(failing);
    await assert.rejects(
      store.batch(async (b) => {
        await b.update((tx) => tx.create("task", task("t1", "s1", 1)));
      }),
      /not leader/,
    );
    assert.equal(store.view((tx) => tx.find("task").length), 0);
  });
});

/** A LocalProposer whose first proposal stays uncommitted until open() (the store is writing meanwhile). */
class HeldFirstProposal extends LocalProposer {
  open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  override async proposeValue(actions: StoreAction[]): Promise<{ index: number }> {
    const r = await super.proposeValue(actions);
    if (this.proposals.length === 1) await this.gate;
    return r;
  }
}

describe("store: grouped updates (group commit)", () => {
  /** A store busy with one plain update, whose entry commits when the returned function is called. */
  function busyStore(opts: { maxBatchActions?: number } = {}, proposer = new HeldFirstProposal()): { store: MemoryStore; proposer: HeldFirstProposal; first: Promise<unknown> } {
    const { store } = newStore(proposer, undefined, opts);
    const first = store.update((tx) => tx.create("service", service("s1", "web")));
    return { store, proposer, first };
  }

  it("updates that queue while the store writes share the next entry, each resolving with its own result", async () => {
    const { store, proposer, first } = busyStore();
    const grouped = ["t1", "t2", "t3", "t4", "t5"].map((id, i) =>
      store.update(
        (tx) => {
          tx.create("task", task(id, "s1", i + 1));
          return id.toUpperCase();
        },
        { group: true },
      ),
    );
    proposer.open();
    await first;
    assert.deepEqual(await Promise.all(grouped), ["T1", "T2", "T3", "T4", "T5"]);
    assert.deepEqual(proposer.proposals.map((p) => p.length), [1, 5]);
    store.view((tx) => assert.deepEqual(tx.find("task").map((t) => t.meta.version.index), [2, 2, 2, 2, 2]));
  });

  it("an update whose callback throws fails alone, and later ones see what earlier ones staged", async () => {
    const { store, proposer, first } = busyStore();
    const g1 = store.update((tx) => tx.create("task", task("t1", "s1", 1)), { group: true });
    const g2 = store.update((tx) => tx.create("task", task("t1", "s1", 2)), { group: true }); // duplicate id
    const g3 = store.update(
      (tx) => {
        const seen = tx.get("task", "t1")?.slot;
        tx.create("task", task("t3", "s1", 3));
        return seen;
      },
      { group: true },
    );
    proposer.open();
    await first;
    await g1;
    await assert.rejects(g2, (err: unknown) => code(err) === "STORE_ID_CONFLICT");
    assert.equal(await g3, 1, "the third saw the first's staged task, not the failed second's");
    assert.deepEqual(proposer.proposals.map((p) => p.length), [1, 2]);
    assert.deepEqual(store.view((tx) => tx.find("task").map((t) => t.id).sort()), ["t1", "t3"]);
  });

  it("when the group's entry cannot commit, every update in it gets the error and nothing is applied", async () => {
    class FailingAfterFirst extends HeldFirstProposal {
      override async proposeValue(actions: StoreAction[]): Promise<{ index: number }> {
        const r = await super.proposeValue(actions);
        if (this.proposals.length > 1) throw new Error("no quorum");
        return r;
      }
    }
    const { store, proposer, first } = busyStore({}, new FailingAfterFirst());
    const grouped = ["t1", "t2", "t3"].map((id, i) => store.update((tx) => tx.create("task", task(id, "s1", i + 1)), { group: true }));
    proposer.open();
    await first;
    const results = await Promise.allSettled(grouped);
    assert.deepEqual(results.map((r) => (r.status === "rejected" ? String(r.reason) : "fulfilled")), ["Error: no quorum", "Error: no quorum", "Error: no quorum"]);
    assert.deepEqual(proposer.proposals.map((p) => p.length), [1, 3]);
    assert.equal(store.view((tx) => tx.find("task").length), 0);
  });

  it("a group holds at most maxBatchActions actions: the updates left over go in the next entry", async () => {
    const { store, proposer, first } = busyStore({ maxBatchActions: 4 });
    const grouped = Array.from({ length: 10 }, (_, i) => store.update((tx) => tx.create("task", task(`t${i}`, "s1", i + 1)), { group: true }));
    proposer.open();
    await Promise.all([first, ...grouped]);
    assert.deepEqual(proposer.proposals.map((p) => p.length), [1, 4, 4, 2]);
    assert.equal(store.view((tx) => tx.find("task").length), 10);
  });

  it("an aborted grouped update is refused before it runs; the others commit", async () => {
    const { store, proposer, first } = busyStore();
    const ac = new AbortController();
    let ran = false;
    const aborted = store.update(
      (tx) => {
        ran = true;
        tx.create("task", task("t1", "s1", 1));
      },
      { group: true, signal: ac.signal },
    );
    const other = store.update((tx) => tx.create("task", task("t2", "s1", 2)), { group: true });
    ac.abort();
    proposer.open();
    await first;
    await assert.rejects(aborted, (err: unknown) => (err as { code?: string }).code === "ABORTED");
    await other;
    assert.equal(ran, false);
    assert.deepEqual(proposer.proposals.map((p) => p.length), [1, 1]);
  });
});

describe("store: write statistics", () => {
  it("counts proposals and their actions, and times the commit wait and the write lock on the store's clock", async () => {
    const proposer = new HeldFirstProposal();
    const { store, clock } = newStore(proposer);
    const first = store.update((tx) => tx.create("service", service("s1", "web")));
    // Queued behind the first: waiting for the lock is not holding it.
    const second = store.update((tx) => {
      tx.create("task", task("t1", "s1", 1));
      tx.create("task", task("t2", "s1", 2));
    });
    const readOnly = store.update((tx) => tx.get("service", "s1")?.id);
    for (let i = 0; i < 100 && proposer.proposals.length === 0; i++) await Promise.resolve();
    assert.equal(proposer.proposals.length, 1, "the first update is waiting for its commit");
    clock.advance(250);
    proposer.open();
    await Promise.all([first, second]);
    assert.equal(await readOnly, "s1");
    assert.deepEqual(store.writeStats(), { proposals: 2, actions: 3, commitWaitSeconds: 0.25, lockHeldSeconds: 0.25 });
  });

  it("a proposal that fails still counts, with the time its writer waited", async () => {
    const clock = new FakeClock();
    const failing: Proposer = {
      proposeValue: async () => {
        clock.advance(40);
        throw new Error("no quorum");
      },
    };
    const { store } = newStore(failing, clock);
    await assert.rejects(store.update((tx) => tx.create("service", service("s1", "web"))), /no quorum/);
    assert.deepEqual(store.writeStats(), { proposals: 1, actions: 1, commitWaitSeconds: 0.04, lockHeldSeconds: 0.04 });
  });
});
