import { strict as assert } from "node:assert";
import { Network, bytes } from "./network.js";
import { MessageType } from "../../src/core/types.js";

describe("raft core: the Ready contract", () => {
  it("a follower's acknowledgement travels in the same Ready as the entries it acknowledges, which must be synced", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).raw.propose(bytes("a"));
    net.processReady(1);
    net.deliverAll();
    const rd = net.node(2).raw.ready();
    assert.equal(rd.entries.length, 1);
    assert.ok(rd.mustSync);
    assert.ok(rd.messages.some((m) => m.type === MessageType.AppResp && m.index === rd.entries[0]!.index));
    net.node(2).storage.append(rd.entries);
    net.node(2).raw.advance(rd);
  });

  it("a Ready that only moves commit carries the hard state but need not be synced", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).raw.propose(bytes("a"));
    net.processReady(1);
    net.deliverAll();
    net.processReady(2);
    net.processReady(3);
    net.deliverAll();
    const rd = net.node(1).raw.ready();
    assert.equal(rd.entries.length, 0);
    assert.equal(rd.hardState?.commit, 2);
    assert.equal(rd.mustSync, false);
    assert.equal(rd.committedEntries.length, 1);
    net.node(1).raw.advance(rd);
  });

  it("while a leader's Ready is in flight, committedAfter lists what the followers' acknowledgements committed, and only to that leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const leader = net.node(1);
    const term = leader.raw.status().term;
    const applied = leader.appliedIndex;
    leader.raw.propose(bytes("a"));
    const rd = leader.raw.ready();
    assert.ok(rd.mustSync && rd.entries.length === 1, "the entry is in the Ready in flight");
    net.queue.push(...rd.messages);
    net.deliverAll();
    assert.deepEqual(leader.raw.committedAfter(applied, term), [], "not committed: no follower holds it yet");
    // Both followers persist it and answer while the leader's own write is still running.
    net.processReady(2);
    net.processReady(3);
    net.deliverAll();
    const early = leader.raw.committedAfter(applied, term);
    assert.deepEqual(early.map((e) => e.index), [rd.entries[0]!.index], "committed by the two followers alone");
    assert.deepEqual(leader.raw.committedAfter(rd.entries[0]!.index, term), [], "nothing after what was applied");
    assert.deepEqual(leader.raw.committedAfter(applied, term + 1), [], "another term: nothing");
    assert.deepEqual(net.node(2).raw.committedAfter(applied, term), [], "a follower: nothing");
    // The next Ready still lists the entry as committed; the caller skips what it applied.
    leader.storage.append(rd.entries);
    leader.raw.advance(rd);
    const next = leader.raw.ready();
    assert.deepEqual(next.committedEntries.map((e) => e.index), [rd.entries[0]!.index]);
    leader.raw.advance(next);
  });

  it("a leader's committedAfter lists nothing past a compacted entry rather than skip it", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (const v of ["a", "b", "c"]) net.propose(1, v);
    const leader = net.node(1);
    const term = leader.raw.status().term;
    const last = leader.raw.status().lastIndex;
    leader.storage.compact(last - 1);
    assert.deepEqual(leader.raw.committedAfter(0, term), [], "entries 1.. are compacted: none is skipped");
    assert.deepEqual(leader.raw.committedAfter(last - 1, term).map((e) => e.index), [last], "from the first index on, the entries are there");
  });

  it("an idle cluster has no Ready after stabilizing", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.propose(1, "a");
    for (const id of [1, 2, 3]) assert.equal(net.node(id).raw.hasReady(), false, `node ${id}`);
  });

  it("a Ready reports a changed leader and role once", () => {
    const net = new Network([1, 2, 3]);
    net.node(1).raw.campaign();
    const first = net.node(1).raw.ready();
    assert.equal(first.softState?.state, "pre-candidate");
    net.node(1).raw.advance(first);
    net.node(1).raw.tick();
    const rd = net.node(1).raw.ready();
    assert.equal(rd.softState, undefined);
    net.node(1).raw.advance(rd);
  });

  it("a leader's heartbeats can be taken out of the outbox while a Ready is in flight; the rest stays for the next Ready", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const raw = net.node(1).raw;
    raw.propose(bytes("a"));
    const rd = raw.ready();
    // While rd is in flight: a proposal (its appends wait for the next Ready) and a heartbeat tick.
    raw.propose(bytes("b"));
    raw.tick();
    const beats = raw.takeHeartbeats();
    assert.deepEqual(beats.map((m) => [m.type, m.to]).sort(), [[MessageType.Heartbeat, 2], [MessageType.Heartbeat, 3]]);
    for (const m of beats) assert.ok(m.commit <= raw.status().commit, "commit no higher than the leader's");
    assert.deepEqual(raw.takeHeartbeats(), [], "taken once");
    net.node(1).storage.append(rd.entries);
    raw.advance(rd);
    const next = raw.ready();
    assert.ok(next.messages.some((m) => m.type === MessageType.App && m.entries.length > 0), "the appends of b stay for the next Ready");
    assert.ok(!next.messages.some((m) => m.type === MessageType.Heartbeat));
    // A follower has no heartbeats to take.
    net.node(2).raw.tick();
    assert.deepEqual(net.node(2).raw.takeHeartbeats(), []);
  });

  it("proposals between ready() and advance() leave in the next Ready, not lost", () => {
    const net = new Network([1]);
    net.elect(1);
    const raw = net.node(1).raw;
    raw.propose(bytes("a"));
    const rd = raw.ready();
    raw.propose(bytes("b"));
    net.node(1).storage.append(rd.entries);
    raw.advance(rd);
    net.stabilize();
    assert.equal(rd.committedEntries.length, 0);
    assert.deepEqual(net.node(1).applied, ["a", "b"]);
    assert.equal(raw.status().commit, 3);
    assert.equal(net.node(1).storage.lastIndex(), 3);
  });
});
