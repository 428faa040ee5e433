import assert from "node:assert/strict";
import { ShoalError } from "@shoal/common";
import { RemoteError } from "@shoal/proto";
import { MessageType, NONE, RaftError, type Message } from "@shoal/raft";
import { httpErrorOf } from "../../src/api/errors.js";
import { NodeAvailability, NodeMembership, NodeRole, NodeState, TaskState, type NewObject, type StoreEvent } from "@shoal/store";
import type { ReplicatedStore } from "../../src/replication/replicated-store.js";
import { StoreCluster, service, waitFor } from "./helpers.js";

/** The node object of the manager with raft id `raftId`, given `desiredRole`. */
function managerNode(raftId: number, desiredRole: NodeRole): NewObject<"node"> {
  return {
    id: `node${raftId}`,
    spec: { annotations: { name: "", labels: {} }, desiredRole, membership: NodeMembership.ACCEPTED, availability: NodeAvailability.ACTIVE },
    status: { state: NodeState.READY },
    role: NodeRole.MANAGER,
    managerStatus: { raftId, addr: `127.0.0.1:${raftId}` },
  };
}

function objectsOf(rs: ReplicatedStore): string {
  const { index: _index, ...rest } = rs.store.snapshot();
  return JSON.stringify(rest);
}

async function converged(c: StoreCluster): Promise<void> {
  await waitFor(() => {
    const idx = c.running().map((m) => m.store.appliedIndex);
    return idx.every((i) => i === idx[0]);
  }, 5000, "members to apply the same index");
}

/** Stops and restarts every running member; each must replay to exactly the objects it held. */
async function restartAllAndCompare(c: StoreCluster): Promise<void> {
  const before = new Map(c.running().map((m) => [m.id, { objects: objectsOf(m), index: m.store.appliedIndex }]));
  for (const id of before.keys()) await c.stop(id);
  for (const id of before.keys()) await c.start(id);
  for (const m of c.running()) {
    await waitFor(() => m.store.appliedIndex >= before.get(m.id)!.index, 5000, `member ${m.id} to replay`);
    assert.equal(objectsOf(m), before.get(m.id)!.objects);
  }
}

/**
 * Starts 3 members, writes service "kept" everywhere, then stops both followers: the leader, cut
 * off, leads on until check-quorum demotes it.
 */
async function cutOffLeader(c: StoreCluster): Promise<{ leader: ReplicatedStore; others: ReplicatedStore[] }> {
  await c.startAll([1, 2, 3]);
  const leader = await c.leader();
  await leader.store.update((tx) => tx.create("service", service("kept", "kept")));
  await converged(c);
  const others = c.running().filter((m) => m !== leader);
  await Promise.all(others.map((m) => c.stop(m.id)));
  return { leader, others };
}

/** Runs fn while the member's raft rejects every proposal with err (a stand-in, in this unit test only). */
async function whileProposalsFail(member: ReplicatedStore, err: Error, fn: () => Promise<void>): Promise<void> {
  const raft = member.raft;
  const real = raft.propose.bind(raft);
  raft.propose = () => Promise.reject(err);
  try {
    await fn();
  } finally {
    raft.propose = real;
  }
}

/** A write that may or may not have committed: MANAGER_NO_QUORUM with outcomeUnknown. */
function noQuorumOutcomeUnknown(err: unknown): boolean {
  assert.ok(err instanceof ShoalError, String(err));
  assert.equal(err.code, "MANAGER_NO_QUORUM");
  assert.equal(err.meta["outcomeUnknown"], true);
  return true;
}

describe("replication: ReplicatedStore (3 members, raft tick 20 ms)", function () {
  this.timeout(20_000);

  describe("a healthy cluster", () => {
    const c = new StoreCluster();
    let leader: ReplicatedStore;
    let followers: ReplicatedStore[];

    before(async () => {
      await c.startAll([1, 2, 3]);
      leader = await c.leader();
      followers = c.running().filter((m) => m !== leader);
    });
    after(() => c.cleanup());

    it("replicates objects created through the leader to every follower with the same meta.version", async () => {
      await leader.store.update((tx) => tx.create("service", service("svc-a", "web")));
      // The transaction's return value is the staged object; the committed one carries the raft index.
      const created = leader.store.view((tx) => tx.get("service", "svc-a"))!;
      assert.ok(created.meta.version.index > 0);
      for (const f of followers) {
        await waitFor(() => f.store.appliedIndex >= created.meta.version.index, 5000, "follower apply");
        const seen = f.store.view((tx) => tx.get("service", "svc-a"));
        assert.equal(seen?.meta.version.index, created.meta.version.index);
        assert.equal(seen?.spec.annotations?.name, "web");
      }
    });

    it("refuses an update based on a version read on a follower once the leader moved past it (update out of sequence)", async () => {
      await leader.store.update((tx) => tx.create("service", service("svc-b", "api")));
      const created = leader.store.view((tx) => tx.get("service", "svc-b"))!;
      const f = followers[0]!;
      await waitFor(() => f.store.appliedIndex >= created.meta.version.index);
      const staleCopy = f.store.view((tx) => tx.get("service", "svc-b"))!;
      await leader.store.update((tx) => tx.update("service", { ...staleCopy, spec: { ...staleCopy.spec, replicated: { replicas: 2 } } }));
      await assert.rejects(
        leader.store.update((tx) => tx.update("service", { ...staleCopy, spec: { ...staleCopy.spec, replicated: { replicas: 3 } } })),
        (err: unknown) => err instanceof ShoalError && err.code === "STORE_VERSION_CONFLICT" && /update out of sequence/.test(err.message),
      );
      await converged(c);
      for (const m of c.running()) assert.equal(m.store.view((tx) => tx.get("service", "svc-b"))?.spec.replicated?.replicas, 2);
    });

    it("batches many concurrent transactions into few raft entries", async () => {
      const before = leader.raft.status().lastIndex;
      const txs = 60;
      await leader.store.batch(async (b) => {
        await Promise.all(Array.from({ length: txs }, (_, i) => b.update((tx) => tx.create("service", service(`batch-${i}`, `batch-${i}`)))));
      });
      const entries = leader.raft.status().lastIndex - before;
      assert.ok(entries >= 1 && entries <= 2, `${txs} transactions took ${entries} raft entries`);
      await converged(c);
      for (const m of c.running()) assert.equal(m.store.view((tx) => tx.find("service").filter((s) => s.id.startsWith("batch-")).length), txs);
    });

    it("pipelines the leader's writes: each stages over the ones in flight, and every member ends alike", async () => {
      await leader.store.update((tx) => tx.create("service", service("svc-p", "pipe")));
      const before = leader.raft.status().lastIndex;
      const bump = (): Promise<number> =>
        leader.store.update((tx) => {
          const s = tx.get("service", "svc-p")!;
          const n = Number(s.spec.annotations.labels?.["n"] ?? "0") + 1;
          tx.update("service", { ...s, spec: { ...s.spec, annotations: { ...s.spec.annotations, labels: { n: String(n) } } } });
          return n;
        });
      const writes = Array.from({ length: 20 }, bump);
      await writes[0];
      const appendedByThen = leader.raft.status().lastIndex - before;
      assert.deepEqual(await Promise.all(writes), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.ok(appendedByThen >= 3, `when the first write committed, ${appendedByThen} entries had been appended`);
      await converged(c);
      const objects = objectsOf(leader);
      for (const f of followers) assert.equal(objectsOf(f), objects);
      assert.equal(leader.store.view((tx) => tx.get("service", "svc-p")!.spec.annotations.labels?.["n"]), "20");
    });

    it("fails a write on a follower with MANAGER_NOT_LEADER naming the leader and its address", async () => {
      const f = followers[1]!;
      await assert.rejects(f.store.update((tx) => tx.create("service", service("svc-f", "nope"))), (err: unknown) => {
        assert.ok(err instanceof ShoalError);
        assert.equal(err.code, "MANAGER_NOT_LEADER");
        assert.equal(err.meta["leader"], leader.id);
        assert.equal(err.meta["leaderAddress"], c.addresses[leader.id]);
        assert.match(err.message, new RegExp(`leader is ${leader.id}`));
        return true;
      });
      assert.equal(f.store.view((tx) => tx.get("service", "svc-f")), undefined);
    });

    it("delivers replicated changes to a watch on a follower in commit order", async () => {
      const f = followers[0]!;
      const watch = f.store.watch({});
      try {
        await leader.store.update((tx) => tx.create("service", service("w-1", "w-1")));
        await leader.store.update((tx) => tx.create("service", service("w-2", "w-2")));
        const second = leader.store.view((tx) => tx.get("service", "w-2"))!;
        await leader.store.update((tx) => tx.update("service", { ...second, spec: { ...second.spec, replicated: { replicas: 5 } } }));
        await leader.store.update((tx) => tx.delete("service", "w-1"));
        const events: StoreEvent[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await watch.next();
          assert.equal(r.done, false);
          events.push(r.value as StoreEvent);
        }
        assert.deepEqual(
          events.map((e) => `${e.action}:${e.object.id}`),
          ["create:w-1", "create:w-2", "update:w-2", "delete:w-1"],
        );
        for (let i = 1; i < events.length; i++) assert.ok(events[i]!.index > events[i - 1]!.index);
      } finally {
        watch.close();
      }
    });

    it("refuses a write whose entry a newer leader replaced as temporary (HTTP 503, try again), not as an internal error", async () => {
      // The raft outcome is forced (a stand-in for the one proposal): replacing an entry for real
      // takes a partition healed before the commit deadline, with an election race in between.
      await whileProposalsFail(leader, new RaftError("RAFT_PROPOSAL_DROPPED", "proposal at 9 (term 2) was replaced by an entry of term 3", { index: 9, term: 2, replacedByTerm: 3 }), async () => {
        await assert.rejects(leader.store.update((tx) => tx.create("service", service("dropped-1", "dropped-1"))), (err: unknown) => {
          assert.ok(err instanceof ShoalError, String(err));
          assert.equal(err.code, "MANAGER_NOT_LEADER");
          assert.equal(err.temporary, true);
          assert.match(err.message, /not applied .*try again/);
          assert.equal(httpErrorOf(err).statusCode, 503);
          return true;
        });
      });
      assert.equal(leader.store.view((tx) => tx.get("service", "dropped-1")), undefined);
      // The next write goes through as usual.
      await leader.store.update((tx) => tx.create("service", service("dropped-2", "dropped-2")));
    });

    it("refuses a write that raft stopped under as MANAGER_STOPPED (HTTP 503, ask another manager), not as an internal error", async () => {
      await whileProposalsFail(leader, new RaftError("RAFT_STOPPED", "raft node is stopped"), async () => {
        await assert.rejects(leader.store.update((tx) => tx.create("service", service("stopped-1", "stopped-1"))), (err: unknown) => {
          assert.ok(err instanceof ShoalError, String(err));
          assert.equal(err.code, "MANAGER_STOPPED");
          assert.equal(httpErrorOf(err).statusCode, 503);
          return true;
        });
      });
    });

    it("refuses a write whose index a snapshot covered before it applied here as temporary, outcome unknown (check before retrying)", async () => {
      await whileProposalsFail(leader, new RaftError("RAFT_UNAVAILABLE", "proposal at 9 was covered by a snapshot; its outcome is unknown", { index: 9, outcomeUnknown: true }), async () => {
        await assert.rejects(leader.store.update((tx) => tx.create("service", service("covered-1", "covered-1"))), (err: unknown) => {
          assert.ok(err instanceof ShoalError, String(err));
          assert.equal(err.code, "MANAGER_NOT_LEADER");
          assert.equal(err.meta["outcomeUnknown"], true);
          assert.match(err.message, /may or may not have applied .*check before retrying/);
          assert.equal(httpErrorOf(err).statusCode, 503);
          return true;
        });
      });
    });

    it("answers a linearizable read on a follower with a write the leader just acknowledged", async () => {
      const f = followers[1]!;
      await leader.store.update((tx) => tx.create("service", service("lin-1", "lin-1")));
      const seen = await f.linearizableView((tx) => tx.get("service", "lin-1"));
      assert.equal(seen?.id, "lin-1");
    });
  });

  describe("a follower with a LeaderForwarder", () => {
    // Stands in for the control API: the follower's actions are proposed on the leader's raft.
    let forwarded = 0;
    // Runs on the leader just before a forwarded entry is proposed (a concurrent writer winning the race).
    let raceFirst: (() => Promise<unknown>) | undefined;
    const c: StoreCluster = new StoreCluster({}, {
      propose: async (actions, opts) => {
        forwarded++;
        const race = raceFirst;
        raceFirst = undefined;
        if (race !== undefined) await race();
        return c.get(opts.leader).proposeValue(actions, opts.signal === undefined ? {} : { signal: opts.signal });
      },
    });
    after(() => c.cleanup());

    it("commits a follower's write through the leader and resolves once the follower applied it; a refused forwarded write fails on the follower", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      const f = c.running().find((m) => m !== leader)!;
      await f.store.update((tx) => tx.create("service", service("fw-1", "fw-1")));
      assert.equal(forwarded, 1);
      const local = f.store.view((tx) => tx.get("service", "fw-1"));
      assert.ok(local !== undefined && local.meta.version.index > 0, "visible on the follower when the write resolves");
      await waitFor(() => leader.store.view((tx) => tx.get("service", "fw-1")) !== undefined);

      // The follower's update is valid against what it read, but the leader commits another update of
      // the same object first: the forwarded entry is refused at apply, on every replica alike.
      raceFirst = () => leader.store.update((tx) => tx.update("service", { ...local, spec: { ...local.spec, replicated: { replicas: 4 } } }));
      await assert.rejects(
        f.store.update((tx) => tx.update("service", { ...local, spec: { ...local.spec, replicated: { replicas: 7 } } })),
        (err: unknown) => err instanceof ShoalError && err.code === "STORE_VERSION_CONFLICT",
      );
      assert.equal(forwarded, 2);
      await converged(c);
      for (const m of c.running()) assert.equal(m.store.view((tx) => tx.get("service", "fw-1"))?.spec.replicated?.replicas, 4);
    });

    it("never forwards a write staged over entries in flight, nor appends it in another term", async () => {
      const leader = await c.leader();
      const f = c.running().find((m) => m !== leader)!;
      const before = forwarded;
      const actions = [{ action: "create" as const, kind: "service" as const, object: { ...service("fw-2", "fw-2"), meta: { version: { index: 0 }, createdAt: 0, updatedAt: 0 } } }];
      const term = leader.raft.status().term;
      const notLeader = (err: unknown): boolean => err instanceof ShoalError && err.code === "MANAGER_NOT_LEADER";
      // A follower's pipeline (it led the entries' term once): the leader's log may not hold them.
      await assert.rejects(f.proposeValue(actions, { after: 1, term }), notLeader);
      assert.equal(forwarded, before, "not forwarded");
      // The leader, asked to build on entries of an earlier term.
      const lastIndex = leader.raft.status().lastIndex;
      await assert.rejects(leader.proposeValue(actions, { after: 1, term: term - 1 }), notLeader);
      assert.equal(leader.raft.status().lastIndex, lastIndex, "nothing appended");
      assert.equal(leader.store.view((tx) => tx.get("service", "fw-2")), undefined);
    });
  });

  describe("a follower whose forwarded write the leader cannot commit in time", () => {
    // The leader takes the call but never answers (a leader buried in work): the follower's commit
    // deadline cancels it, as a gRPC call cancelled on the client.
    const c: StoreCluster = new StoreCluster({ commitTimeoutMs: 300 }, {
      propose: (_actions, opts) =>
        new Promise((_resolve, reject) => {
          opts.signal?.addEventListener("abort", () => reject(new RemoteError({ code: "RPC_CANCELLED", grpcStatus: 1 }, "Cancelled on client")), { once: true });
        }),
    });
    after(() => c.cleanup());

    it("fails with MANAGER_NO_QUORUM, outcome unknown, not with the cancelled call's own error", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      const f = c.running().find((m) => m !== leader)!;
      await assert.rejects(f.store.update((tx) => tx.create("service", service("slow-1", "slow-1"))), noQuorumOutcomeUnknown);
    });
  });

  describe("a follower whose forwarded write commits but is not applied here before the deadline", () => {
    // The leader answers with an index this follower will not reach in time (its log is far
    // behind, say): the wait for the local apply, not the call, runs into the commit deadline.
    const c: StoreCluster = new StoreCluster({ commitTimeoutMs: 300 }, { propose: () => Promise.resolve({ index: 1_000_000 }) });
    after(() => c.cleanup());

    it("fails with MANAGER_NO_QUORUM, outcome unknown, not with a bare 'operation aborted'", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      const f = c.running().find((m) => m !== leader)!;
      await assert.rejects(f.store.update((tx) => tx.create("service", service("unapplied-1", "unapplied-1"))), noQuorumOutcomeUnknown);
    });
  });

  describe("failover", () => {
    const c = new StoreCluster();
    after(() => c.cleanup());

    it("elects a new leader when the leader stops, keeps taking writes, and the restarted old leader catches up to an identical store", async () => {
      await c.startAll([1, 2, 3]);
      const old = await c.leader();
      const events: Array<[number, boolean]> = [];
      for (const m of c.running()) m.onLeadershipChange((isLeader) => events.push([m.id, isLeader]));
      await old.store.update((tx) => tx.create("service", service("before", "before")));
      await c.stop(old.id);

      const next = await c.leader();
      assert.notEqual(next.id, old.id);
      await waitFor(() => events.some(([id, l]) => id === next.id && l), 5000, "the new leader to be told it leads");
      for (let i = 0; i < 5; i++) await next.store.update((tx) => tx.create("service", service(`after-${i}`, `after-${i}`)));

      const back = await c.start(old.id);
      assert.equal(back.isLeader(), false);
      await converged(c);
      const expected = objectsOf(next);
      for (const m of c.running()) assert.equal(objectsOf(m), expected);
      assert.equal(back.store.view((tx) => tx.find("service").length), 6);
    });
  });

  describe("leadership events", () => {
    const c = new StoreCluster();
    after(() => c.cleanup());

    it("tells a new leader it leads only once its store has applied its term's first entry, and with it every entry committed before the term", async () => {
      await c.startAll([1, 2, 3]);
      const old = await c.leader();
      await old.store.update((tx) => tx.create("service", service("before-failover", "before-failover")));
      const seen = new Map<number, { firstOfTerm?: number; appliedWhenTold?: number; hadWrite?: boolean }>();
      for (const m of c.running()) {
        if (m === old) continue;
        const rec: { firstOfTerm?: number; appliedWhenTold?: number; hadWrite?: boolean } = {};
        seen.set(m.id, rec);
        // The core appends its term's first (empty) entry as it becomes leader.
        m.raft.onLeaderChange((lead) => {
          if (lead === m.id) rec.firstOfTerm ??= m.raft.status().lastIndex;
        });
        m.onLeadershipChange((leader) => {
          if (!leader || rec.appliedWhenTold !== undefined) return;
          // (The store counts only entries with actions; the term's first entry is empty.)
          rec.appliedWhenTold = m.raft.status().applied;
          rec.hadWrite = m.store.view((tx) => tx.get("service", "before-failover")) !== undefined;
        });
      }
      await c.stop(old.id);
      const next = await c.leader();
      const rec = seen.get(next.id)!;
      await waitFor(() => rec.appliedWhenTold !== undefined, 5000, "the new leader to be told it leads");
      assert.ok(rec.firstOfTerm !== undefined);
      assert.ok(rec.appliedWhenTold! >= rec.firstOfTerm, `applied ${rec.appliedWhenTold} when told; the term's first entry is ${rec.firstOfTerm}`);
      assert.equal(rec.hadWrite, true, "the write acknowledged by the old leader was in the store when the new leader was told");
      assert.equal(next.leads(), true);
    });
  });

  describe("reads on a follower behind the leader", () => {
    const c = new StoreCluster();
    after(() => c.cleanup());

    it("answers only once its store holds every write acknowledged before the read, and says so when the leader cannot confirm that", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      const f = c.running().find((m) => m !== leader)!;
      await c.stop(f.id);
      // The follower back, but its appends held back: it hears the leader's heartbeats (so it
      // knows the leader) and none of the entries it missed, as after a partition or a restart.
      let holdAppends = true;
      await leader.store.update((tx) => tx.create("service", service("while-away", "while-away")));
      const back = await c.startFiltered(f.id, (inner) => ({
        onMessage: (handler) => inner.onMessage((m) => (holdAppends && m.type === MessageType.App ? undefined : handler(m))),
      }));
      await waitFor(() => back.leaderInfo().id === leader.id, 5000, "the follower to hear the leader");
      assert.equal(back.store.view((tx) => tx.get("service", "while-away")), undefined);

      const unreachable = (err: unknown): boolean => {
        assert.ok(err instanceof ShoalError, String(err));
        assert.equal(err.code, "MANAGER_LEADER_UNREACHABLE");
        assert.match(err.message, /^this manager could not confirm with the leader \(raft id \d+ at 127\.0\.0\.1:\d+\) within \d+\.\d s that what it has stored is current/);
        assert.equal(httpErrorOf(err).statusCode, 503);
        return true;
      };
      await assert.rejects(back.leaderForRead(), unreachable);
      // With wait false (/info) it answers at once, from what it has.
      await back.leaderForRead({ wait: false });

      let answered = false;
      const read = back.leaderForRead().then(() => {
        answered = true;
        return back.store.view((tx) => tx.get("service", "while-away"));
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(answered, false, "no answer while the store lacks an acknowledged write");
      holdAppends = false;
      assert.ok((await read) !== undefined, "the read answered with the write made while it was away");

      // Raft stopped under it (a fatal error does that): refused at once, not after the wait.
      await back.raft.stop();
      const t0 = Date.now();
      await assert.rejects(back.leaderForRead(), (err: unknown) => err instanceof ShoalError && err.code === "MANAGER_STOPPED");
      assert.ok(Date.now() - t0 < 1000, `refused after ${Date.now() - t0} ms`);
    });
  });

  describe("a read request lost on the way to the leader", () => {
    const c = new StoreCluster();
    after(() => c.cleanup());

    it("is asked again: the follower's read barrier resolves instead of failing", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      const f = c.running().find((m) => m !== leader)!;
      await c.stop(f.id);
      // Every ReadIndex request this member sends is counted; the first one is dropped.
      let readRequests = 0;
      const back = await c.startFiltered(f.id, (inner) => ({
        send: (msgs: Message[]) => inner.send(msgs.filter((m) => !(m.type === MessageType.ReadIndex && readRequests++ === 0))),
      }));
      await waitFor(() => back.leaderInfo().id === leader.id, 5000, "the follower to hear the leader");
      await back.raft.readBarrier();
      assert.ok(readRequests >= 2, "the first request was dropped and another one sent");
    });
  });

  describe("lost quorum", () => {
    const c = new StoreCluster({ commitTimeoutMs: 800 });
    after(() => c.cleanup());

    it("fails a write with MANAGER_NO_QUORUM within the deadline when 2 of 3 are stopped, refuses API reads with MANAGER_NO_LEADER, and still answers local views", async () => {
      // Stop the two followers: the survivor is still leader until check-quorum demotes it.
      const { leader, others } = await cutOffLeader(c);

      const t0 = Date.now();
      await assert.rejects(leader.store.update((tx) => tx.create("service", service("lost", "lost"))), (err: unknown) => {
        assert.ok(err instanceof ShoalError, String(err));
        assert.equal(err.code, "MANAGER_NO_QUORUM");
        assert.match(err.message, /^no quorum: cannot commit writes \(1 of 3 managers reachable, 2 needed\): bring the lost managers back; this write may still apply when they are, so check before retrying; if they are gone for good, recover with 'shoal swarm init --force-new-cluster' on a surviving manager/);
        assert.equal(err.meta["outcomeUnknown"], true, "the entry was in the lone leader's log");
        return true;
      });
      const elapsed = Date.now() - t0;
      assert.ok(elapsed < 2000, `failed after ${elapsed} ms`);

      // After check-quorum stepped it down the next write fails too, promptly.
      await waitFor(() => !leader.isLeader(), 3000, "the lone leader to step down");
      const t1 = Date.now();
      await assert.rejects(
        leader.store.update((tx) => tx.create("service", service("lost2", "lost2"))),
        (err: unknown) => err instanceof ShoalError && err.code === "MANAGER_NO_QUORUM" && !err.message.includes("may still apply") && err.message.includes("bring the lost managers back"),
      );
      assert.ok(Date.now() - t1 < 2000);

      // Reads of cluster state through the API wait out an election, then refuse: the store of a
      // member without a leader may be stale.
      const t2 = Date.now();
      const leaderless = (err: unknown): boolean => {
        assert.ok(err instanceof ShoalError, String(err));
        assert.equal(err.code, "MANAGER_NO_LEADER");
        assert.match(err.message, /^The swarm does not have a leader\. .* This manager hears 1 of 3 managers \(2 needed\), so what it has stored may be stale/);
        return true;
      };
      await assert.rejects(leader.leaderForRead(), leaderless);
      assert.ok(Date.now() - t2 >= 300, "waited for a leader first (two election timeouts)");
      const t3 = Date.now();
      await assert.rejects(leader.leaderForRead({ wait: false }), leaderless);
      assert.ok(Date.now() - t3 < 100, "wait false answers at once");

      assert.equal(leader.store.view((tx) => tx.get("service", "kept"))?.id, "kept");
      assert.equal(leader.store.view((tx) => tx.get("service", "lost")), undefined);

      // Quorum returns: the unknown-outcome entries either commit or are replaced, but every
      // replica ends with the same objects (each entry applied once or not at all).
      for (const m of others) await c.start(m.id);
      const next = await c.leader();
      await next.store.update((tx) => tx.create("service", service("healed", "healed")));
      await converged(c);
      for (const m of c.running()) await m.leaderForRead();
      const expected = objectsOf(next);
      for (const m of c.running()) assert.equal(objectsOf(m), expected);
      assert.ok(next.store.view((tx) => tx.get("service", "healed")) !== undefined);
    });
  });

  describe("members removed from the raft cluster", () => {
    const c = new StoreCluster({ commitTimeoutMs: 5000 });
    after(() => c.cleanup());

    it("a demoted one answers that this node is no longer a manager; one removed while it stood as a manager, that it was retired and must rejoin", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      const [demoted, retired] = c.running().filter((m) => m !== leader) as [ReplicatedStore, ReplicatedStore];
      await leader.store.update((tx) => {
        for (const m of c.running()) tx.create("node", managerNode(m.id, m === demoted ? NodeRole.WORKER : NodeRole.MANAGER));
      });
      await converged(c);

      // The leader stops sending to a member once it applied its removal, so the member mostly
      // learns of it from a member that refuses its messages, not by applying it.
      await leader.raft.removeMember(demoted.id);
      await waitFor(() => demoted.raft.removedBy() !== NONE, 5000, "the demoted member to learn of its removal");
      const isDemoted = (err: unknown): boolean => {
        assert.ok(err instanceof ShoalError, String(err));
        assert.equal(err.code, "MANAGER_REMOVED");
        assert.match(err.message, /^This node is not a swarm manager: the swarm demoted it .* Run this command on a manager node/);
        assert.doesNotMatch(err.message, /leave --force|force-new-cluster/);
        return true;
      };
      await assert.rejects(demoted.leaderForRead(), isDemoted);
      // A write is refused at once, not after waiting out the commit deadline for a leader.
      const t0 = Date.now();
      await assert.rejects(demoted.store.update((tx) => tx.create("service", service("late", "late"))), isDemoted);
      assert.ok(Date.now() - t0 < 2500, `refused after ${Date.now() - t0} ms`);

      await leader.raft.removeMember(retired.id);
      await waitFor(() => retired.raft.removedBy() !== NONE, 5000, "the retired member to learn of its removal");
      await assert.rejects(retired.leaderForRead(), (err: unknown) => {
        assert.ok(err instanceof ShoalError, String(err));
        assert.equal(err.code, "MANAGER_REMOVED");
        assert.match(err.message, /^this manager was removed from the swarm's raft cluster \(raft member \d+ refuses its messages\)\. It was retired .* do not recover from it; on this node run 'shoal swarm leave --force', then join again/);
        return true;
      });
      // The leader goes on alone.
      await leader.store.update((tx) => tx.create("service", service("after", "after")));
      assert.deepEqual(leader.raft.status().confState.voters, [leader.id]);
    });
  });

  describe("a leader cut off with writes in flight", () => {
    const c = new StoreCluster({ commitTimeoutMs: 3000 });
    after(() => c.cleanup());

    it("once it steps down, stages writes over what it applied, not over its entries still in flight", async () => {
      const { leader } = await cutOffLeader(c);
      // An update in flight that cannot commit (its proposal waits out the commit deadline).
      const read = leader.store.view((tx) => tx.get("service", "kept"))!;
      const inFlight = leader.store.update((tx) => tx.update("service", { ...read, spec: { ...read.spec, replicated: { replicas: 2 } } }));
      inFlight.catch(() => undefined);
      await waitFor(() => !leader.isLeader(), 3000, "the cut-off leader to step down");
      // What the API would do next: read the committed object, write back with its version.
      const current = leader.store.view((tx) => tx.get("service", "kept"))!;
      assert.equal(current.meta.version.index, read.meta.version.index, "the update in flight is not committed");
      await assert.rejects(
        leader.store.update((tx) => tx.update("service", { ...current, spec: { ...current.spec, replicated: { replicas: 3 } } })),
        (err: unknown) => {
          assert.ok(err instanceof ShoalError, String(err));
          assert.equal(err.code, "MANAGER_NO_QUORUM", `refused for want of a quorum, not as ${err.code}: ${err.message}`);
          return true;
        },
      );
      await assert.rejects(inFlight);
    });
  });

  describe("restart from disk", () => {
    const c = new StoreCluster({ raft: { snapshotEntries: 5, compactKeepEntries: 2 } as never });
    // No snapshot within this test's writes: every member replays its whole log.
    const plain = new StoreCluster();
    after(async () => {
      await c.cleanup();
      await plain.cleanup();
    });

    it("reproduces every member's store from its snapshot and log after all members restart", async () => {
      await c.startAll([1, 2, 3]);
      const leader = await c.leader();
      for (let i = 0; i < 12; i++) await leader.store.update((tx) => tx.create("service", service(`d-${i}`, `d-${i}`)));
      const last = await leader.store.update((tx) => tx.get("service", "d-3")!);
      await leader.store.update((tx) => tx.update("service", { ...last, spec: { ...last.spec, replicated: { replicas: 9 } } }));
      await leader.store.update((tx) => tx.delete("service", "d-0"));
      await converged(c);
      assert.ok(leader.raft.status().applied > 5);
      await restartAllAndCompare(c);
      assert.equal(c.get(1).store.view((tx) => tx.get("service", "d-3"))?.spec.replicated?.replicas, 9);
      assert.equal(c.get(2).store.view((tx) => tx.get("service", "d-0")), undefined);
    });

    it("replays updates logged as patches into the very objects every member held before", async () => {
      await plain.startAll([1, 2, 3]);
      const leader = await plain.leader();
      await leader.store.update((tx) => tx.create("service", service("p-svc", "p-svc")));
      await leader.store.batch(async (b) => {
        for (let i = 1; i <= 5; i++) {
          await b.update((tx) =>
            tx.create("task", { id: `p-${i}`, serviceId: "p-svc", slot: i, nodeId: "", spec: { container: { image: "busybox" } }, status: { timestamp: 0, state: TaskState.NEW }, desiredState: TaskState.RUNNING }),
          );
        }
      });
      // The pipeline's writes, each an update of a committed task: logged as patches.
      for (const [state, nodeId] of [[TaskState.PENDING, ""], [TaskState.ASSIGNED, "n-1"], [TaskState.RUNNING, "n-1"]] as const) {
        await leader.store.batch(async (b) => {
          for (let i = 1; i <= 5; i++) {
            await b.update((tx) => {
              const t = tx.get("task", `p-${i}`)!;
              tx.update("task", { ...t, nodeId, status: { timestamp: state, state, message: TaskState[state] } });
            });
          }
        });
      }
      await converged(plain);
      assert.equal(new Set(plain.running().map(objectsOf)).size, 1, "every member holds the same objects");
      await restartAllAndCompare(plain);
      for (const m of plain.running()) assert.deepEqual(m.store.view((tx) => tx.find("task", { nodeId: "n-1" }).map((t) => t.status.state)), Array(5).fill(TaskState.RUNNING));
    });
  });
});

describe("replication: leaderKnown (3 members, raft tick 20 ms)", function () {
  this.timeout(20_000);
  const c = new StoreCluster();
  after(() => c.cleanup());

  it("waits out an election and resolves once the new leader is known; without quorum, after its bound", async () => {
    await c.startAll([1, 2, 3]);
    const old = await c.leader();
    const oldId = old.id;
    const f = c.running().find((m) => m.id !== oldId)!;
    // Asked the moment the follower gives up on the old leader (the election may take only ms).
    const waiting = new Promise<Promise<void>>((resolve) => {
      const off = f.raft.onLeaderChange((lead) => {
        if (lead !== NONE) return;
        off();
        assert.equal(f.leaderInfo().id, NONE);
        resolve(f.leaderKnown(10_000));
      });
    });
    const t0 = performance.now();
    await c.stop(oldId);
    // The stopped member's own API calls say the manager role is going away here.
    await assert.rejects(old.leaderForRead(), (e: unknown) => e instanceof ShoalError && e.code === "MANAGER_STOPPED" && /manager is stopping .*: ask another manager$/.test(e.message));
    await (await waiting);
    assert.ok(performance.now() - t0 < 9_000, "resolved by the election, not by the bound");
    const lead = f.leaderInfo().id;
    assert.notEqual(lead, NONE);
    assert.notEqual(lead, oldId);
    // Alone, no leader can be elected: resolves after its bound, with none known.
    const other = c.running().find((m) => m.id !== f.id)!;
    await c.stop(other.id);
    await waitFor(() => f.leaderInfo().id === NONE, 5000, "the last member gives up on its leader");
    const t1 = performance.now();
    await f.leaderKnown(300);
    assert.ok(performance.now() - t1 >= 290, "waited its bound");
    assert.equal(f.leaderInfo().id, NONE);
  });
});

describe("replication: a member that has just restarted (3 members, raft tick 20 ms)", function () {
  this.timeout(30_000);
  const c = new StoreCluster();
  after(() => c.cleanup());

  it("answers API reads once the leader reaches it, not 'no leader' while the leader's stream to it is still in its reconnect backoff", async () => {
    await c.startAll([1, 2, 3]);
    const leader = await c.leader();
    const f = c.running().find((m) => m !== leader)!;
    await c.stop(f.id);
    // Down long enough for the leader's reconnect backoff to it to grow to its longest (2 s),
    // far past two election timeouts (400 ms here).
    await new Promise((r) => setTimeout(r, 4_000));
    const back = await c.start(f.id);
    await back.leaderForRead();
    assert.equal(back.leaderInfo().id, leader.id);
  });
});
