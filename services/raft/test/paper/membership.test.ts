// Raft paper §6 (cluster membership changes, here one server at a time as in the thesis §4.1, with
// learners for catch-up) and its rule against disruptive servers, plus the leader's check-quorum
// (thesis §6.2) that makes that rule safe.

import assert from "node:assert/strict";
import { errorCode } from "@shoal/common";
import { ConfChangeType, EntryType, MessageType, StateType, encodeConfChange } from "../../src/index.js";
import { type PaperNode, ackAppends, byType, drainMessages, elect, msg, newNode, propose, proposeConf, tickN } from "./helpers.js";

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => errorCode(err) === code, `expected ${code}`);
}

function singleLeader(): PaperNode {
  const n = newNode(1, { voters: [1] });
  n.raw.campaign();
  drainMessages(n);
  assert.equal(n.raw.status().state, StateType.Leader);
  assert.equal(n.raw.status().commit, 1);
  return n;
}

describe("raft paper §6 cluster membership changes", () => {
  it("§6 a leader accepts only one membership change at a time", () => {
    const n = singleLeader();
    proposeConf(n, { type: ConfChangeType.AddLearner, nodeId: 2 });
    throwsCode(() => proposeConf(n, { type: ConfChangeType.AddLearner, nodeId: 3 }), "RAFT_CONF_CHANGE_PENDING");
    drainMessages(n); // commits (single voter) and applies the first change
    assert.deepEqual(n.raw.status().confState.learners, [2]);
    proposeConf(n, { type: ConfChangeType.AddLearner, nodeId: 3 });
    drainMessages(n);
    assert.deepEqual(n.raw.status().confState.learners, [2, 3]);
  });

  it("§6 a new voter counts toward the majority as soon as its addition is applied", () => {
    const n = singleLeader();
    proposeConf(n, { type: ConfChangeType.AddVoter, nodeId: 2 });
    drainMessages(n);
    assert.deepEqual(n.raw.status().confState.voters, [1, 2]);
    const { index } = propose(n, "x");
    const sent = drainMessages(n);
    assert.equal(n.raw.status().commit, index - 1, "one of two voters is not a majority");
    assert.ok(byType(sent, MessageType.App).some((m) => m.to === 2), "the new voter is sent the log");
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index }));
    drainMessages(n);
    assert.equal(n.raw.status().commit, index);
  });

  it("§6 a learner (non-voting member) receives entries but does not count toward commitment", () => {
    const n = newNode(1, { voters: [1, 2], learners: [3], preVote: false });
    const first = elect(n, [2]);
    assert.ok(byType(first, MessageType.App).some((m) => m.to === 3), "the learner is replicated to");
    n.raw.step(msg({ type: MessageType.AppResp, from: 3, to: 1, term: 1, index: 1 }));
    drainMessages(n);
    assert.equal(n.raw.status().commit, 0, "the learner's copy does not make a majority");
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    drainMessages(n);
    assert.equal(n.raw.status().commit, 1);
  });

  it("§6 a learner never campaigns and is not asked for votes", () => {
    const l = newNode(3, { voters: [1, 2], learners: [3] });
    tickN(l, 100);
    l.raw.campaign();
    assert.equal(drainMessages(l).length, 0);
    assert.equal(l.raw.status().state, StateType.Follower);
    assert.equal(l.raw.status().term, 0);
    const v = newNode(1, { voters: [1, 2], learners: [3], preVote: false });
    v.raw.campaign();
    assert.deepEqual(byType(drainMessages(v), MessageType.Vote).map((m) => m.to), [2]);
  });

  it("§6 a leader removed from the configuration steps down once the removal is applied, after telling followers the commit", () => {
    const n = newNode(1, { voters: [1, 2, 3], preVote: false });
    ackAppends(n, elect(n, [2]), [2, 3]);
    drainMessages(n);
    const { index } = proposeConf(n, { type: ConfChangeType.RemoveNode, nodeId: 1 });
    drainMessages(n);
    assert.equal(n.raw.status().state, StateType.Leader, "still leads while the change is uncommitted");
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index }));
    const sent = drainMessages(n);
    assert.equal(n.raw.status().state, StateType.Follower);
    assert.deepEqual(n.raw.status().confState.voters, [2, 3]);
    assert.ok(sent.some((m) => m.to === 3 && m.commit >= index), "follower 3 learns that the removal committed");
  });

  it("§6 messages from a removed server are ignored, so it cannot disrupt the cluster", () => {
    const f = newNode(2, { voters: [1, 2, 3] });
    const cc = { index: 1, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 }) };
    f.raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [cc], commit: 1 }));
    drainMessages(f);
    assert.deepEqual(f.raw.status().confState.removed, [3]);
    tickN(f, 30); // well past any leader lease
    drainMessages(f);
    const term = f.raw.status().term;
    f.raw.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: term + 5, index: 9, logTerm: 9 }));
    assert.deepEqual(drainMessages(f), []);
    assert.equal(f.raw.status().term, term);
  });

  it("§6 a removed member's ID is never accepted again", () => {
    const n = newNode(1, { voters: [1, 2, 3], preVote: false });
    ackAppends(n, elect(n, [2]), [2, 3]);
    drainMessages(n);
    const { index } = proposeConf(n, { type: ConfChangeType.RemoveNode, nodeId: 3 });
    drainMessages(n);
    n.raw.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index }));
    drainMessages(n);
    assert.deepEqual(n.raw.status().confState.voters, [1, 2]);
    throwsCode(() => proposeConf(n, { type: ConfChangeType.AddVoter, nodeId: 3 }), "RAFT_MEMBER_REMOVED");
    throwsCode(() => proposeConf(n, { type: ConfChangeType.AddLearner, nodeId: 3 }), "RAFT_MEMBER_REMOVED");
  });

  it("§6 servers disregard RequestVote while they believe a current leader exists (minimum election timeout)", () => {
    const f = newNode(2, { voters: [1, 2, 3] });
    f.raw.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    drainMessages(f);
    tickN(f, 5);
    f.raw.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 2, index: 5, logTerm: 1 }));
    assert.equal(byType(drainMessages(f), MessageType.VoteResp).filter((m) => !m.reject).length, 0, "no vote within the lease");
    assert.equal(f.raw.status().term, 1, "the disruptive term is not adopted");
    assert.equal(f.raw.status().lead, 1);
    // Past the minimum election timeout without a word from the leader, the request counts.
    tickN(f, 5);
    f.raw.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 2, index: 5, logTerm: 1 }));
    const resp = byType(drainMessages(f), MessageType.VoteResp);
    assert.equal(resp[0]?.reject, false);
    assert.equal(f.raw.status().term, 2);
  });

  it("§6 (thesis §6.2 check quorum) a learner's answers do not keep a leader in office", () => {
    const n = newNode(1, { voters: [1, 2, 3], learners: [4], preVote: false });
    elect(n, [2]);
    for (let i = 0; i < 40; i++) {
      n.raw.tick();
      for (const hb of byType(drainMessages(n), MessageType.Heartbeat)) {
        if (hb.to === 4) n.raw.step(msg({ type: MessageType.HeartbeatResp, from: 4, to: 1, term: hb.term }));
      }
    }
    // It stepped down (and, ticking on, may since have campaigned): it no longer leads term 1.
    assert.notEqual(n.raw.status().state, StateType.Leader);
  });

  it("§6 (thesis §6.2 check quorum) a leader that hears from no majority for an election timeout steps down", () => {
    const n = newNode(1, { voters: [1, 2, 3], preVote: false });
    elect(n, [2]);
    tickN(n, 20);
    drainMessages(n);
    assert.equal(n.raw.status().state, StateType.Follower);
    const m = newNode(1, { voters: [1, 2, 3], preVote: false });
    elect(m, [2]);
    for (let i = 0; i < 40; i++) {
      m.raw.tick();
      for (const hb of byType(drainMessages(m), MessageType.Heartbeat)) {
        if (hb.to === 2) m.raw.step(msg({ type: MessageType.HeartbeatResp, from: 2, to: 1, term: hb.term }));
      }
    }
    assert.equal(m.raw.status().state, StateType.Leader, "one follower answering keeps a majority of 3");
  });
});
