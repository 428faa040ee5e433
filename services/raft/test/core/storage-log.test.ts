import { strict as assert } from "node:assert";
import { MemoryStorage } from "../../src/core/memory-storage.js";
import { RaftLog } from "../../src/core/raft-log.js";
import { type Entry, ConfChangeType, EntryType } from "../../src/core/types.js";
import { decodeConfChange, encodeConfChange, nextConfState } from "../../src/core/conf-change.js";
import { codeOf } from "./network.js";

function ent(index: number, term: number, data = ""): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

describe("raft core: MemoryStorage", () => {
  it("appends, truncates a conflicting suffix, and compacts", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    s.append([ent(2, 2)]);
    assert.equal(s.lastIndex(), 2);
    assert.equal(s.term(2), 2);
    s.append([ent(3, 2), ent(4, 2)]);
    s.compact(2);
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.term(2), 2);
    assert.equal(codeOf(() => s.term(1)), "RAFT_COMPACTED");
    assert.equal(codeOf(() => s.entries(2, 4, Infinity)), "RAFT_COMPACTED");
    assert.equal(codeOf(() => s.compact(2)), "RAFT_COMPACTED");
    assert.deepEqual(s.entries(3, 5, Infinity).map((e) => e.index), [3, 4]);
  });

  it("returns at least one entry under a tiny size limit", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, "xxxx"), ent(2, 1, "yyyy")]);
    assert.equal(s.entries(1, 3, 1).length, 1);
  });

  it("refuses an older snapshot with RAFT_SNAPSHOT_OUT_OF_DATE", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    const cs = { voters: [1], learners: [], removed: [] };
    s.createSnapshot(3, cs, new Uint8Array(0));
    const old = { metadata: { index: 2, term: 1, confState: cs }, data: new Uint8Array(0) };
    assert.equal(codeOf(() => s.applySnapshot(old)), "RAFT_SNAPSHOT_OUT_OF_DATE");
    s.applySnapshot({ metadata: { index: 10, term: 3, confState: cs }, data: new Uint8Array(0) });
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
  });
});

describe("raft core: RaftLog", () => {
  function log(ents: Entry[]): RaftLog {
    const s = new MemoryStorage();
    s.append(ents);
    return new RaftLog(s);
  }

  it("maybeAppend rejects a mismatch at the previous index", () => {
    const l = log([ent(1, 1), ent(2, 2)]);
    assert.equal(l.maybeAppend(2, 1, 0, [ent(3, 2)]), undefined);
  });

  it("maybeAppend truncates a conflicting suffix and commits at most up to the last new entry", () => {
    const l = log([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
    assert.equal(l.maybeAppend(1, 1, 10, [ent(2, 2)]), 2);
    assert.equal(l.lastIndex(), 2);
    assert.equal(l.term(2), 2);
    assert.equal(l.committed, 2);
  });

  it("maybeAppend keeps a matching suffix (a stale, shorter append does not truncate)", () => {
    const l = log([ent(1, 1), ent(2, 1), ent(3, 1)]);
    assert.equal(l.maybeAppend(0, 0, 0, [ent(1, 1)]), 1);
    assert.equal(l.lastIndex(), 3);
  });

  it("refuses to overwrite a committed entry", () => {
    const l = log([ent(1, 1), ent(2, 1)]);
    l.commitTo(2);
    assert.equal(codeOf(() => l.maybeAppend(1, 1, 2, [ent(2, 2)])), "RAFT_LOG_CORRUPT");
  });

  it("commit never goes backwards", () => {
    const l = log([ent(1, 1), ent(2, 1)]);
    l.commitTo(2);
    l.commitTo(1);
    assert.equal(l.committed, 2);
  });

  it("findConflictByTerm skips a whole conflicting term", () => {
    const l = log([ent(1, 1), ent(2, 2), ent(3, 2), ent(4, 3), ent(5, 3)]);
    assert.deepEqual(l.findConflictByTerm(5, 2), [3, 2]);
    assert.deepEqual(l.findConflictByTerm(5, 1), [1, 1]);
    assert.deepEqual(l.findConflictByTerm(5, 0), [0, 0]);
  });

  it("unstable entries are handed out until persisted, across a truncation", () => {
    const s = new MemoryStorage();
    const l = new RaftLog(s);
    l.append([ent(1, 1), ent(2, 1)]);
    const handed = l.unstable.entries.slice();
    l.append([ent(2, 2)]);
    s.append(handed);
    l.stableTo(2, 1); // the entry at 2 was replaced: nothing becomes stable
    assert.deepEqual(l.unstable.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 2]]);
    assert.equal(l.term(2), 2);
  });
});

describe("raft core: conf change encoding", () => {
  it("round-trips a conf change with context", () => {
    const cc = { type: ConfChangeType.AddLearner, nodeId: 2 ** 40 + 7, context: new Uint8Array([1, 2, 3]) };
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
    assert.deepEqual(decodeConfChange(encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 })), {
      type: ConfChangeType.RemoveNode,
      nodeId: 3,
    });
  });

  it("rejects garbage with RAFT_INVALID_ARGUMENT", () => {
    assert.equal(codeOf(() => decodeConfChange(new Uint8Array([9, 9]))), "RAFT_INVALID_ARGUMENT");
    assert.equal(codeOf(() => decodeConfChange(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0, 0]))), "RAFT_INVALID_ARGUMENT");
  });

  it("never re-adds a removed ID", () => {
    const cs = nextConfState({ voters: [1, 2], learners: [], removed: [] }, { type: ConfChangeType.RemoveNode, nodeId: 2 });
    assert.deepEqual(nextConfState(cs, { type: ConfChangeType.AddVoter, nodeId: 2 }), { voters: [1], learners: [], removed: [2] });
  });
});
