import { strict as assert } from "node:assert";
import { Network, bytes } from "./network.js";
import { ConfChangeType, MessageType, StateType } from "../../src/core/types.js";
import { MemoryStorage } from "../../src/core/memory-storage.js";
import { makeMessage } from "../../src/core/util.js";

/** Compacts the leader's storage at its applied index. */
function compactLeader(net: Network, id: number): number {
  const n = net.node(id);
  n.storage.createSnapshot(n.appliedIndex, n.confState, bytes(JSON.stringify(n.applied)));
  n.storage.compact(n.appliedIndex);
  return n.appliedIndex;
}

describe("raft core: snapshots", () => {
  it("a member added after compaction learns data and configuration from the snapshot", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3 });
    net.stabilize();
    net.propose(1, "b");
    compactLeader(net, 1);
    net.add(4, new MemoryStorage());
    net.node(1).raw.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 4 });
    net.stabilize();
    net.tick(3);
    const n4 = net.node(4);
    assert.deepEqual(n4.applied, ["a", "b"]);
    assert.deepEqual(n4.confState, { voters: [1, 2, 4], learners: [], removed: [3] });
    assert.equal(n4.raw.status().commit, net.node(1).raw.status().commit);
  });

  it("a failed snapshot (reportSnapshot false) returns the member to probe and it is retried", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 5; i++) net.propose(1, `s${i}`);
    compactLeader(net, 1);
    net.heal();
    let snaps = 0;
    net.dropIf = (m) => {
      if (m.type !== MessageType.Snap) return false;
      snaps++;
      if (snaps === 1) {
        // The transport failed to send it.
        net.node(1).raw.reportSnapshot(3, false);
        return true;
      }
      return false;
    };
    net.tick(1);
    assert.equal(net.node(1).raw.status().progress.get(3)?.state, "probe");
    net.tick(3);
    assert.equal(snaps, 2);
    assert.deepEqual(net.node(3).applied, ["s0", "s1", "s2", "s3", "s4"]);
  });

  it("a follower ignores a snapshot older than its commit", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 3; i++) net.propose(1, `s${i}`);
    const n2 = net.node(2);
    const commit = n2.raw.status().commit;
    const old = { metadata: { index: 2, term: 1, confState: n2.confState }, data: bytes("[]") };
    n2.raw.step(makeMessage({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: old }));
    const rd = n2.raw.ready();
    assert.equal(rd.snapshot, undefined);
    assert.equal(n2.raw.status().commit, commit);
    const resp = rd.messages.find((m) => m.type === MessageType.AppResp);
    assert.equal(resp?.index, commit);
    n2.raw.advance(rd);
  });

  it("a follower restores a newer snapshot, replacing its log and configuration", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const n2 = net.node(2);
    const cs = { voters: [1, 2, 3, 4], learners: [5], removed: [9] };
    const snap = { metadata: { index: 50, term: 1, confState: cs }, data: bytes(JSON.stringify(["x"])) };
    n2.raw.step(makeMessage({ type: MessageType.Snap, from: 1, to: 2, term: 1, snapshot: snap }));
    net.processReady(2);
    const st = n2.raw.status();
    assert.equal(st.commit, 50);
    assert.equal(st.applied, 50);
    assert.deepEqual(st.confState, cs);
    assert.deepEqual(n2.applied, ["x"]);
    assert.equal(n2.storage.firstIndex(), 51);
  });
});

describe("raft core: robustness", () => {
  it("a forwarded proposal refused by the leader is dropped without throwing from step", () => {
    const net = new Network([1, 2, 3], { maxUncommittedEntriesBytes: 10 });
    net.elect(1);
    net.isolate(2);
    net.isolate(3);
    net.node(1).raw.propose(new Uint8Array(8));
    const prop = makeMessage({
      type: MessageType.Prop,
      from: 2,
      to: 1,
      entries: [{ term: 0, index: 0, type: 0, data: new Uint8Array(8) }],
    });
    assert.doesNotThrow(() => net.node(1).raw.step(prop));
    assert.equal(net.node(1).raw.status().state, StateType.Leader);
  });

  it("refuses local message types from peers with RAFT_STEP_LOCAL_MSG", () => {
    const net = new Network([1, 2, 3]);
    assert.throws(() => net.node(1).raw.step(makeMessage({ type: MessageType.Hup, from: 2, to: 1 })), /local/);
  });

  it("rejects an invalid configuration", () => {
    assert.throws(() => new Network([1], { electionTicks: 1, heartbeatTicks: 1 }), /heartbeatTicks/);
  });
});
