// Raft paper §5.3 (log replication), §5.4.2 (committing entries from previous terms) and §8
// (client interaction), one test per rule.

import assert from "node:assert/strict";
import { errorCode } from "@shoal/common";
import { type Message, type RaftError, EntryType, MessageType, StateType } from "../../src/index.js";
import {
  type PaperNode,
  ackAppends,
  byType,
  drainMessages,
  elect,
  entry,
  flush,
  msg,
  newNode,
  persistedLog,
  propose,
  text,
} from "./helpers.js";

/** Leader 1 of `voters`, elected in term 1 with its empty entry at index 1 committed. */
function leaderWithCommittedNoop(voters: number[]): PaperNode {
  const n = newNode(1, { voters, preVote: false });
  const sent = elect(n, voters.slice(1, Math.floor(voters.length / 2) + 1));
  ackAppends(n, sent, voters.slice(1));
  drainMessages(n);
  assert.equal(n.raw.status().commit, 1);
  return n;
}

describe("raft paper §5.3 log replication", () => {
  it("§5.3 leader appends a client command as a new entry and sends it to every follower", () => {
    const n = leaderWithCommittedNoop([1, 2, 3]);
    assert.deepEqual(propose(n, "x"), { index: 2, term: 1 });
    const rd = flush(n);
    assert.deepEqual(rd.entries.map((e) => [e.index, e.term, text(e)]), [[2, 1, "x"]], "the leader persists the new entry");
    const apps = byType(rd.messages, MessageType.App);
    assert.deepEqual(apps.map((m) => m.to).sort(), [2, 3]);
    for (const m of apps) {
      assert.equal(m.index, 1, "prevLogIndex");
      assert.equal(m.logTerm, 1, "prevLogTerm");
      assert.deepEqual(m.entries.map((e) => [e.index, e.term, text(e)]), [[2, 1, "x"]]);
      assert.equal(m.commit, 1, "leaderCommit");
    }
    assert.equal(n.raw.status().commit, 1, "not committed before a majority has it");
  });

  it("§5.3 an entry is committed once a majority stores it; the leader applies it and tells followers", () => {
    for (const [voters, ackers] of [
      [[1, 2, 3], [2]],
      [[1, 2, 3, 4, 5], [2, 3]],
    ] as Array<[number[], number[]]>) {
      const n = leaderWithCommittedNoop(voters);
      propose(n, "x");
      flush(n);
      for (const a of ackers.slice(0, -1)) n.raw.step(msg({ type: MessageType.AppResp, from: a, to: 1, term: 1, index: 2 }));
      assert.equal(n.raw.status().commit, 1, `${voters.length} voters: one ack short of a majority`);
      n.raw.step(msg({ type: MessageType.AppResp, from: ackers.at(-1)!, to: 1, term: 1, index: 2 }));
      const rd = flush(n);
      assert.equal(n.raw.status().commit, 2);
      assert.equal(rd.hardState?.commit, 2);
      assert.deepEqual(rd.committedEntries.map(text), ["x"], "committed entries are handed to the state machine");
      const behind = voters.filter((v) => v !== 1 && !ackers.includes(v));
      for (const f of behind) {
        assert.ok(rd.messages.some((m) => m.type === MessageType.App && m.to === f && m.commit === 2), `follower ${f} learns commit 2`);
      }
    }
  });

  it("§5.3 (thesis §10.2.1) the leader counts its own copy toward a majority only once it is persisted", () => {
    const n = leaderWithCommittedNoop([1, 2, 3]);
    propose(n, "x");
    const rd = n.raw.ready();
    // The driver may send the appends before its own fsync; a fast follower answers meanwhile.
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 2 }));
    assert.equal(n.raw.status().commit, 1, "one durable copy of three is no majority");
    n.storage.append(rd.entries);
    n.raw.advance(rd);
    assert.equal(n.raw.status().commit, 2);
    assert.deepEqual(flush(n).committedEntries.map(text), ["x"]);
  });

  it("§5.3 committing an entry also commits every preceding entry in the leader's log", () => {
    const n = leaderWithCommittedNoop([1, 2, 3]);
    propose(n, "a");
    propose(n, "b");
    propose(n, "c");
    flush(n);
    n.raw.step(msg({ type: MessageType.AppResp, from: 3, to: 1, term: 1, index: 4 }));
    const rd = flush(n);
    assert.deepEqual(rd.committedEntries.map(text), ["a", "b", "c"]);
  });

  it("§5.3 a follower applies entries up to the leader's commit index, never past what it holds", () => {
    const f = newNode(2, { voters: [1, 2, 3] });
    f.raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1, "a"), entry(2, 1, "b")], commit: 1 }));
    let rd = flush(f);
    assert.deepEqual(rd.entries.map(text), ["a", "b"]);
    assert.deepEqual(rd.committedEntries.map(text), ["a"]);
    assert.deepEqual(byType(rd.messages, MessageType.AppResp).map((m) => [m.index, m.reject]), [[2, false]]);
    f.raw.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, commit: 2 }));
    rd = flush(f);
    assert.deepEqual(rd.committedEntries.map(text), ["b"]);
    // A commit index beyond its log must not make the follower apply entries it does not have.
    f.raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 2, logTerm: 1, entries: [], commit: 9 }));
    flush(f);
    assert.equal(f.raw.status().commit, 2);
  });

  it("§5.3 follower rejects AppendEntries whose previous entry it does not hold (consistency check)", () => {
    const cases: Array<[prevIndex: number, prevTerm: number]> = [
      [3, 2], // past the end of its log
      [2, 1], // index present, term differs
    ];
    for (const [prevIndex, prevTerm] of cases) {
      const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 2]], hardState: { term: 2, vote: 0, commit: 0 } });
      f.raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: prevIndex, logTerm: prevTerm, entries: [entry(prevIndex + 1, 2)] }));
      const rd = flush(f);
      assert.equal(rd.entries.length, 0, `${prevIndex}/${prevTerm}: nothing appended`);
      const resp = byType(rd.messages, MessageType.AppResp);
      assert.equal(resp.length, 1);
      assert.equal(resp[0]!.reject, true, `${prevIndex}/${prevTerm}`);
      assert.equal(resp[0]!.index, prevIndex, "names the rejected index");
      assert.ok(resp[0]!.rejectHint < prevIndex || prevIndex > 2, "hints at an earlier index to probe");
      assert.deepEqual(persistedLog(f), [[1, 1], [2, 2]]);
    }
  });

  it("§5.3 follower deletes a conflicting entry and all that follow", () => {
    const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 1], [4, 1]], hardState: { term: 1, vote: 0, commit: 1 } });
    f.raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2, "new")], commit: 1 }));
    const rd = flush(f);
    assert.deepEqual(persistedLog(f), [[1, 1], [2, 2]], "entries 2..4 of term 1 are gone, the leader's entry replaces them");
    assert.deepEqual(byType(rd.messages, MessageType.AppResp).map((m) => [m.index, m.reject]), [[2, false]]);
  });

  it("§5.3 follower keeps entries it already has: a duplicated or reordered AppendEntries truncates nothing", () => {
    const f = newNode(2, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 1]], hardState: { term: 1, vote: 0, commit: 0 } });
    f.raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1)] }));
    const rd = flush(f);
    assert.deepEqual(persistedLog(f), [[1, 1], [2, 1], [3, 1]], "entry 3 agrees with the leader and must stay");
    assert.equal(rd.entries.length, 0);
    assert.deepEqual(byType(rd.messages, MessageType.AppResp).map((m) => [m.index, m.reject]), [[2, false]]);
  });

  it("§5.3 a new leader's nextIndex starts just after its last entry", () => {
    const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 2]], hardState: { term: 2, vote: 0, commit: 0 }, preVote: false });
    const sent = elect(n, [2]);
    const apps = byType(sent, MessageType.App);
    assert.deepEqual(apps.map((m) => m.to).sort(), [2, 3]);
    for (const m of apps) {
      assert.equal(m.index, 3, "the first append checks the leader's last entry");
      assert.equal(m.logTerm, 2);
    }
  });

  it("§5.3 leader never overwrites or deletes entries in its own log", () => {
    const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 1], [3, 2]], hardState: { term: 2, vote: 0, commit: 1 }, preVote: false });
    elect(n, [2]);
    const before = persistedLog(n);
    // Followers with other logs reject; a (impossible) same-term append from a peer arrives too.
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3, reject: true, rejectHint: 1, logTerm: 1 }));
    n.raw.step(msg({ type: MessageType.App, from: 3, to: 1, term: 3, index: 1, logTerm: 1, entries: [entry(2, 3, "intruder")], commit: 2 }));
    propose(n, "x");
    drainMessages(n);
    const after = persistedLog(n);
    assert.deepEqual(after.slice(0, before.length), before, "the leader's log only grows");
    assert.deepEqual(after.slice(before.length), [[5, 3]]);
    assert.equal(n.raw.status().state, StateType.Leader);
  });

  it("§5.3 after rejections the leader backs up and brings any follower's log to match its own (figure 7)", () => {
    // The leader's log of figure 7 (terms of entries 1..10); it wins term 8.
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const asLog = (terms: number[]): Array<[number, number]> => terms.map((t, i) => [i + 1, t]);
    for (const [name, terms] of Object.entries(followers)) {
      const leader = newNode(1, { voters: [1, 2, 3], log: asLog(leaderTerms), hardState: { term: 7, vote: 0, commit: 0 }, preVote: false });
      const follower = newNode(2, { voters: [1, 2, 3], log: asLog(terms), hardState: { term: 7, vote: 0, commit: 0 }, preVote: false });
      let toFollower = elect(leader, [3]).filter((m) => m.to === 2);
      for (let round = 0; round < 50 && toFollower.length > 0; round++) {
        const back: Message[] = [];
        for (const m of toFollower) {
          follower.raw.step(m);
          back.push(...drainMessages(follower).filter((x) => x.to === 1));
        }
        toFollower = [];
        for (const m of back) {
          leader.raw.step(m);
          toFollower.push(...drainMessages(leader).filter((x) => x.to === 2));
        }
      }
      assert.deepEqual(persistedLog(follower), persistedLog(leader), `follower (${name}) ends with the leader's log`);
      assert.equal(leader.raw.status().commit, 11, `follower (${name}) acknowledged the leader's term-8 entry`);
    }
  });
});

describe("raft paper §5.4.2 committing entries from previous terms", () => {
  function leaderOfTerm3(): PaperNode {
    // Entry 2 (term 2) is on the leader but was never committed; the leader wins term 3.
    const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 2]], hardState: { term: 2, vote: 0, commit: 1 }, preVote: false });
    elect(n, [2]);
    assert.equal(n.raw.status().term, 3);
    return n;
  }

  it("§5.4.2 leader does not commit an entry of a previous term by counting replicas (figure 8)", () => {
    const n = leaderOfTerm3();
    // Follower 2 now stores entry 2: it sits on a majority, but is of term 2.
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
    const rd = flush(n);
    assert.equal(n.raw.status().commit, 1);
    assert.equal(rd.committedEntries.length, 0);
  });

  it("§5.4.2 entries of previous terms commit indirectly once an entry of the leader's term commits", () => {
    const n = leaderOfTerm3();
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
    flush(n);
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3 }));
    const rd = flush(n);
    assert.equal(n.raw.status().commit, 3);
    assert.deepEqual(rd.committedEntries.map((e) => [e.index, e.term]), [[2, 2], [3, 3]]);
  });
});

describe("raft paper §8 client interaction", () => {
  it("§8 a new leader appends a blank no-op entry of its own term at the start of its term", () => {
    const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1]], hardState: { term: 1, vote: 0, commit: 1 }, preVote: false });
    n.raw.campaign();
    drainMessages(n);
    n.raw.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 2 }));
    const rd = flush(n);
    assert.deepEqual(rd.entries.map((e) => [e.index, e.term, e.type, e.data.length]), [[2, 2, EntryType.Normal, 0]]);
  });

  it("§8 a follower forwards a client proposal to the leader, and the leader appends it", () => {
    const f = newNode(2, { voters: [1, 2, 3] });
    f.raw.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    drainMessages(f);
    f.raw.step(msg({ type: MessageType.Prop, from: 2, to: 2, term: 0, entries: [entry(0, 0, "fwd")] }));
    const fwd = byType(drainMessages(f), MessageType.Prop);
    assert.equal(fwd.length, 1);
    assert.equal(fwd[0]!.to, 1);
    const n = leaderWithCommittedNoop([1, 2, 3]);
    n.raw.step({ ...fwd[0]!, from: 2 });
    const rd = flush(n);
    assert.deepEqual(rd.entries.map((e) => [e.index, e.term, text(e)]), [[2, 1, "fwd"]]);
  });

  it("§8 a follower refuses a direct proposal and names the leader it knows", () => {
    const f = newNode(2, { voters: [1, 2, 3] });
    f.raw.step(msg({ type: MessageType.Heartbeat, from: 3, to: 2, term: 1 }));
    drainMessages(f);
    assert.throws(
      () => propose(f, "x"),
      (err: unknown) => errorCode(err) === "RAFT_NOT_LEADER" && (err as RaftError).meta["leader"] === 3,
    );
  });
});
