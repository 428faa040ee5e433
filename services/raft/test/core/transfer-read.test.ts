import { strict as assert } from "node:assert";
import { Network, bytes, str } from "./network.js";
import { MessageType, StateType } from "../../src/core/types.js";
import { RaftError } from "../../src/core/errors.js";

describe("raft core: leadership transfer", () => {
  it("transfers leadership to an up-to-date follower at once", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    net.node(1).raw.transferLeader(2);
    net.stabilize();
    assert.deepEqual(net.leaders(), [2]);
    assert.equal(net.node(2).raw.status().term, 2);
    net.propose(2, "b");
    assert.deepEqual(net.node(1).applied, ["a", "b"]);
  });

  it("catches a lagging transferee up before handing over", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.propose(1, "a");
    net.propose(1, "b");
    net.heal();
    net.node(1).raw.transferLeader(3);
    net.stabilize();
    assert.deepEqual(net.leaders(), [3]);
    assert.deepEqual(net.node(3).applied, ["a", "b"]);
  });

  it("a transfer request on a follower is forwarded to the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(3).raw.transferLeader(2);
    net.stabilize();
    assert.deepEqual(net.leaders(), [2]);
  });

  it("drops proposals during a transfer and aborts the transfer after an election timeout", () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.elect(1);
    net.isolate(3);
    net.propose(1, "a");
    net.node(1).raw.transferLeader(3);
    net.stabilize();
    assert.equal(net.node(1).raw.status().leadTransferee, 3);
    try {
      net.node(1).raw.propose(bytes("x"));
      assert.fail("expected RAFT_PROPOSAL_DROPPED");
    } catch (err: unknown) {
      assert.ok(err instanceof RaftError);
      assert.equal(err.code, "RAFT_PROPOSAL_DROPPED");
    }
    net.tick(10, [1, 2]);
    assert.equal(net.node(1).raw.status().leadTransferee, 0);
    assert.deepEqual(net.leaders(), [1]);
    net.propose(1, "b");
    assert.deepEqual(net.node(2).applied, ["a", "b"]);
  });
});

describe("raft core: read index", () => {
  it("a leader answers a read after a heartbeat round confirms it, at its commit index", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    net.node(1).raw.readIndex(bytes("r1"));
    net.stabilize();
    const rs = net.node(1).readStates;
    assert.equal(rs.length, 1);
    assert.equal(str(rs[0]!.requestCtx), "r1");
    assert.equal(rs[0]!.index, net.node(1).raw.status().commit);
  });

  it("an isolated leader cannot answer a read", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.node(1).raw.readIndex(bytes("r1"));
    net.stabilize();
    assert.equal(net.node(1).readStates.length, 0);
    net.heal();
    net.tick(1);
    assert.equal(net.node(1).readStates.length, 1, "the next heartbeat round carries the pending read");
  });

  it("a follower's read is forwarded to the leader and answered to the follower", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    net.node(2).raw.readIndex(bytes("f1"));
    net.stabilize();
    const rs = net.node(2).readStates;
    assert.equal(rs.length, 1);
    assert.equal(str(rs[0]!.requestCtx), "f1");
    assert.equal(rs[0]!.index, 2);
    assert.equal(net.node(1).readStates.length, 0);
  });

  it("reads from different members with the same context are each answered", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    net.node(2).raw.readIndex(bytes("same"));
    net.node(3).raw.readIndex(bytes("same"));
    net.node(1).raw.readIndex(bytes("same"));
    net.stabilize();
    for (const id of [1, 2, 3]) {
      assert.equal(net.node(id).readStates.length, 1, `read states on ${id}`);
      assert.equal(str(net.node(id).readStates[0]!.requestCtx), "same");
    }
  });

  it("a read that arrives after a write commits is answered at an index covering the write", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(2).raw.readIndex(bytes("r"));
    net.processReady(2);
    const { index } = net.propose(1, "w");
    net.node(3).raw.readIndex(bytes("r"));
    net.stabilize();
    assert.ok(net.node(3).readStates[0]!.index >= index);
  });

  it("a single member answers a read at once", () => {
    const net = new Network([1]);
    net.elect(1);
    net.node(1).raw.readIndex(bytes("s"));
    const rd = net.node(1).raw.ready();
    assert.equal(rd.readStates.length, 1);
    assert.equal(rd.readStates[0]!.index, 1);
    assert.equal(rd.messages.length, 0);
  });

  it("a new leader holds reads until it commits an entry of its term", () => {
    const net = new Network([1, 2, 3], { preVote: false, checkQuorum: false });
    net.elect(1);
    net.propose(1, "a");
    net.node(2).raw.campaign();
    // Deliver only the election, not the new leader's appends.
    net.dropIf = (m) => m.from === 2 && m.type === MessageType.App;
    net.stabilize();
    assert.equal(net.node(2).raw.status().state, StateType.Leader);
    net.node(2).raw.readIndex(bytes("held"));
    net.stabilize();
    assert.equal(net.node(2).readStates.length, 0);
    net.dropIf = undefined;
    net.tick(1);
    assert.equal(net.node(2).readStates.length, 1);
    assert.equal(net.node(2).readStates[0]!.index, net.node(2).raw.status().commit);
  });
});
