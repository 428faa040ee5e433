// Raft paper §5.1 (terms), §5.2 (leader election) and §5.4.1 (election restriction), one test per
// rule. Rules the paper states without PreVote / CheckQuorum use nodes built with them off, and
// the test says so.

import assert from "node:assert/strict";
import { SeededRandom } from "@shoal/common";
import { MessageType, RawNode, StateType } from "../../src/index.js";
import { byType, drainMessages, elect, flush, msg, newNode, persistedLog, tickN, zeroRandom } from "./helpers.js";

const noPreVote = { preVote: false, checkQuorum: false };

describe("raft paper §5.1 terms", () => {
  it("§5.1 a server that sees a higher term in any message adopts it and becomes follower", () => {
    for (const start of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
      // Without pre-vote, so that the candidate has really moved to term 1.
      const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
      if (start === StateType.Candidate) n.raw.campaign();
      if (start === StateType.Leader) elect(n, [2]);
      drainMessages(n);
      assert.equal(n.raw.status().state, start);
      n.raw.step(msg({ type: MessageType.App, from: 3, to: 1, term: 5 }));
      const rd = flush(n);
      const st = n.raw.status();
      assert.equal(st.state, StateType.Follower, `from ${start}`);
      assert.equal(st.term, 5, `from ${start}`);
      assert.equal(st.lead, 3, `from ${start}`);
      assert.equal(rd.hardState?.term, 5, `the new term must be persisted (from ${start})`);
      assert.equal(rd.hardState?.vote, 0, `a new term starts with no vote (from ${start})`);
    }
  });

  it("§5.1 a server that receives a request with a stale term rejects it", () => {
    for (const opts of [{}, noPreVote]) {
      const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 2]], hardState: { term: 2, vote: 0, commit: 0 }, ...opts });
      n.raw.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1, index: 2, logTerm: 2, entries: [{ index: 3, term: 1, type: 0, data: new Uint8Array() }] }));
      n.raw.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 1, index: 9, logTerm: 9 }));
      const sent = drainMessages(n);
      assert.deepEqual(persistedLog(n), [[1, 1], [2, 2]], "a stale append must not touch the log");
      assert.equal(n.raw.status().term, 2);
      assert.equal(n.raw.status().lead, 0, "a stale sender is not recognised as leader");
      assert.equal(sent.filter((m) => m.type === MessageType.VoteResp && !m.reject).length, 0, "no vote for a stale candidate");
      // Whatever is answered carries the current term, so that the stale sender steps down.
      for (const m of sent) assert.equal(m.term, 2, `${MessageType[m.type]} must carry the current term`);
    }
  });

  it("§5.1 a stale leader steps down when a response tells it of a newer term", () => {
    const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
    elect(n, [2]);
    n.raw.step(msg({ type: MessageType.AppResp, from: 3, to: 1, term: 4, index: 0 }));
    flush(n);
    assert.equal(n.raw.status().state, StateType.Follower);
    assert.equal(n.raw.status().term, 4);
  });

  it("§5.1 a stale leader steps down when a follower answers its stale append with the current term (check quorum on)", () => {
    // The answer is what §5.1 rule 2 requires of the follower; this closes the loop on the leader.
    const follower = newNode(2, { voters: [1, 2, 3], hardState: { term: 3, vote: 0, commit: 0 } });
    follower.raw.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    const answers = drainMessages(follower);
    assert.equal(answers.length, 1, "check quorum on: the stale heartbeat is answered");
    assert.equal(answers[0]!.term, 3);
    const leader = newNode(1, { voters: [1, 2, 3], preVote: false });
    elect(leader, [3]);
    leader.raw.step(answers[0]!);
    assert.equal(leader.raw.status().state, StateType.Follower);
    assert.equal(leader.raw.status().term, 3);
  });
});

describe("raft paper §5.2 leader election", () => {
  it("§5.2 a server starts as a follower in term 0 with no vote", () => {
    const n = newNode(1, { voters: [1, 2, 3] });
    const st = n.raw.status();
    assert.equal(st.state, StateType.Follower);
    assert.equal(st.term, 0);
    assert.equal(st.vote, 0);
    assert.equal(st.lead, 0);
  });

  it("§5.2 a leader sends heartbeats to every follower each heartbeat interval", () => {
    const n = newNode(1, { voters: [1, 2, 3], heartbeatTicks: 2, ...noPreVote });
    elect(n, [2]);
    n.raw.tick();
    assert.equal(byType(drainMessages(n), MessageType.Heartbeat).length, 0, "not before the interval");
    n.raw.tick();
    const hb = byType(drainMessages(n), MessageType.Heartbeat);
    assert.deepEqual(hb.map((m) => m.to).sort(), [2, 3]);
    for (const m of hb) assert.equal(m.term, 1);
  });

  it("§5.2 a follower that hears nothing for an election timeout becomes candidate and votes for itself", () => {
    // Pre-vote off: the paper's follower goes straight to candidate.
    const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 1]], hardState: { term: 1, vote: 0, commit: 0 }, ...noPreVote });
    tickN(n, 9);
    assert.equal(n.raw.status().state, StateType.Follower, "not before the timeout");
    assert.equal(drainMessages(n).length, 0);
    n.raw.tick();
    const rd = flush(n);
    const st = n.raw.status();
    assert.equal(st.state, StateType.Candidate);
    assert.equal(st.term, 2, "the candidate increments its term");
    assert.equal(st.vote, 1, "the candidate votes for itself");
    assert.deepEqual(rd.hardState, { term: 2, vote: 1, commit: 0 }, "term and self-vote are persisted with the requests");
    assert.equal(rd.mustSync, true);
    const votes = byType(rd.messages, MessageType.Vote);
    assert.deepEqual(votes.map((m) => m.to).sort(), [2, 3], "RequestVote goes to every other voter");
    for (const m of votes) {
      assert.equal(m.term, 2);
      assert.equal(m.index, 2, "carries the last log index (§5.4.1)");
      assert.equal(m.logTerm, 1, "carries the last log term (§5.4.1)");
    }
  });

  it("§5.2 a follower that keeps hearing from the leader never starts an election", () => {
    const n = newNode(2, { voters: [1, 2, 3] });
    for (let round = 0; round < 10; round++) {
      tickN(n, 9);
      n.raw.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    }
    drainMessages(n);
    assert.equal(n.raw.status().state, StateType.Follower);
    assert.equal(n.raw.status().term, 1);
    assert.equal(n.raw.status().lead, 1);
  });

  it("§5.2 election timeouts are randomized in [electionTimeout, 2*electionTimeout)", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const n = newNode(1, { voters: [1, 2, 3], random: new SeededRandom(seed) });
      let ticks = 0;
      while (n.raw.status().state === StateType.Follower && ticks < 100) {
        n.raw.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `seed ${seed}: campaigned after ${ticks} ticks`);
      seen.add(ticks);
    }
    assert.ok(seen.size >= 5, `timeouts should spread out; saw only ${[...seen].join(",")}`);
  });

  it("§5.2 a candidate that wins votes from a majority becomes leader", () => {
    const cases: Array<[size: number, grants: number[], rejects: number[], leader: boolean]> = [
      [1, [], [], true],
      [3, [2], [], true],
      [3, [], [2], false],
      [3, [2, 3], [], true],
      [5, [2, 3], [], true],
      [5, [2], [3], false],
      [5, [2], [3, 4, 5], false],
    ];
    for (const [size, grants, rejects, leader] of cases) {
      const voters = Array.from({ length: size }, (_, i) => i + 1);
      const n = newNode(1, { voters, ...noPreVote });
      n.raw.campaign();
      drainMessages(n);
      for (const g of grants) n.raw.step(msg({ type: MessageType.VoteResp, from: g, to: 1, term: 1 }));
      for (const r of rejects) n.raw.step(msg({ type: MessageType.VoteResp, from: r, to: 1, term: 1, reject: true }));
      drainMessages(n);
      const st = n.raw.status();
      assert.equal(st.state === StateType.Leader, leader, `size ${size} grants ${grants} rejects ${rejects}: ${st.state}`);
      if (leader) assert.equal(st.lead, 1);
    }
  });

  it("§5.2 only votes of the configuration's voters count, each voter once", () => {
    // Pre-vote off so that the grants below answer the real vote.
    const n = newNode(1, { voters: [1, 2, 3, 4, 5], learners: [6], ...noPreVote });
    n.raw.campaign();
    drainMessages(n);
    n.raw.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1 }));
    n.raw.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1 }));
    n.raw.step(msg({ type: MessageType.VoteResp, from: 6, to: 1, term: 1 }));
    n.raw.step(msg({ type: MessageType.VoteResp, from: 9, to: 1, term: 1 }));
    drainMessages(n);
    assert.equal(n.raw.status().state, StateType.Candidate, "a repeated grant, a learner and a stranger are not a majority");
    n.raw.step(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 1 }));
    drainMessages(n);
    assert.equal(n.raw.status().state, StateType.Leader);
  });

  it("§5.2 votes for at most one candidate per term (first-come-first-served)", () => {
    const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
    const ask = (from: number): boolean => {
      n.raw.step(msg({ type: MessageType.Vote, from, to: 1, term: 1 }));
      const resp = byType(drainMessages(n), MessageType.VoteResp);
      assert.equal(resp.length, 1);
      return !resp[0]!.reject;
    };
    assert.equal(ask(2), true, "first candidate of the term gets the vote");
    assert.equal(ask(3), false, "a second candidate in the same term is refused");
    assert.equal(ask(2), true, "the same candidate asking again is granted again (lost response)");
    assert.equal(n.raw.status().vote, 2);
  });

  it("§5.2 a vote is persisted in the same Ready that carries the granting response", () => {
    const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
    n.raw.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 4 }));
    const rd = flush(n);
    assert.deepEqual(rd.hardState, { term: 4, vote: 3, commit: 0 });
    assert.equal(rd.mustSync, true, "the vote must reach disk before the response is sent");
    assert.equal(byType(rd.messages, MessageType.VoteResp)[0]?.reject, false);
    assert.deepEqual(n.storage.hardState, { term: 4, vote: 3, commit: 0 });
  });

  it("§5.2 a restarted server remembers its term and vote from stable storage and does not vote twice", () => {
    const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
    n.raw.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3 }));
    flush(n);
    // A new RawNode over the same storage is the same server after a crash.
    const again = new RawNode({ id: 1, storage: n.storage, random: zeroRandom, preVote: false, checkQuorum: false });
    assert.equal(again.status().term, 3);
    assert.equal(again.status().vote, 2);
    again.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 3 }));
    const rd = again.ready();
    assert.deepEqual(byType(rd.messages, MessageType.VoteResp).map((m) => m.reject), [true]);
  });

  it("§5.2 a candidate that receives AppendEntries from a leader of its term becomes follower", () => {
    for (const type of [MessageType.App, MessageType.Heartbeat]) {
      const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
      n.raw.campaign();
      drainMessages(n);
      n.raw.step(msg({ type, from: 2, to: 1, term: 1 }));
      drainMessages(n);
      assert.equal(n.raw.status().state, StateType.Follower, MessageType[type]);
      assert.equal(n.raw.status().term, 1, "the term does not change");
      assert.equal(n.raw.status().lead, 2);
    }
  });

  it("§5.2 a candidate whose election times out starts a new election in a higher term", () => {
    const n = newNode(1, { voters: [1, 2, 3], ...noPreVote });
    n.raw.campaign();
    drainMessages(n);
    tickN(n, 10);
    const rd = flush(n);
    assert.equal(n.raw.status().state, StateType.Candidate);
    assert.equal(n.raw.status().term, 2);
    assert.deepEqual(byType(rd.messages, MessageType.Vote).map((m) => [m.to, m.term]).sort(), [[2, 2], [3, 2]]);
  });

  it("§5.2 (thesis §9.6 pre-vote) a follower that times out asks for pre-votes without raising its term", () => {
    const n = newNode(1, { voters: [1, 2, 3], hardState: { term: 3, vote: 0, commit: 0 } });
    tickN(n, 10);
    const rd = flush(n);
    assert.equal(n.raw.status().state, StateType.PreCandidate);
    assert.equal(n.raw.status().term, 3, "a pre-election does not change the term");
    assert.equal(rd.hardState, undefined, "nothing to persist");
    const pv = byType(rd.messages, MessageType.PreVote);
    assert.deepEqual(pv.map((m) => [m.to, m.term]).sort(), [[2, 4], [3, 4]], "asks for the term it would campaign in");
    // A voter that would not vote for it keeps its own term too.
    const voter = newNode(2, { voters: [1, 2, 3], log: [[1, 3]], hardState: { term: 3, vote: 0, commit: 0 } });
    voter.raw.step(pv.find((m) => m.to === 2)!);
    const ans = drainMessages(voter);
    assert.equal(ans[0]?.type, MessageType.PreVoteResp);
    assert.equal(ans[0]?.reject, true, "its log is behind the voter's");
    assert.equal(voter.raw.status().term, 3);
  });
});

describe("raft paper §5.4.1 election restriction", () => {
  // The voter's log ends at index 2, term 2.
  const cases: Array<[lastIndex: number, lastTerm: number, granted: boolean]> = [
    [2, 1, false],
    [1, 2, false],
    [3, 1, false],
    [1, 1, false],
    [2, 2, true],
    [3, 2, true],
    [1, 3, true],
    [3, 3, true],
  ];

  it("§5.4.1 voter denies a candidate whose log is less up to date", () => {
    for (const [lastIndex, lastTerm, granted] of cases) {
      if (granted) continue;
      const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 2]], hardState: { term: 2, vote: 0, commit: 0 }, ...noPreVote });
      n.raw.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, index: lastIndex, logTerm: lastTerm }));
      const resp = byType(drainMessages(n), MessageType.VoteResp);
      assert.equal(resp[0]?.reject, true, `candidate log ${lastIndex}/${lastTerm}`);
      assert.equal(n.raw.status().vote, 0, `no vote recorded for ${lastIndex}/${lastTerm}`);
    }
  });

  it("§5.4.1 voter grants a candidate whose log is at least as up to date (later last term, or same term and not shorter)", () => {
    for (const [lastIndex, lastTerm, granted] of cases) {
      if (!granted) continue;
      const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 2]], hardState: { term: 2, vote: 0, commit: 0 }, ...noPreVote });
      n.raw.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, index: lastIndex, logTerm: lastTerm }));
      const resp = byType(drainMessages(n), MessageType.VoteResp);
      assert.equal(resp[0]?.reject, false, `candidate log ${lastIndex}/${lastTerm}`);
      assert.equal(n.raw.status().vote, 2);
    }
  });

  it("§5.4.1 pre-votes follow the same restriction", () => {
    for (const [lastIndex, lastTerm, granted] of cases) {
      const n = newNode(1, { voters: [1, 2, 3], log: [[1, 1], [2, 2]], hardState: { term: 2, vote: 0, commit: 0 } });
      n.raw.step(msg({ type: MessageType.PreVote, from: 2, to: 1, term: 3, index: lastIndex, logTerm: lastTerm }));
      const resp = byType(drainMessages(n), MessageType.PreVoteResp);
      assert.equal(resp[0]?.reject, !granted, `candidate log ${lastIndex}/${lastTerm}`);
      assert.equal(n.raw.status().term, 2, "a pre-vote never changes the voter's term");
      assert.equal(n.raw.status().vote, 0, "a pre-vote is not a vote");
    }
  });
});
