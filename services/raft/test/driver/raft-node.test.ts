import { strict as assert } from "node:assert";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { silentLogger, systemClock, type Clock } from "@shoal/common";
import { RaftError } from "../../src/core/errors.js";
import { RaftNode } from "../../src/driver/raft-node.js";
import { StateType } from "../../src/core/types.js";
import { Cluster, KvStateMachine, code, put, waitFor } from "./helpers.js";

/** Makes the member's next synced storage write wait `ms` before it starts. */
function holdFirstSyncedSave(node: RaftNode, ms: number): void {
  type Save = (u: unknown, sync: boolean) => Promise<void>;
  const level = (node as unknown as { level: { save: Save } }).level;
  const save = level.save.bind(level);
  let slow = true;
  level.save = async (u, sync) => {
    if (slow && sync) {
      slow = false;
      await new Promise((r) => setTimeout(r, ms));
    }
    return save(u, sync);
  };
}

describe("RaftNode: three members in one process over gRPC", function () {
  this.timeout(30000);
  let c: Cluster;

  beforeEach(async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
  });
  afterEach(async () => {
    await c.cleanup();
  });

  it("elects one leader and applies proposals in the same order on every member", async () => {
    const l = await c.leader();
    const n = 200;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => l.node!.propose(put(`k${i}`, `v${i}`))));
    // Resolved means applied locally: the leader's state machine already has every entry.
    assert.equal(l.sm.log.length, n);
    const indexes = results.map((r) => r.index);
    assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b), "indexes follow proposal order");
    await waitFor("followers applied", () => c.running().every((m) => m.sm.log.length === n));
    for (const m of c.running()) assert.deepEqual(m.sm.log, l.sm.log);
    assert.deepEqual(
      l.sm.log,
      Array.from({ length: n }, (_, i) => `k${i}=v${i}`),
    );
    const st = l.node!.status();
    assert.equal(st.state, StateType.Leader);
    assert.deepEqual(st.addresses, c.addresses);
  });

  it("the leader applies entries already durable here while it writes newer ones", async () => {
    const l = await c.leader();
    await l.node!.propose(put("warm", "1"));
    // The leader's saves of entries carrying a held key wait until that key is released.
    type Save = (u: { entries?: { data: Uint8Array }[] }, sync: boolean) => Promise<void>;
    const release = new Map<string, () => void>();
    const held = new Map<string, Promise<void>>();
    for (const key of ["x-key", "b-key"]) held.set(key, new Promise<void>((resolve) => release.set(key, resolve)));
    const level = (l.node as unknown as { level: { save: Save } }).level;
    const save = level.save.bind(level);
    level.save = async (u, sync) => {
      const text = (u.entries ?? []).map((e) => Buffer.from(e.data).toString("latin1")).join(" ");
      for (const [key, p] of held) if (text.includes(key)) await p;
      return save(u, sync);
    };
    // x: the followers store it and answer, so it commits while the leader's own write of it
    // waits (and its Ready loop with it); b is proposed meanwhile and queues behind.
    try {
      const before = l.node!.status().commit;
      const x = l.node!.propose(put("x-key", "1"));
      await waitFor("x committed by the followers' answers", () => l.node!.status().commit > before);
      const b = l.node!.propose(put("b-key", "1"));
      await new Promise((r) => setTimeout(r, 50));
      // Released, x is durable here; the next Ready writes b (held) and commits x.
      release.get("x-key")!();
      const settled = await Promise.race([x.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2_000))]);
      assert.ok(settled, "x applied and answered while the leader's write of b is held");
      assert.ok(l.sm.log.includes("x-key=1"));
      assert.ok(!l.sm.log.includes("b-key=1"), "b is not applied before the leader wrote it");
      release.get("b-key")!();
      await b;
    } finally {
      for (const r of release.values()) r();
    }
    await waitFor("every member applied b", () => c.running().every((m) => m.sm.log.includes("b-key=1")));
  });

  it("warns of a Ready that took half the shortest election timeout or more, naming the time its synced write took", async () => {
    const l = await c.leader();
    const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
    const log = (l.node as unknown as { log: { warn: (obj: Record<string, unknown>, msg: string) => void } }).log;
    log.warn = (obj, msg) => void warnings.push({ obj, msg });
    holdFirstSyncedSave(l.node!, 300);
    // Held past this cluster's election timeout (20 ms ticks): the leadership may move meanwhile,
    // and the entry with it; only the warning matters here.
    l.node!.propose(put("slow", "1")).catch(() => undefined);
    const slowReady = /a Ready took \d+ ms \(\d+ ms of it waiting for its synced write\)/;
    await waitFor("a slow-Ready warning", () => warnings.some((x) => slowReady.test(x.msg)));
    const w = warnings.find((x) => slowReady.test(x.msg))!;
    assert.ok((w.obj["ms"] as number) >= 290 && (w.obj["writeMs"] as number) >= 290, JSON.stringify(w.obj));
    assert.equal(w.obj["entries"], 1);
  });

  /** Collects each running member's warnings. */
  const captureWarnings = (): Map<number, { obj: Record<string, unknown>; msg: string }[]> => {
    type Warn = (obj: Record<string, unknown>, msg: string) => void;
    const warnings = new Map<number, { obj: Record<string, unknown>; msg: string }[]>();
    for (const m of c.running()) {
      const list: { obj: Record<string, unknown>; msg: string }[] = [];
      warnings.set(m.id, list);
      (m.node as unknown as { log: { warn: Warn } }).log.warn = (obj, msg) => void list.push({ obj, msg });
    }
    return warnings;
  };
  const sentLate = /raft: leader sent nothing to \d member\(s\) for up to \d+ ms; its event loop was held or short of CPU/;
  const heard = /raft: heard from the leader after \d+ ms of silence/;

  it("a leader whose event loop was held says it sent nothing meanwhile, and its followers that they heard nothing", async () => {
    const l = await c.leader();
    const warnings = captureWarnings();
    // Every member runs in this process: hold it over half the election timeout (200 ms), under
    // its shortest (200 ms).
    const until = performance.now() + 150;
    while (performance.now() < until);
    await waitFor("the leader's late-send warning", () => warnings.get(l.id)!.some((x) => sentLate.test(x.msg)));
    const w = warnings.get(l.id)!.find((x) => sentLate.test(x.msg))!;
    const late = w.obj["late"] as { to: number; ms: number }[];
    assert.ok(late.length >= 1 && late.every((x) => x.ms >= 100 && x.to !== l.id), JSON.stringify(w.obj));
    await waitFor("a follower's silence warning", () => c.running().some((m) => m.id !== l.id && warnings.get(m.id)!.some((x) => heard.test(x.msg) && x.obj["leader"] === l.id)));
    // Counted too, for the metrics: the leader's silences and a follower's.
    const ls = l.node!.silenceStats();
    assert.ok(ls.leaderSilences >= 1 && ls.longestLeaderSilenceMs >= 100, JSON.stringify(ls));
    const fs = c.running().filter((m) => m.id !== l.id).map((m) => m.node!.silenceStats());
    assert.ok(fs.some((s) => s.followerSilences >= 1 && s.longestFollowerSilenceMs >= 100), JSON.stringify(fs));
    // Warnings are for silences only: in 300 ms of heartbeats every 20 ms, at most a stall of
    // this process (a busy CI host) may add one per member.
    for (const list of warnings.values()) list.length = 0;
    await new Promise((r) => setTimeout(r, 300));
    for (const [id, list] of warnings) assert.ok(list.filter((x) => sentLate.test(x.msg) || heard.test(x.msg)).length <= 1, `member ${id}: ${JSON.stringify(list)}`);
  });

  it("a leader keeps sending heartbeats while its synced write is slow: no follower's election timer runs out", async () => {
    const l = await c.leader();
    const term = l.node!.status().term;
    const warnings = captureWarnings();
    // Longer than every follower's election timeout (200-400 ms in this cluster).
    holdFirstSyncedSave(l.node!, 450);
    await l.node!.propose(put("slow", "1"));
    assert.equal(l.node!.status().state, StateType.Leader);
    assert.equal(l.node!.status().term, term, "no election");
    for (const m of c.running()) assert.equal(m.node!.status().lead, l.id);
    // Without heartbeats during the write, the followers would have heard nothing for about 450 ms.
    for (const [id, list] of warnings) {
      const silences = list.filter((x) => heard.test(x.msg)).map((x) => x.obj["ms"] as number);
      assert.ok(silences.every((ms) => ms < 300), `member ${id}: silences of ${silences.join(", ")} ms`);
    }
  });

  it("refuses a proposal on a follower with RAFT_NOT_LEADER naming the leader and its address", async () => {
    const l = await c.leader();
    const f = c.running().find((m) => m.id !== l.id)!;
    await assert.rejects(f.node!.propose(put("a", "1")), (err: unknown) => {
      assert.equal(code(err), "RAFT_NOT_LEADER");
      const meta = (err as RaftError).meta;
      assert.equal(meta["leader"], l.id);
      assert.equal(meta["leaderAddress"], c.addresses[l.id]);
      return true;
    });
  });

  it("tells a proposer where its entry went before propose() returns, and refuses a proposal for another term", async () => {
    const l = await c.leader();
    const term = l.node!.status().term;
    const appended: { index: number; term: number }[] = [];
    const committed = l.node!.propose(put("a", "1"), { term, onAppended: (at) => appended.push(at) });
    assert.equal(appended.length, 1, "reported synchronously");
    assert.deepEqual(await committed, appended[0]);
    assert.equal(appended[0]!.term, term);
    const before = l.sm.log.length;
    await assert.rejects(l.node!.propose(put("b", "2"), { term: term - 1, onAppended: (at) => appended.push(at) }), (err: unknown) => code(err) === "RAFT_NOT_LEADER");
    assert.equal(appended.length, 1, "nothing appended for another term");
    await l.node!.propose(put("c", "3"));
    assert.deepEqual(l.sm.log.slice(before), ["c=3"]);
  });

  it("elects a new leader after the leader stops; the restarted member catches up and keeps its state", async () => {
    const l1 = await c.leader();
    for (let i = 0; i < 20; i++) await l1.node!.propose(put(`a${i}`, "x"));
    const changes: number[] = [];
    const other = c.running().find((m) => m.id !== l1.id)!;
    const unsubscribe = other.node!.onLeaderChange((lead) => changes.push(lead));
    await c.stop(l1.id);
    const l2 = await c.leader();
    assert.notEqual(l2.id, l1.id);
    await l2.node!.propose(put("after", "failover"));
    assert.ok(changes.includes(l2.id), "onLeaderChange reported the new leader");
    unsubscribe();
    await assert.rejects(l1.node?.propose(put("x", "y")) ?? Promise.reject(new RaftError("RAFT_STOPPED", "stopped")), (e) => code(e) === "RAFT_STOPPED");

    const back = await c.start(l1.id);
    await waitFor("restarted member caught up", () => back.sm.data.get("after") === "failover");
    assert.equal(back.sm.log.length, 21);
    assert.deepEqual(back.sm.log, l2.sm.log);
    // It rejoins as a follower of the current leader.
    await c.leader();
    await l2.node!.propose(put("later", "1"));
    await waitFor("restarted member applies new entries", () => back.sm.data.get("later") === "1");
  });

  it("serves read barriers on the leader and on a follower after a write", async () => {
    const l = await c.leader();
    const f = c.running().find((m) => m.id !== l.id)!;
    await l.node!.propose(put("r", "1"));
    await l.node!.readBarrier();
    assert.equal(l.sm.data.get("r"), "1");
    // A follower's barrier goes through the leader and waits for the follower to apply.
    await f.node!.readBarrier();
    assert.equal(f.sm.data.get("r"), "1");
    // Concurrent barriers share read-index rounds; each still sees the write that preceded it.
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await l.node!.propose(put(`w${i}`, "1"));
        const m = i % 2 === 0 ? f : l;
        await m.node!.readBarrier();
        assert.equal(m.sm.data.get(`w${i}`), "1");
      }),
    );
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(l.node!.readBarrier({ signal: ac.signal }), (e) => code(e) === "RAFT_TIMEOUT");
  });

  it("rejects a pending leadership transfer with RAFT_STOPPED when stopped", async () => {
    const l = await c.leader();
    // 99 is not a member: the transfer can never complete.
    const pending = assert.rejects(l.node!.transferLeadership(99), (e) => code(e) === "RAFT_STOPPED");
    await c.stop(l.id);
    await pending;
  });

  it("transfers leadership to a named member", async () => {
    const l = await c.leader();
    const target = c.running().find((m) => m.id !== l.id)!;
    await l.node!.propose(put("t", "1"));
    await l.node!.transferLeadership(target.id);
    const l2 = await c.leader();
    assert.equal(l2.id, target.id);
    await target.node!.propose(put("t", "2"));
    await waitFor("old leader applies", () => l.sm.data.get("t") === "2");
  });

  it("rejects pending proposals with RAFT_STOPPED when stopped, and refuses new calls", async () => {
    const l = await c.leader();
    await Promise.all(c.running().filter((m) => m.id !== l.id).map((m) => c.stop(m.id)));
    // Without a quorum the entry cannot commit; the leader has not yet noticed (check-quorum waits an election timeout).
    const node = l.node!;
    const rejected = assert.rejects(node.propose(put("never", "1")), (e) => code(e) === "RAFT_STOPPED");
    await c.stop(l.id);
    await rejected;
    await assert.rejects(node.readBarrier(), (e) => code(e) === "RAFT_STOPPED");
    await assert.rejects(node.transferLeadership(99), (e) => code(e) === "RAFT_STOPPED");
    assert.equal(l.sm.data.get("never"), undefined);
  });

  it("rejects a proposal not applied within its timeoutMs, saying the outcome is unknown", async () => {
    const l = await c.leader();
    const node = l.node!;
    const inTime = await node.propose(put("in-time", "1"), { timeoutMs: 5000 });
    assert.ok(inTime.index > 0);
    await assert.rejects(node.propose(put("bad", "1"), { timeoutMs: -1 }), (e) => code(e) === "RAFT_INVALID_ARGUMENT");
    // Without a quorum the entry cannot commit; the leader steps down only after an election
    // timeout (200 ms here), so the 60 ms timeout is what ends the wait.
    await Promise.all(c.running().filter((m) => m.id !== l.id).map((m) => c.stop(m.id)));
    const started = performance.now();
    const late = node.propose(put("late", "1"), { timeoutMs: 60 });
    const guard = new Promise((_, reject) => setTimeout(() => reject(new Error("not rejected within 2 s")), 2000).unref());
    await assert.rejects(
      Promise.race([late, guard]),
      (e: unknown) => code(e) === "RAFT_TIMEOUT" && (e as RaftError).meta["outcomeUnknown"] === true && /before its timeout/.test((e as Error).message),
    );
    assert.ok(performance.now() - started >= 60, "not rejected before its timeout");
  });

  it("rejects a proposal aborted by its signal, saying the outcome is unknown", async () => {
    const l = await c.leader();
    const ac = new AbortController();
    const p = l.node!.propose(put("s", "1"), { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (e: unknown) => code(e) === "RAFT_TIMEOUT" && (e as RaftError).meta["outcomeUnknown"] === true);
  });
});

describe("RaftNode membership and snapshots", function () {
  this.timeout(40000);
  let c: Cluster;

  afterEach(async () => {
    await c.cleanup();
  });

  it("adds a learner that catches up from a snapshot after compaction, promotes it, then removes a member", async () => {
    c = new Cluster({ snapshotEntries: 20, compactKeepEntries: 5 });
    await c.allocate([1, 2, 3, 4]);
    const initial = c.peersOf([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, { peers: initial })));
    const l = await c.leader();
    for (let i = 0; i < 60; i++) await l.node!.propose(put(`k${i}`, `v${i}`));

    await l.node!.addMember(4, c.addresses[4]!, { learner: true });
    assert.deepEqual(l.node!.status().confState.learners, [4]);
    // The joiner knows only the current members' addresses; everything else comes from the leader.
    const joiner = await c.start(4, { join: true, peers: initial });
    await waitFor("joiner caught up", () => joiner.sm.log.length === 60, 15000);
    assert.ok(joiner.sm.restores >= 1, "the joiner started from a snapshot");
    assert.deepEqual(joiner.sm.log, l.sm.log);
    assert.deepEqual(joiner.node!.status().confState.voters, [1, 2, 3]);

    await l.node!.addMember(4, c.addresses[4]!);
    assert.deepEqual([...l.node!.status().confState.voters].sort(), [1, 2, 3, 4]);
    await waitFor("joiner sees itself a voter", () => joiner.node!.status().confState.voters.includes(4));
    assert.equal(joiner.node!.status().addresses[4], c.addresses[4]);

    const victim = [1, 2, 3].find((id) => id !== l.id)!;
    await l.node!.removeMember(victim);
    assert.ok(!l.node!.status().confState.voters.includes(victim));
    assert.ok(l.node!.status().confState.removed.includes(victim));
    await c.stop(victim);
    await l.node!.propose(put("post", "remove"));
    await waitFor("remaining members apply", () => c.running().every((m) => m.sm.data.get("post") === "remove"));
    // A removed ID is never accepted again.
    await assert.rejects(l.node!.addMember(victim, c.addresses[victim]!), (e) => code(e) === "RAFT_MEMBER_REMOVED");
  });

  for (const encrypted of [false, true]) {
    it(`with keepSnapshotBytes 0 snapshots leave memory once durable, and a joiner catches up from one read back from disk${encrypted ? " (encrypted at rest)" : ""}`, async () => {
      c = new Cluster({ snapshotEntries: 10, compactKeepEntries: 2, keepSnapshotBytes: 0, ...(encrypted ? { encryptionKey: Buffer.alloc(32, 5) } : {}) });
      await c.allocate([1, 2, 3, 4]);
      const initial = c.peersOf([1, 2, 3]);
      await Promise.all([1, 2, 3].map((id) => c.start(id, { peers: initial })));
      const l = await c.leader();
      for (let i = 0; i < 35; i++) await l.node!.propose(put(`k${i}`, `v${i}`));
      // The driver's in-memory log (private) keeps the snapshot's metadata but not its data.
      const memSnapshot = (m: typeof l) => (m.node as unknown as { mem: { snapshot(): { metadata: { index: number }; data: Uint8Array } } }).mem.snapshot();
      await waitFor("the leader's snapshot data left memory", () => memSnapshot(l).metadata.index > 0 && memSnapshot(l).data.length === 0);

      await l.node!.addMember(4, c.addresses[4]!, { learner: true });
      const joiner = await c.start(4, { join: true, peers: initial });
      await waitFor("joiner caught up", () => joiner.sm.log.length === 35, 15_000);
      assert.ok(joiner.sm.restores >= 1, "the joiner started from a snapshot");
      assert.deepEqual(joiner.sm.log, l.sm.log);
      await waitFor("the joiner's received snapshot left memory", () => memSnapshot(joiner).data.length === 0);

      // A restart restores from the snapshot on disk and then drops its data from memory too.
      await c.stop(4);
      const back = await c.start(4, { join: true, peers: initial });
      assert.equal(back.sm.restores, 1);
      await waitFor("restarted joiner has its state", () => back.sm.log.length === 35);
      assert.deepEqual(back.sm.log, l.sm.log);
      assert.equal(memSnapshot(back).data.length, 0);
    });
  }

  it("a member added before any compaction still learns the initial configuration", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3, 4]);
    const initial = c.peersOf([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, { peers: initial })));
    const l = await c.leader();
    for (let i = 0; i < 5; i++) await l.node!.propose(put(`k${i}`, "v"));
    await l.node!.addMember(4, c.addresses[4]!);
    const joiner = await c.start(4, { join: true, peers: initial });
    await waitFor("joiner caught up", () => joiner.sm.log.length === 5);
    // The bootstrap voters live only in the index-0 snapshot; the joiner must not miss them.
    await waitFor("joiner knows all voters", () => [...joiner.node!.status().confState.voters].sort().join() === "1,2,3,4");
  });

  it("a slow snapshot is encoded off the Ready loop: writes commit meanwhile, and it is saved afterwards", async () => {
    // A state machine whose snapshot takes 1.5 s to encode (as a large store's does), the state
    // captured when it is asked for.
    let asked = 0;
    let finished = 0;
    class SlowSnapshots extends KvStateMachine {
      override snapshot(): Promise<Uint8Array> {
        asked++;
        const state = super.snapshot() as Uint8Array;
        return new Promise((resolve) =>
          setTimeout(() => {
            finished++;
            resolve(state);
          }, 1500),
        );
      }
    }
    c = new Cluster({ snapshotEntries: 10, compactKeepEntries: 2 });
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, {}, new SlowSnapshots())));
    const l = await c.leader();
    for (let i = 0; i < 12; i++) await l.node!.propose(put(`k${i}`, `${i}`));
    assert.ok(asked >= 1 && finished === 0, "a snapshot is being encoded");
    // Writes and leadership carry on while it is.
    const t0 = Date.now();
    for (let i = 12; i < 30; i++) await l.node!.propose(put(`k${i}`, `${i}`));
    assert.equal(finished, 0, `18 writes committed while the snapshot was encoding (${Date.now() - t0} ms)`);
    assert.equal(l.node!.status().lead, l.id);
    const f = c.running().find((m) => m.id !== l.id)!;
    await waitFor("follower applied", () => f.sm.log.length === 30);
    await waitFor("the snapshots finished", () => finished >= 3, 10_000);
    // A restarted member starts from its saved snapshot, then replays the entries after it.
    await c.stop(f.id);
    const back = await c.start(f.id);
    assert.equal(back.sm.restores, 1);
    await waitFor("restarted member has its state", () => back.sm.log.length === 30);
    assert.deepEqual(back.sm.log, l.sm.log);
  });

  it("snapshots once the applied entries hold snapshotBytes, and keeps a tail within compactKeepBytes", async () => {
    let taken = 0;
    class CountedSnapshots extends KvStateMachine {
      override snapshot(): Uint8Array {
        const data = super.snapshot() as Uint8Array;
        taken++;
        return data;
      }
    }
    // Entry counts alone would never snapshot (a million) nor compact (a thousand kept).
    c = new Cluster({ snapshotEntries: 1_000_000, snapshotBytes: 8_000, compactKeepEntries: 1_000, compactKeepBytes: 2_000 });
    await c.allocate([1, 2, 3, 4]);
    const initial = c.peersOf([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, { peers: initial }, new CountedSnapshots())));
    const l = await c.leader();
    for (let i = 0; i < 40; i++) await l.node!.propose(put(`k${i}`, "v".repeat(400)));
    await waitFor("a snapshot by bytes", () => taken >= 3);
    // What the metrics show: snapshots this member saved, and the log behind the last one.
    await waitFor("the leader counts the snapshots it saved", () => l.node!.snapshotStats().taken >= 1);
    const stats = l.node!.snapshotStats();
    assert.equal(stats.thresholdBytes, 8_000);
    assert.ok(stats.lastBytes > 0 && stats.logBytesSinceSnapshot < stats.thresholdBytes, JSON.stringify(stats));
    // The leader keeps about 2 KB of entries behind its latest snapshot, not a thousand entries.
    await waitFor("the log compacted", () => l.node!.status().firstIndex > 25);
    assert.ok(l.node!.status().lastIndex - l.node!.status().firstIndex < 25, "the tail left is a few entries");
    await l.node!.propose(put("last", "x"));
    await l.node!.addMember(4, c.addresses[4]!, { learner: true });
    const joiner = await c.start(4, { join: true, peers: initial });
    await waitFor("joiner caught up", () => joiner.sm.log.length === 41, 15_000);
    assert.ok(joiner.sm.restores >= 1, "the joiner started from a snapshot");
    assert.deepEqual(joiner.sm.log, l.sm.log);
  });

  it("setLogRetention changes the snapshot interval and the kept tail while running, and resets them", async () => {
    const taken = new Map<number, number>();
    class CountedSnapshots extends KvStateMachine {
      constructor(private readonly id: number) {
        super();
      }
      override snapshot(): Uint8Array {
        taken.set(this.id, (taken.get(this.id) ?? 0) + 1);
        return super.snapshot() as Uint8Array;
      }
    }
    c = new Cluster({ snapshotEntries: 1_000_000, compactKeepEntries: 1_000 });
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, {}, new CountedSnapshots(id))));
    const l = await c.leader();
    const writeAll = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) await l.node!.propose(put(`k${i}`, `${i}`));
      await waitFor("every member applied", () => c.running().every((m) => m.sm.log.length === to));
    };
    await writeAll(0, 20);
    assert.equal(taken.size, 0, "no snapshot at the start's interval");

    for (const m of c.running()) assert.throws(() => m.node!.setLogRetention({ snapshotEntries: 0 }), (e) => code(e) === "RAFT_INVALID_ARGUMENT");
    for (const m of c.running()) m.node!.setLogRetention({ snapshotEntries: 10, compactKeepEntries: 0 });
    // Already 20 entries past the last snapshot: each member snapshots without waiting for a write.
    await waitFor("every member snapshotted", () => [1, 2, 3].every((id) => (taken.get(id) ?? 0) >= 1));
    await writeAll(20, 45);
    await waitFor("the leader compacted behind its snapshot", () => l.node!.status().firstIndex > 30);
    const counts = [1, 2, 3].map((id) => taken.get(id) ?? 0);
    assert.ok(counts.every((n) => n >= 3), `snapshots every 10 entries (${counts.join(", ")})`);

    // Left out: back to what the node started with (a million entries), so no more snapshots.
    for (const m of c.running()) m.node!.setLogRetention({});
    await new Promise((r) => setTimeout(r, 200));
    const before = [1, 2, 3].map((id) => taken.get(id) ?? 0);
    await writeAll(45, 70);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([1, 2, 3].map((id) => taken.get(id) ?? 0), before);
  });

  it("the leader keeps behind a snapshot only the entries its followers lack", async () => {
    // A thousand entries may be kept, but the followers have them all: the leader keeps none.
    c = new Cluster({ snapshotEntries: 10, compactKeepEntries: 1_000 });
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    const f = c.running().find((m) => m.id !== l.id)!;
    for (let i = 0; i < 25; i++) {
      await l.node!.propose(put(`k${i}`, `${i}`));
      await waitFor("followers applied", () => c.running().every((m) => m.sm.log.length === i + 1));
    }
    await waitFor("the leader's log compacted", () => l.node!.status().firstIndex > 10);

    // A follower that is down lacks entries: they stay (within the bounds), and it catches up
    // from them when it is back, with no snapshot sent.
    const lacksFrom = f.node!.status().lastIndex + 1;
    await c.stop(f.id);
    for (let i = 25; i < 60; i++) await l.node!.propose(put(`k${i}`, `${i}`));
    // Snapshots are taken in the background; give the last ones time to compact.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(l.node!.status().firstIndex <= lacksFrom, `the leader kept what the stopped follower lacks (from ${lacksFrom}; first index ${l.node!.status().firstIndex})`);
    const back = await c.start(f.id);
    const restoresAtStart = back.sm.restores;
    await waitFor("the follower caught up", () => back.sm.log.length === 60);
    assert.equal(back.sm.restores, restoresAtStart, "caught up from entries, not from a snapshot");
    assert.deepEqual(back.sm.log, l.sm.log);
  });

  it("lets the state machine's snapshot encoding go before the snapshot is sealed and saved", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    class PartsSnapshots extends KvStateMachine {
      readonly encodings: WeakRef<Uint8Array>[] = [];
      override snapshot(): Uint8Array[] {
        const part = Buffer.from(super.snapshot() as Uint8Array);
        this.encodings.push(new WeakRef(part));
        return [part];
      }
    }
    c = new Cluster({ snapshotEntries: 5, compactKeepEntries: 1 });
    await c.allocate([1, 2, 3]);
    const members = await Promise.all([1, 2, 3].map((id) => c.start(id, {}, new PartsSnapshots())));
    // Each member's save of a snapshot first collects garbage (a turn later, so that no WeakRef
    // is kept alive by the current job) and asks whether that member's encodings are gone.
    const heldAtSave: boolean[] = [];
    for (const m of members) {
      const sm = m.sm as PartsSnapshots;
      const level = (m.node as unknown as { level: { save(u: { snapshot?: unknown }, sync: boolean): Promise<void> } }).level;
      const save = level.save.bind(level);
      level.save = async (u, sync) => {
        if (u.snapshot !== undefined && sm.encodings.length > 0) {
          await new Promise((r) => setTimeout(r, 0));
          gc();
          heldAtSave.push(sm.encodings.some((w) => w.deref() !== undefined));
        }
        return save(u, sync);
      };
    }
    const l = await c.leader();
    for (let i = 0; i < 12; i++) await l.node!.propose(put(`k${i}`, `${i}`));
    await waitFor("snapshots saved", () => heldAtSave.length >= 3);
    assert.deepEqual(heldAtSave.filter((h) => h), [], "no snapshot encoding was still held when its snapshot was saved");
  });

  it("start() resolves only once a restarted member has applied every entry its log held as committed, a membership change among them", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3, 4]);
    const initial = c.peersOf([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, { peers: initial })));
    const l = await c.leader();
    for (let i = 0; i < 5; i++) await l.node!.propose(put(`before${i}`, "v"));
    // Applying a membership change awaits the write of members.json: the replay is not one step.
    await l.node!.addMember(4, c.addresses[4]!, { learner: true });
    for (let i = 0; i < 5; i++) await l.node!.propose(put(`after${i}`, "v"));
    const f = c.running().find((m) => m.id !== l.id)!;
    await waitFor("follower applied", () => f.sm.log.length === 10);
    await c.stop(f.id);
    const back = await c.start(f.id, { peers: initial });
    assert.equal(back.sm.log.length, 10, `applied when start() resolved: ${back.sm.log.join(", ")}`);
    assert.deepEqual(back.node!.status().confState.learners, [4]);
  });

  it("start() rejects when replaying the log fails, and leaves nothing open: the member starts again afterwards", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    for (let i = 0; i < 3; i++) await l.node!.propose(put(`k${i}`, "v"));
    const f = c.running().find((m) => m.id !== l.id)!;
    await waitFor("follower applied", () => f.sm.log.length === 3);
    await c.stop(f.id);
    class Failing extends KvStateMachine {
      override apply(): void {
        throw new Error("disk on fire");
      }
    }
    await assert.rejects(c.start(f.id, {}, new Failing()), (err: unknown) => code(err) === "RAFT_STOPPED" && /disk on fire/.test(String(err)));
    // Its port and its LevelDB lock were released.
    const back = await c.start(f.id);
    assert.equal(back.sm.log.length, 3);
  });

  it("a restarted member restores from its own snapshot and replays the entries after it", async () => {
    c = new Cluster({ snapshotEntries: 10, compactKeepEntries: 2 });
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    for (let i = 0; i < 35; i++) await l.node!.propose(put(`k${i}`, `${i}`));
    const f = c.running().find((m) => m.id !== l.id)!;
    await waitFor("follower applied", () => f.sm.log.length === 35);
    await c.stop(f.id);
    const back = await c.start(f.id);
    assert.equal(back.sm.restores, 1);
    await waitFor("restarted member has its state", () => back.sm.log.length === 35);
    assert.deepEqual(back.sm.log, l.sm.log);
  });
});

describe("RaftNode: ticks after a stall", () => {
  it("takes a late tick (the event loop was held) after the I/O that waited with it, an on-time tick at once", async () => {
    const c = new Cluster();
    await c.allocate([1]);
    let t = 0;
    let fire: (() => void) | undefined;
    const clock: Clock = {
      now: () => Date.now(),
      monotonicMs: () => t,
      setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
      setInterval: (fn) => {
        fire = fn;
        return { cancel: () => (fire = undefined) };
      },
    };
    const opts = { id: 1, dataDir: join(c.root, "m1"), listen: c.addresses[1]!, peers: { ...c.addresses }, tickMs: 20 };
    const node = await RaftNode.start(opts, { stateMachine: new KvStateMachine(), logger: silentLogger(), clock });
    try {
      const raw = (node as unknown as { raw: { tick(): void } }).raw;
      const tick = raw.tick.bind(raw);
      let ticks = 0;
      raw.tick = () => {
        ticks++;
        tick();
      };
      const onTime = (): void => {
        t += 20;
        fire!();
      };
      onTime();
      onTime();
      assert.equal(ticks, 2);
      t += 1_000;
      fire!();
      assert.equal(ticks, 2, "a late tick waits for the I/O polled after timers");
      await new Promise((r) => setImmediate(r));
      assert.equal(ticks, 3);
      onTime();
      assert.equal(ticks, 4);
    } finally {
      await node.stop();
      await c.cleanup();
    }
  });
});

describe("RaftNode: a leader whose address refuses connections", function () {
  this.timeout(60000);
  it("is replaced well before any follower's election timeout could run out", async () => {
    // 3 s to 6 s election timeouts (150 ticks of 20 ms): only the transport's report that the
    // stopped leader's address refuses connections can bring an election sooner.
    const c = new Cluster({ electionTicks: 150, tickMs: 20 });
    try {
      await c.allocate([1, 2, 3]);
      await Promise.all([1, 2, 3].map((id) => c.start(id)));
      const l1 = await c.leader(30_000);
      await l1.node!.propose(put("before", "1"));
      const stopped = Date.now();
      await c.stop(l1.id);
      const l2 = await c.leader(30_000);
      const tookMs = Date.now() - stopped;
      assert.notEqual(l2.id, l1.id);
      assert.ok(tookMs < 2_500, `the new leader took ${tookMs} ms; the shortest election timeout is 3,000 ms`);
      await l2.node!.propose(put("after", "1"));
      assert.equal(l2.sm.data.get("before"), "1");
    } finally {
      await c.cleanup();
    }
  });
});

describe("RaftNode: a live leader whose address refuses one follower (a one-way block)", function () {
  this.timeout(60000);
  it("is not forgotten by that follower on each refused reconnect while its messages arrive", async () => {
    // Member 2 dials member 1 at an address nothing listens on, as through a firewall rule that
    // rejects; member 1 reaches 2 as usual. Member 1 has the short election timeout, so it leads.
    const c = new Cluster({ tickMs: 20 });
    try {
      await c.allocate([1, 2, 3, 9]);
      const peers = c.peersOf([1, 2, 3]);
      await c.start(1, { peers, electionTicks: 10 });
      await c.start(3, { peers, electionTicks: 150 });
      const l = await c.leader(30_000);
      assert.equal(l.id, 1);
      const f = await c.start(2, { peers: { ...peers, 1: c.addresses[9]! }, electionTicks: 150 });
      const changes: number[] = [];
      f.node!.onLeaderChange((lead) => changes.push(lead));
      await waitFor("member 2 to follow member 1", () => f.node!.status().lead === 1, 10_000);
      changes.length = 0;
      // Its reconnects to member 1 are refused again and again meanwhile (backoff 50 ms to 2 s).
      await new Promise((r) => setTimeout(r, 2_500));
      assert.deepEqual(changes, [], "member 2 forgot its leader (and ran a pre-vote) on a refused reconnect");
      assert.equal(f.node!.status().lead, 1);
      assert.equal(f.node!.status().state, StateType.Follower);
      await l.node!.propose(put("k", "v"));
      // What member 2 cannot answer, member 3 does: writes still commit.
      assert.equal(l.sm.data.get("k"), "v");
    } finally {
      await c.cleanup();
    }
  });
});
