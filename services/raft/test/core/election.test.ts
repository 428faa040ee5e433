import { strict as assert } from "node:assert";
import { Network } from "./network.js";
import { MessageType, StateType } from "../../src/core/types.js";
import { MemoryStorage } from "../../src/core/memory-storage.js";
import { RawNode } from "../../src/core/raw-node.js";
import { SeededRandom } from "@shoal/common";

describe("raft core: elections", () => {
  it("a single member elects itself and commits its empty entry after advance", () => {
    const net = new Network([1]);
    net.elect(1);
    const st = net.node(1).raw.status();
    assert.equal(st.state, StateType.Leader);
    assert.equal(st.term, 1);
    assert.equal(st.commit, 1);
    assert.equal(net.node(1).storage.hardState.vote, 1);
  });

  it("a single member elects itself on ticks alone", () => {
    const net = new Network([1]);
    net.tick(20);
    assert.deepEqual(net.leaders(), [1]);
  });

  for (const size of [3, 5]) {
    it(`a ${size}-member cluster elects the campaigning member and everyone agrees on the leader`, () => {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const net = new Network(ids);
      net.elect(2);
      assert.deepEqual(net.leaders(), [2]);
      for (const id of ids) {
        const st = net.node(id).raw.status();
        assert.equal(st.lead, 2, `lead seen by ${id}`);
        assert.equal(st.term, 1);
        assert.equal(st.commit, 1, `commit on ${id}`);
      }
    });

    it(`a ${size}-member cluster elects exactly one leader from ticks`, () => {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const net = new Network(ids);
      net.tick(40);
      assert.equal(net.leaders().length, 1);
    });
  }

  it("a split vote resolves in a later term with one leader", () => {
    const net = new Network([1, 2, 3, 4], { preVote: false });
    // 1 and 2 campaign together; 3 hears 1 first and 4 hears 2 first: 2 votes each.
    net.node(1).raw.campaign();
    net.node(2).raw.campaign();
    net.processReady(1);
    net.processReady(2);
    net.queue.sort((a, b) => {
      const rank = (m: typeof a): number => (m.to === 3 ? (m.from === 1 ? 0 : 1) : m.to === 4 ? (m.from === 2 ? 0 : 1) : 2);
      return rank(a) - rank(b);
    });
    net.stabilize();
    assert.equal(net.leaders().length, 0, "nobody wins the split term");
    assert.equal(net.node(1).raw.status().term, 1);
    net.tick(40);
    assert.equal(net.leaders().length, 1);
    assert.ok(net.node(net.leaders()[0]!).raw.status().term >= 2);
  });

  it("the vote is in the hard state of the Ready that carries the vote request", () => {
    const net = new Network([1, 2, 3], { preVote: false });
    net.node(1).raw.campaign();
    const rd = net.node(1).raw.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 0 });
    assert.ok(rd.mustSync);
    assert.deepEqual(
      rd.messages.map((m) => [m.type, m.to, m.term]),
      [
        [MessageType.Vote, 2, 1],
        [MessageType.Vote, 3, 1],
      ],
    );
  });

  it("the election timeout is randomized within [electionTicks, 2*electionTicks)", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const storage = new MemoryStorage({ confState: { voters: [1, 2, 3], learners: [], removed: [] } });
      const raw = new RawNode({ id: 1, storage, random: new SeededRandom(seed), electionTicks: 10 });
      let ticks = 0;
      while (raw.status().state === StateType.Follower && ticks < 100) {
        raw.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `seed ${seed}: campaigned after ${ticks} ticks`);
      seen.add(ticks);
    }
    assert.ok(seen.size > 3, "timeouts vary between members");
  });

  it("pre-vote keeps a partitioned member from inflating its term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.tick(100, [3]);
    assert.equal(net.node(3).raw.status().term, 1);
    assert.equal(net.node(3).raw.status().state, StateType.PreCandidate);
    net.heal();
    net.tick(5);
    assert.deepEqual(net.leaders(), [1]);
    assert.equal(net.node(1).raw.status().term, 1);
  });

  it("without pre-vote a partitioned member's term grows and deposes the leader on return", () => {
    const net = new Network([1, 2, 3], { preVote: false, checkQuorum: false });
    net.elect(1);
    net.isolate(3);
    net.tick(100, [3]);
    assert.ok(net.node(3).raw.status().term > 2);
    net.heal();
    net.tick(40);
    assert.ok(net.node(1).raw.status().term > 1);
  });

  it("check-quorum: a leader that hears from no quorum for an election timeout steps down", () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.elect(1);
    net.isolate(1);
    net.tick(21, [1]);
    assert.equal(net.node(1).raw.status().state, StateType.Follower);
  });

  it("a follower told its leader's address refuses connections forgets it and campaigns at its next tick; the other follower, told too, grants at once", () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.elect(1);
    net.isolate(1);
    assert.equal(net.node(2).raw.reportLeaderDown(1), true);
    assert.equal(net.node(3).raw.reportLeaderDown(1), true);
    assert.equal(net.node(2).raw.status().lead, 0);
    // Ranked by id among the other voters: 2 waits 1 tick, 3 waits 3.
    net.tick(1, [2, 3]);
    assert.deepEqual(
      net.leaders().filter((id) => id !== 1),
      [2],
    );
    assert.equal(net.node(3).raw.status().lead, 2);
  });

  it("a report that a member refuses connections is ignored unless it names a follower's own leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    assert.equal(net.node(2).raw.reportLeaderDown(3), false);
    assert.equal(net.node(1).raw.reportLeaderDown(2), false);
    assert.equal(net.node(2).raw.status().lead, 1);
  });

  it("a wrong report (the leader is alive) costs no election: the other follower's lease refuses the pre-vote, and the leader's next heartbeat wins the follower back", () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.elect(1);
    assert.equal(net.node(2).raw.reportLeaderDown(1), true);
    net.tick(1, [2]);
    net.tick(3, [1]);
    assert.deepEqual(net.leaders(), [1]);
    for (const id of [2, 3]) {
      const st = net.node(id).raw.status();
      assert.equal(st.term, 1, `term on ${id}`);
      assert.equal(st.lead, 1, `lead on ${id}`);
      assert.equal(st.state, StateType.Follower);
    }
  });

  it("check-quorum: followers in a leader lease ignore a vote request", () => {
    const net = new Network([1, 2, 3], { preVote: false });
    net.elect(1);
    // 3 is cut off from the leader only, so it times out while 2 still hears the leader.
    net.cutLink(1, 3);
    net.tick(30, [3]);
    assert.deepEqual(net.leaders(), [1]);
    assert.equal(net.node(2).raw.status().term, 1);
  });

  it("check-quorum: a follower one tick short of its election timeout grants a pre-vote (members' ticks are not in phase)", () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.elect(1);
    net.isolate(1);
    // 2 has counted 9 ticks since the leader's last word when 3's (minimum) timeout fires.
    net.tick(9, [2]);
    assert.equal(net.node(2).raw.status().state, StateType.Follower);
    net.node(3).raw.campaign();
    net.stabilize();
    const lead = net.leaders().filter((id) => id !== 1);
    assert.deepEqual(lead, [3]);
  });

  it("check-quorum: a leader keeps its lease in the tick before its quorum check (a follower that timed out cannot depose it)", () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.elect(1);
    // The leader has counted 9 ticks since its last quorum check; its followers heard it each tick.
    net.tick(9, [1]);
    assert.deepEqual(net.leaders(), [1]);
    // A follower whose event loop stalled past its timeout campaigns, its log as long as the leader's.
    net.node(3).raw.campaign();
    net.stabilize();
    assert.deepEqual(net.leaders(), [1]);
    assert.equal(net.node(1).raw.status().term, 1);
  });

  it("a stale leader steps down when it hears a newer term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.tick(30, [2, 3]);
    const lead = net.leaders().filter((id) => id !== 1);
    assert.equal(lead.length, 1);
    net.heal();
    net.tick(2);
    assert.deepEqual(net.leaders(), lead);
    assert.equal(net.node(1).raw.status().lead, lead[0]);
  });

  it("a member whose log is behind cannot win an election", () => {
    const net = new Network([1, 2, 3], { preVote: false });
    net.elect(1);
    net.isolate(3);
    net.propose(1, "x");
    net.heal();
    net.isolate(1);
    net.node(3).raw.campaign();
    net.stabilize();
    assert.notEqual(net.node(3).raw.status().state, StateType.Leader);
  });
});
