import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeConfChange, encodeConfChange } from "../../src/core/conf-change.js";
import { RaftError } from "../../src/core/errors.js";
import { ConfChangeType, EntryType, StateType, type ConfChange, type Entry } from "../../src/core/types.js";
import { planForceNewCluster } from "../../src/driver/force-new-cluster.js";
import type { LoadedLog } from "../../src/storage/level-storage.js";
import { Cluster, code, put, waitFor } from "./helpers.js";

function normal(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(`e${index}`) };
}

function conf(index: number, term: number, cc: ConfChange): Entry {
  return { index, term, type: EntryType.ConfChange, data: encodeConfChange(cc) };
}

function changes(entries: Entry[]): string[] {
  return entries.map((e) => {
    const cc = decodeConfChange(e.data);
    return `${e.index}/${e.term} ${ConfChangeType[cc.type]} ${cc.nodeId}`;
  });
}

describe("planForceNewCluster (pure)", () => {
  // Snapshot at 10 (voters 1,2,3; 5 retired); learner 4 added at 12; entries 13..14 uncommitted.
  const loaded = (): LoadedLog => ({
    snapshot: { metadata: { index: 10, term: 2, confState: { voters: [1, 2, 3], learners: [], removed: [5] } }, data: new Uint8Array(0) },
    hardState: { term: 4, vote: 2, commit: 12 },
    entries: [normal(11, 3), conf(12, 3, { type: ConfChangeType.AddLearner, nodeId: 4 }), normal(13, 4), conf(14, 4, { type: ConfChangeType.RemoveNode, nodeId: 1 })],
  });

  it("appends AddVoter(self) and a removal of every other voter and learner after the commit index, committed", () => {
    const plan = planForceNewCluster(loaded(), 1, "10.0.0.1:2377");
    assert.deepEqual(changes(plan.entries), ["13/3 AddVoter 1", "14/3 RemoveNode 2", "15/3 RemoveNode 3", "16/3 RemoveNode 4"]);
    assert.equal(new TextDecoder().decode(decodeConfChange(plan.entries[0]!.data).context), "10.0.0.1:2377");
    assert.deepEqual(plan.hardState, { term: 4, vote: 2, commit: 16 });
    assert.deepEqual(plan.confState, { voters: [1], learners: [], removed: [2, 3, 4, 5] });
    assert.deepEqual(plan.removed, [2, 3, 4]);
    assert.equal(plan.droppedEntries, 2);
  });

  it("treats everything up to the snapshot as committed even when the stored commit index lags it", () => {
    const l = loaded();
    l.hardState = { term: 4, vote: 2, commit: 7 };
    l.entries = [];
    const plan = planForceNewCluster(l, 2, "h:1");
    assert.equal(plan.entries[0]!.index, 11);
    assert.equal(plan.entries[0]!.term, 2);
    assert.deepEqual(plan.confState.voters, [2]);
  });

  it("refuses a member that was removed, and one that never received a configuration", () => {
    const l = loaded();
    assert.throws(() => planForceNewCluster(l, 5, "h:1"), (e) => e instanceof RaftError && e.code === "RAFT_MEMBER_REMOVED");
    const empty: LoadedLog = { snapshot: undefined, hardState: { term: 0, vote: 0, commit: 0 }, entries: [] };
    assert.throws(() => planForceNewCluster(empty, 1, "h:1"), (e) => e instanceof RaftError && e.code === "RAFT_INVALID_ARGUMENT");
  });
});

describe("RaftNode forceNewCluster: a lone survivor after quorum is lost", function () {
  this.timeout(40000);
  let c: Cluster;

  afterEach(async () => {
    await c.cleanup();
  });

  it("keeps every acknowledged write, becomes a one-member cluster that serves writes, and stays one after a plain restart", async () => {
    // Small snapshots so that the survivor recovers from a snapshot plus the entries after it.
    c = new Cluster({ snapshotEntries: 10, compactKeepEntries: 2 });
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    const n = 25;
    for (let i = 0; i < n; i++) await l.node!.propose(put(`k${i}`, `v${i}`));
    const survivor = c.running().find((m) => m.id !== l.id)!;
    await waitFor("survivor applied every acknowledged write", () => survivor.sm.log.length === n);
    const gone = [1, 2, 3].filter((id) => id !== survivor.id);
    for (const id of gone) await c.stop(id);
    await c.stop(survivor.id);

    const back = await c.start(survivor.id, { forceNewCluster: true });
    await waitFor("the survivor leads alone", () => back.node!.status().state === StateType.Leader);
    assert.deepEqual(back.sm.log, Array.from({ length: n }, (_, i) => `k${i}=v${i}`));
    await back.node!.propose(put("after", "force"));
    assert.equal(back.sm.data.get("after"), "force");
    const st = back.node!.status();
    assert.deepEqual(st.confState.voters, [survivor.id]);
    assert.deepEqual(st.confState.learners, []);
    assert.deepEqual(st.confState.removed, gone);
    assert.deepEqual(st.addresses, { [survivor.id]: c.addresses[survivor.id] });
    const members = JSON.parse(readFileSync(join(c.root, `m${survivor.id}`, "members.json"), "utf8")) as { addresses: Record<string, string> };
    assert.deepEqual(members.addresses, { [survivor.id]: c.addresses[survivor.id] });
    // The old members' IDs are retired: neither can come back under its old ID.
    await assert.rejects(back.node!.addMember(gone[0]!, c.addresses[gone[0]!]!), (e) => code(e) === "RAFT_MEMBER_REMOVED");

    // Enough writes for a snapshot past the rewrite: the retired IDs must live on in it.
    for (let i = 0; i < 12; i++) await back.node!.propose(put(`post${i}`, "1"));
    await c.stop(survivor.id);
    const again = await c.start(survivor.id);
    await waitFor("leader again after a plain restart", () => again.node!.status().state === StateType.Leader);
    assert.equal(again.sm.restores, 1, "restored from a snapshot taken after the rewrite");
    assert.equal(again.sm.log.length, n + 13);
    assert.equal(again.sm.data.get("after"), "force");
    assert.deepEqual(again.node!.status().confState.voters, [survivor.id]);
    assert.deepEqual(again.node!.status().confState.removed, gone);
    await again.node!.propose(put("later", "1"));
    assert.equal(again.sm.data.get("later"), "1");
  });

  it("tells a retired member that comes back that it was removed; the survivor is not disturbed", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    await l.node!.propose(put("before", "1"));
    for (const id of [1, 2, 3]) await c.stop(id);
    const survivor = await c.start(l.id, { forceNewCluster: true });
    await waitFor("the survivor leads alone", () => survivor.node!.status().state === StateType.Leader);
    const term = survivor.node!.status().term;

    // A retired member restarts with its old log: it never saw its removal and campaigns.
    const retiredId = [1, 2, 3].find((id) => id !== l.id)!;
    assert.equal(survivor.node!.removedBy(), 0);
    const retired = await c.start(retiredId);
    assert.equal(retired.node!.removedBy(), 0);
    await waitFor("the retired member learns it was removed", () => retired.node!.removedBy() === l.id);
    assert.equal(retired.node!.status().lead, 0, "it follows no leader");
    const st = survivor.node!.status();
    assert.equal(st.state, StateType.Leader);
    assert.equal(st.term, term, "its campaign did not disturb the survivor");
    assert.equal(survivor.node!.memberStatus().length, 1);
    await survivor.node!.propose(put("after", "1"));
    assert.equal(retired.sm.data.get("after"), undefined);
  });

  it("drops the entry this member appended but never saw committed", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    await l.node!.propose(put("committed", "yes"));
    for (const m of c.running()) if (m.id !== l.id) await c.stop(m.id);
    // No quorum: the entry reaches the leader's log only.
    const ac = new AbortController();
    const lost = l.node!.propose(put("uncommitted", "no"), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await assert.rejects(lost, (e) => code(e) === "RAFT_TIMEOUT");
    assert.ok(l.node!.status().lastIndex > l.node!.status().commit, "the write is in the log, uncommitted");
    await c.stop(l.id);

    const back = await c.start(l.id, { forceNewCluster: true });
    await waitFor("the survivor leads alone", () => back.node!.status().state === StateType.Leader);
    await back.node!.propose(put("after", "force"));
    assert.deepEqual(back.sm.log, ["committed=yes", "after=force"]);
  });

  it("refuses to force a cluster from an empty data directory", async () => {
    c = new Cluster();
    await c.allocate([1]);
    await assert.rejects(c.start(1, { forceNewCluster: true }), (e) => code(e) === "RAFT_INVALID_ARGUMENT" && /nothing to recover/.test((e as Error).message));
  });
});
