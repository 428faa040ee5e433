import { strict as assert } from "node:assert";
import { Network, codeOf } from "./network.js";
import { ConfChangeType, StateType } from "../../src/core/types.js";
import { MemoryStorage } from "../../src/core/memory-storage.js";

/** A three-member cluster with leader 1 and some history. */
function cluster(): Network {
  const net = new Network([1, 2, 3]);
  net.elect(1);
  net.propose(1, "a");
  net.propose(1, "b");
  return net;
}

describe("raft core: membership", () => {
  it("adds a learner that starts empty: it learns the configuration and the log but does not vote", () => {
    const net = cluster();
    net.add(4, new MemoryStorage());
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4 });
    net.stabilize();
    net.tick(3);
    const n4 = net.node(4);
    assert.deepEqual(n4.applied, ["a", "b"]);
    assert.deepEqual(n4.confState, { voters: [1, 2, 3], learners: [4], removed: [] });
    assert.equal(net.node(1).raw.status().progress.get(4)?.isLearner, true);
    // A learner never campaigns.
    net.isolate(4);
    net.tick(50, [4]);
    assert.equal(n4.raw.status().state, StateType.Follower);
    assert.equal(n4.raw.status().term, 1);
  });

  it("a learner does not count toward the commit quorum", () => {
    const net = cluster();
    net.add(4, new MemoryStorage());
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4 });
    net.stabilize();
    net.tick(3);
    net.isolate(2);
    net.isolate(3);
    const { index } = net.propose(1, "c");
    assert.ok(net.node(4).storage.lastIndex() >= index, "the learner has the entry");
    assert.ok(net.node(1).raw.status().commit < index, "but leader + learner are no quorum");
  });

  it("AddVoter promotes a learner, which then counts toward quorum", () => {
    const net = cluster();
    net.add(4, new MemoryStorage());
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4 });
    net.stabilize();
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 4 });
    net.stabilize();
    net.tick(2);
    assert.deepEqual(net.node(1).confState.voters, [1, 2, 3, 4]);
    assert.deepEqual(net.node(4).confState.learners, []);
    // 1, 2 and 4 are a quorum of 4 without 3.
    net.isolate(3);
    const { index } = net.propose(1, "c");
    assert.equal(net.node(1).raw.status().commit, index);
  });

  it("removes a follower: its ID is refused forever and its messages are ignored", () => {
    const net = cluster();
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 });
    net.stabilize();
    assert.deepEqual(net.node(1).confState, { voters: [1, 2], learners: [], removed: [3] });
    assert.equal(
      codeOf(() => net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 3 })),
      "RAFT_MEMBER_REMOVED",
    );
    // The removed member may time out and campaign: nobody listens.
    net.tick(40, [3]);
    net.tick(3);
    assert.deepEqual(net.leaders().filter((id) => id !== 3), [1]);
    assert.equal(net.node(1).raw.status().term, 1);
    net.propose(1, "c");
    assert.deepEqual(net.node(2).applied, ["a", "b", "c"]);
  });

  it("a leader that removes itself steps down, stops leading, and the others elect a new leader", () => {
    const net = cluster();
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1 });
    net.stabilize();
    assert.equal(net.node(1).raw.status().state, StateType.Follower);
    net.tick(40);
    const leaders = net.leaders();
    assert.equal(leaders.length, 1);
    assert.notEqual(leaders[0], 1);
    net.propose(leaders[0]!, "after");
    assert.deepEqual(net.node(2).applied, ["a", "b", "after"]);
    assert.deepEqual(net.node(2).confState.removed, [1]);
    assert.equal(net.node(1).raw.status().state, StateType.Follower);
  });

  it("refuses a second conf change while one is pending with RAFT_CONF_CHANGE_PENDING", () => {
    const net = cluster();
    const leader = net.node(1).raw;
    leader.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4 });
    assert.equal(
      codeOf(() => leader.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 5 })),
      "RAFT_CONF_CHANGE_PENDING",
    );
    net.stabilize();
    // Applied now: the next one is accepted.
    assert.equal(
      codeOf(() => leader.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 5 })),
      undefined,
    );
  });

  it("removing the last voter is refused", () => {
    const net = new Network([1]);
    net.elect(1);
    assert.equal(
      codeOf(() => net.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1 })),
      "RAFT_INVALID_ARGUMENT",
    );
  });

  it("a single member adds a voter and the commit quorum is recomputed", () => {
    const net = new Network([1]);
    net.elect(1);
    net.propose(1, "a");
    net.add(2, new MemoryStorage());
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 2 });
    net.stabilize();
    net.tick(2);
    assert.deepEqual(net.node(2).applied, ["a"]);
    net.isolate(2);
    const { index } = net.propose(1, "b");
    assert.ok(net.node(1).raw.status().commit < index, "now 2 of 2 are needed");
    net.heal();
    net.tick(2);
    assert.equal(net.node(1).raw.status().commit, index);
  });

  it("removing a member lowers the quorum and may commit pending entries at once", () => {
    const net = cluster();
    net.isolate(3);
    net.isolate(2);
    const { index } = net.propose(1, "c");
    assert.ok(net.node(1).raw.status().commit < index);
    net.heal();
    net.isolate(3);
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 });
    net.stabilize();
    assert.ok(net.node(1).raw.status().commit > index);
    assert.deepEqual(net.node(2).applied, ["a", "b", "c"]);
  });
});
