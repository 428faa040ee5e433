import { strict as assert } from "node:assert";
import { Network, bytes, codeOf } from "./network.js";
import { type Message, MessageType, StateType } from "../../src/core/types.js";
import { RaftError } from "../../src/core/errors.js";
import { MemoryStorage } from "../../src/core/memory-storage.js";
import { RawNode } from "../../src/core/raw-node.js";
import { SeededRandom } from "@shoal/common";

describe("raft core: replication", () => {
  it("replicates and commits proposals on every member in order", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 10; i++) net.propose(1, `v${i}`);
    const want = Array.from({ length: 10 }, (_, i) => `v${i}`);
    for (const id of [1, 2, 3]) {
      assert.deepEqual(net.node(id).applied, want, `applied on ${id}`);
      assert.equal(net.node(id).raw.status().commit, 11);
    }
  });

  it("batches many proposals into one Ready and one append per follower", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const leader = net.node(1).raw;
    for (let i = 0; i < 50; i++) leader.propose(bytes(`p${i}`));
    const rd = leader.ready();
    assert.equal(rd.entries.length, 50);
    const apps = rd.messages.filter((m) => m.type === MessageType.App && m.entries.length > 0);
    assert.ok(apps.length <= 2 * 2, `at most a couple of appends per follower, got ${apps.length}`);
    leader.advance(rd);
  });

  it("limits each append to maxSizePerMsgBytes", () => {
    const net = new Network([1, 2], { maxSizePerMsgBytes: 100 });
    net.elect(1);
    const sizes: number[] = [];
    net.dropIf = (m: Message) => {
      if (m.type === MessageType.App && m.entries.length > 0) sizes.push(m.entries.length);
      return false;
    };
    for (let i = 0; i < 10; i++) net.node(1).raw.propose(new Uint8Array(40));
    net.stabilize();
    assert.ok(sizes.every((n) => n <= 2), `entries per append: ${sizes.join(",")}`);
    assert.equal(net.node(2).raw.status().commit, 11);
  });

  it("the leader counts itself toward commit only after advance persisted its entries", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const leader = net.node(1).raw;
    const { index } = leader.propose(bytes("a"));
    const rd = leader.ready();
    // Deliver the appends and let followers answer before the leader persists.
    net.queue.push(...rd.messages);
    net.isolate(3);
    net.deliverAll();
    net.processReady(2);
    net.deliverAll();
    // 2 of 3 hold the entry, but one of them is the leader, which has not persisted it yet.
    assert.ok(leader.status().commit < index);
    net.node(1).storage.append(rd.entries);
    leader.advance(rd);
    assert.equal(leader.status().commit, index);
  });

  it("a replicating follower whose appends were all lost catches up after a heartbeat", () => {
    const net = new Network([1, 2, 3], { maxInflightMsgs: 2 });
    net.elect(1);
    net.dropIf = (m) => m.type === MessageType.App && m.to === 2;
    for (let i = 0; i < 5; i++) net.propose(1, `x${i}`);
    assert.equal(net.node(1).raw.status().progress.get(2)?.inflight, 2);
    net.dropIf = undefined;
    net.tick(3);
    assert.deepEqual(net.node(2).applied, ["x0", "x1", "x2", "x3", "x4"]);
  });

  it("a follower truncates a conflicting uncommitted suffix and takes the leader's log", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "ok");
    net.isolate(1);
    // These reach only the old leader's log.
    net.node(1).raw.propose(bytes("lost1"));
    net.node(1).raw.propose(bytes("lost2"));
    net.stabilize();
    net.tick(30, [2, 3]);
    const newLead = net.leaders().find((id) => id !== 1);
    assert.ok(newLead !== undefined);
    net.propose(newLead, "won");
    net.heal();
    net.tick(3);
    for (const id of [1, 2, 3]) assert.deepEqual(net.node(id).applied, ["ok", "won"], `applied on ${id}`);
    const logs = [1, 2, 3].map((id) => net.node(id).storage.lastIndex());
    assert.equal(new Set(logs).size, 1);
  });

  it("figure 8: an older-term entry on a majority is not committed until an entry of the current term is", () => {
    const net = new Network([1, 2, 3, 4, 5], { preVote: false, checkQuorum: false, maxSizePerMsgBytes: 1 });
    net.elect(1);
    // "a" (index 2, term 1) reaches only 1 and 2.
    net.dropIf = (m) => m.type === MessageType.App && m.from === 1 && m.to !== 2;
    net.propose(1, "a");
    assert.equal(net.node(1).raw.status().commit, 1);
    // 2 becomes leader in term 2 and appends its empty entry (index 3, term 2), which we hold back.
    net.dropIf = (m) => {
      if (m.type === MessageType.App) m.entries = m.entries.filter((e) => e.term !== 2);
      return false;
    };
    net.elect(2);
    assert.deepEqual(net.leaders(), [2]);
    net.tick(3);
    // Index 2 (term 1) is now on 1, 2 and 3: a majority, yet it must not count as committed.
    assert.equal(net.node(3).storage.lastIndex(), 2);
    assert.equal(net.node(2).raw.status().commit, 1);
    net.dropIf = undefined;
    net.tick(2);
    assert.equal(net.node(2).raw.status().commit, 3);
    assert.deepEqual(net.node(5).applied, ["a"]);
  });

  it("refuses proposals over the uncommitted bound with RAFT_TOO_MANY_UNCOMMITTED, and accepts them after commit", () => {
    const net = new Network([1, 2, 3], { maxUncommittedEntriesBytes: 100 });
    net.elect(1);
    net.isolate(1);
    const leader = net.node(1).raw;
    leader.propose(new Uint8Array(60));
    assert.equal(
      codeOf(() => leader.propose(new Uint8Array(60))),
      "RAFT_TOO_MANY_UNCOMMITTED",
    );
    net.heal();
    net.tick(2);
    assert.equal(
      codeOf(() => net.propose(1, "x".repeat(60))),
      undefined,
    );
  });

  it("proposing on a follower throws RAFT_NOT_LEADER naming the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    try {
      net.node(2).raw.propose(bytes("x"));
      assert.fail("expected RAFT_NOT_LEADER");
    } catch (err: unknown) {
      assert.ok(err instanceof RaftError);
      assert.equal(err.code, "RAFT_NOT_LEADER");
      assert.equal(err.meta["leader"], 1);
    }
  });

  it("a proposal message stepped into a follower is forwarded to the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(2).raw.step({
      type: MessageType.Prop, to: 2, from: 3, term: 0, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0,
      entries: [{ term: 0, index: 0, type: 0, data: bytes("fwd") }],
    });
    net.stabilize();
    assert.deepEqual(net.node(3).applied, ["fwd"]);
  });

  it("never puts a message to self in Ready", () => {
    const net = new Network([1, 2, 3]);
    // network.processReady throws on a message to self
    net.elect(1);
    net.propose(1, "x");
    net.node(1).raw.readIndex(bytes("r"));
    net.stabilize();
    assert.equal(net.node(1).raw.status().state, StateType.Leader);
  });

  it("snapshot catch-up: a member behind the compacted log gets a snapshot then appends", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 20; i++) net.propose(1, `s${i}`);
    const leader = net.node(1);
    const snapIndex = leader.appliedIndex;
    leader.storage.createSnapshot(snapIndex, leader.confState, bytes(JSON.stringify(leader.applied)));
    leader.storage.compact(snapIndex);
    net.heal();
    net.tick(3);
    net.propose(1, "after");
    const want = [...Array.from({ length: 20 }, (_, i) => `s${i}`), "after"];
    assert.deepEqual(net.node(3).applied, want);
    assert.equal(net.node(3).storage.snapshot().metadata.index, snapIndex);
    const pr = net.node(1).raw.status().progress.get(3);
    assert.equal(pr?.state, "replicate");
    assert.equal(pr?.match, net.node(1).storage.lastIndex());
  });

  it("restart from storage keeps term, vote, commit and the log", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    net.propose(1, "b");
    const before = net.node(2).raw.status();
    const n2 = net.restart(2);
    const after = n2.raw.status();
    assert.equal(after.term, before.term);
    assert.equal(after.vote, before.vote);
    assert.equal(after.commit, before.commit);
    assert.equal(after.lastIndex, before.lastIndex);
    assert.equal(after.applied, before.applied);
    assert.equal(n2.raw.hasReady(), false, "nothing to re-apply when applied is passed");
    net.propose(1, "c");
    assert.deepEqual(net.node(2).applied, ["a", "b", "c"]);
  });

  it("a restarted member without an applied index re-delivers committed entries", () => {
    const storage = new MemoryStorage({ confState: { voters: [1], learners: [], removed: [] } });
    const a = new RawNode({ id: 1, storage, random: new SeededRandom(1) });
    a.campaign();
    const drive = (n: RawNode): string[] => {
      const out: string[] = [];
      while (n.hasReady()) {
        const rd = n.ready();
        storage.append(rd.entries);
        if (rd.hardState) storage.setHardState(rd.hardState);
        for (const e of rd.committedEntries) if (e.data.length > 0) out.push(new TextDecoder().decode(e.data));
        n.advance(rd);
      }
      return out;
    };
    drive(a);
    a.propose(bytes("one"));
    assert.deepEqual(drive(a), ["one"]);
    const b = new RawNode({ id: 1, storage, random: new SeededRandom(2) });
    assert.equal(b.status().term, 1);
    assert.deepEqual(drive(b), ["one"]);
  });
});
