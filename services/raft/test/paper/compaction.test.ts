// Raft paper §7 (log compaction and InstallSnapshot), one test per rule.

import assert from "node:assert/strict";
import { type Snapshot, MessageType } from "../../src/index.js";
import { type PaperNode, byType, drainMessages, elect, flush, msg, newNode, persistedLog } from "./helpers.js";

function snap(index: number, term: number, voters = [1, 2, 3], learners: number[] = []): Snapshot {
  return { metadata: { index, term, confState: { voters, learners, removed: [] } }, data: new TextEncoder().encode(`state@${index}`) };
}

/** Leader 1 of [1,2] in term 2 whose log 1..10 (term 1) is compacted up to 8. */
function compactedLeader(): PaperNode {
  const log: Array<[number, number]> = Array.from({ length: 10 }, (_, i) => [i + 1, 1]);
  const n = newNode(1, { voters: [1, 2], log, hardState: { term: 1, vote: 0, commit: 10 }, applied: 10, preVote: false });
  n.storage.createSnapshot(8, { voters: [1, 2], learners: [], removed: [] }, new TextEncoder().encode("state@8"));
  n.storage.compact(8);
  return n;
}

describe("raft paper §7 log compaction", () => {
  it("§7 leader sends InstallSnapshot to a follower that needs entries it has compacted", () => {
    const n = compactedLeader();
    const first = byType(elect(n, [2]), MessageType.App);
    assert.deepEqual(first.map((m) => [m.to, m.index, m.logTerm]), [[2, 10, 1]]);
    // The follower's log is empty: it rejects and hints that it has nothing.
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 10, reject: true, rejectHint: 0 }));
    const sent = drainMessages(n);
    const snaps = byType(sent, MessageType.Snap);
    assert.equal(snaps.length, 1, `expected one snapshot, got ${sent.map((m) => MessageType[m.type])}`);
    assert.equal(snaps[0]!.to, 2);
    assert.equal(snaps[0]!.snapshot?.metadata.index, 8, "last included index");
    assert.equal(snaps[0]!.snapshot?.metadata.term, 1, "last included term");
    assert.deepEqual(snaps[0]!.snapshot?.metadata.confState.voters, [1, 2], "the configuration as of the snapshot");
    assert.equal(n.raw.status().progress.get(2)?.state, "snapshot");
  });

  it("§7 once the follower has installed the snapshot the leader sends the entries after it", () => {
    const n = compactedLeader();
    elect(n, [2]);
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 10, reject: true, rejectHint: 0 }));
    drainMessages(n);
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 8 }));
    const apps = byType(drainMessages(n), MessageType.App).filter((m) => m.entries.length > 0);
    assert.ok(apps.length >= 1);
    assert.equal(apps[0]!.index, 8);
    assert.equal(apps[0]!.logTerm, 1);
    assert.deepEqual(apps.flatMap((m) => m.entries.map((e) => e.index)), [9, 10, 11]);
  });

  it("§7 a follower given a snapshot beyond its log discards its entire log and adopts the snapshot", () => {
    const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 1]], hardState: { term: 1, vote: 0, commit: 1 } });
    f.raw.step(msg({ type: MessageType.Snap, from: 1, to: 2, term: 2, snapshot: snap(5, 2) }));
    const rd = flush(f);
    assert.equal(rd.snapshot?.metadata.index, 5, "the snapshot is handed to the driver to persist and restore");
    assert.deepEqual(persistedLog(f), []);
    assert.equal(f.storage.firstIndex(), 6);
    assert.equal(f.raw.status().commit, 5);
    assert.deepEqual(byType(rd.messages, MessageType.AppResp).map((m) => [m.to, m.index, m.reject]), [[1, 5, false]]);
  });

  it("§7 a follower given a snapshot of a conflicting prefix discards its log even where it is longer", () => {
    const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1]], hardState: { term: 1, vote: 0, commit: 1 } });
    f.raw.step(msg({ type: MessageType.Snap, from: 1, to: 2, term: 2, snapshot: snap(4, 2) }));
    const rd = flush(f);
    assert.equal(rd.snapshot?.metadata.index, 4);
    assert.deepEqual(persistedLog(f), [], "entries 5, 6 followed a conflicting entry 4 and must go");
  });

  it("§7 a follower keeps the entries that follow a snapshot describing a prefix of its log", () => {
    const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]], hardState: { term: 1, vote: 0, commit: 1 } });
    f.raw.step(msg({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: snap(3, 1) }));
    const rd = flush(f);
    assert.equal(rd.snapshot, undefined, "nothing to restore: it already holds the prefix");
    assert.deepEqual(persistedLog(f).map(([i]) => i), [1, 2, 3, 4, 5]);
    assert.equal(f.raw.status().commit, 3, "what the snapshot covers is committed");
  });

  it("§7 a follower ignores a snapshot older than its commit index", () => {
    const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]], hardState: { term: 1, vote: 0, commit: 5 } });
    f.raw.step(msg({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: snap(3, 1) }));
    const rd = flush(f);
    assert.equal(rd.snapshot, undefined);
    assert.deepEqual(persistedLog(f).map(([i]) => i), [1, 2, 3, 4, 5]);
    assert.deepEqual(byType(rd.messages, MessageType.AppResp).map((m) => [m.index, m.reject]), [[5, false]], "answers with its commit");
  });

  it("§7 a new member without a configuration learns it from the snapshot", () => {
    const j = newNode(4, { voters: [] });
    j.raw.step(msg({ type: MessageType.Snap, from: 1, to: 4, term: 3, snapshot: snap(7, 3, [1, 2, 3], [4]) }));
    const rd = flush(j);
    assert.equal(rd.snapshot?.metadata.index, 7);
    assert.deepEqual(j.raw.status().confState.voters, [1, 2, 3]);
    assert.deepEqual(j.raw.status().confState.learners, [4]);
    assert.equal(j.raw.status().commit, 7);
    assert.equal(j.raw.status().term, 3);
  });

  it("§7 a node restarted from a snapshot resumes from it: the snapshot's entries count as committed and applied", () => {
    const n = newNode(1, { voters: [1, 2, 3], snapshot: snap(20, 4), hardState: { term: 4, vote: 0, commit: 20 } });
    const st = n.raw.status();
    assert.equal(st.commit, 20);
    assert.equal(st.applied, 20);
    assert.equal(st.lastIndex, 20);
    assert.equal(flush(n).committedEntries.length, 0, "nothing before the snapshot is applied again");
  });
});
