import { strict as assert } from "node:assert";
import { MessageType, StateType, type Message, type NodeId, type ProgressStatus, type RaftStatus } from "../../src/core/types.js";
import { canRemoveVoter, isCaughtUp, memberStatus, type MemberStatusInput } from "../../src/driver/member-status.js";
import { Cluster, put, waitFor } from "./helpers.js";

function progress(match: number): ProgressStatus {
  return { match, next: match + 1, state: "replicate", recentActive: true, isLearner: false, pendingSnapshot: 0, inflight: 0 };
}

/** Leader 1 of voters 1..3 and learner 4 at last index 100; `active` are the peers heard from lately. */
function leaderView(active: NodeId[], over: Partial<RaftStatus> = {}): MemberStatusInput {
  return {
    id: 1,
    term: 2,
    vote: 1,
    commit: 100,
    applied: 100,
    lastIndex: 100,
    lead: 1,
    state: StateType.Leader,
    leadTransferee: 0,
    confState: { voters: [1, 2, 3], learners: [4], removed: [] },
    progress: new Map([
      [1, progress(100)],
      [2, progress(100)],
      [3, progress(90)],
      [4, progress(40)],
    ]),
    addresses: { 1: "a:1", 2: "a:2", 3: "a:3", 4: "a:4" },
    active: new Set(active),
    ...over,
  };
}

describe("member status helpers (pure, over a status)", () => {
  it("lists voters and learners with address, match and activity", () => {
    assert.deepEqual(memberStatus(leaderView([2, 4])), [
      { id: 1, address: "a:1", voter: true, match: 100, recentActive: true },
      { id: 2, address: "a:2", voter: true, match: 100, recentActive: true },
      { id: 3, address: "a:3", voter: true, match: 90, recentActive: false },
      { id: 4, address: "a:4", voter: false, match: 40, recentActive: true },
    ]);
  });

  it("on a follower knows only its own log and whom it heard from", () => {
    const f = leaderView([1], { id: 2, state: StateType.Follower, progress: new Map() });
    assert.deepEqual(
      memberStatus(f).map((m) => [m.id, m.match, m.recentActive]),
      [
        [1, 0, true],
        [2, 100, true],
        [3, 0, false],
        [4, 0, false],
      ],
    );
  });

  it("says a member is caught up when its match is within maxLag of the leader's last index, and never on a follower", () => {
    const st = leaderView([2, 3, 4]);
    assert.equal(isCaughtUp(st, 2), true);
    assert.equal(isCaughtUp(st, 3), false);
    assert.equal(isCaughtUp(st, 3, 10), true);
    assert.equal(isCaughtUp(st, 4, 10), false);
    assert.equal(isCaughtUp(st, 9, 1000), false);
    assert.equal(isCaughtUp({ ...st, state: StateType.Follower }, 2), false);
  });

  it("allows removing a voter only when the remaining voters keep a reachable majority", () => {
    assert.deepEqual(canRemoveVoter(leaderView([2, 3]), 3), { ok: true });
    // 3 is down: removing 2 leaves {1, 3} with only the leader reachable.
    const down3 = leaderView([2]);
    assert.equal(canRemoveVoter(down3, 3).ok, true);
    const r = canRemoveVoter(down3, 2);
    assert.equal(r.ok, false);
    assert.match(r.reason!, /1 reachable of 2 voters, fewer than the quorum of 2/);
    assert.match(canRemoveVoter(leaderView([2, 3]), 4).reason!, /not a voter/);
    assert.match(canRemoveVoter(leaderView([], { confState: { voters: [1], learners: [], removed: [] } }), 1).reason!, /last voter/);
    assert.match(canRemoveVoter({ ...leaderView([2, 3]), state: StateType.Follower }, 3).reason!, /only the leader/);
  });
});

describe("RaftNode membership helpers (three members over gRPC)", function () {
  this.timeout(30000);
  let c: Cluster;

  afterEach(async () => {
    await c.cleanup();
  });

  it("reports members, a learner catching up, and refuses removals that would lose a reachable majority", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3, 4]);
    const initial = c.peersOf([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id, { peers: initial })));
    const l = await c.leader();
    for (let i = 0; i < 10; i++) await l.node!.propose(put(`k${i}`, "v"));
    const [f1, f2] = [1, 2, 3].filter((id) => id !== l.id) as [number, number];
    await waitFor("followers heard from", () => l.node!.memberStatus().every((m) => m.recentActive));
    assert.deepEqual(
      l.node!.memberStatus().map((m) => [m.id, m.address, m.voter]),
      [1, 2, 3].map((id) => [id, c.addresses[id], true]),
    );

    await l.node!.addMember(4, c.addresses[4]!, { learner: true });
    assert.equal(l.node!.isCaughtUp(4), false);
    await c.start(4, { join: true, peers: initial });
    await waitFor("learner caught up", () => l.node!.isCaughtUp(4));
    const row = l.node!.memberStatus().find((m) => m.id === 4)!;
    assert.equal(row.voter, false);
    assert.equal(row.match, l.node!.status().lastIndex);
    assert.equal(c.node(f1).canRemoveVoter(f2).ok, false, "a follower cannot vouch for reachability");

    assert.deepEqual(l.node!.canRemoveVoter(f1), { ok: true });
    await c.stop(f2);
    await waitFor("the stopped member is no longer heard from", () => !l.node!.memberStatus().find((m) => m.id === f2)!.recentActive);
    // Removing f1 would leave the leader and the stopped f2: no reachable majority.
    assert.equal(l.node!.canRemoveVoter(f1).ok, false);
    assert.deepEqual(l.node!.canRemoveVoter(f2), { ok: true });
  });

  it("counts a member whose address refuses connections unreachable, even when an old frame of it arrives late, until it accepts a stream again", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    const gone = [1, 2, 3].find((id) => id !== l.id)!;
    const active = (): boolean => l.node!.memberStatus().find((m) => m.id === gone)!.recentActive;
    await waitFor("the follower heard from", active);
    await c.stop(gone);
    await waitFor("the stopped member no longer counted", () => !active());
    await waitFor("the stopped member's address refusing the leader", () => (l.node as unknown as { refusing: Set<NodeId> }).refusing.has(gone));
    // What a partition left in the member's old connection, out of TCP's retransmission queue now.
    const late = { type: MessageType.HeartbeatResp, to: l.id, from: gone, term: l.node!.status().term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    (l.node as unknown as { onPeerMessage(m: Message): void }).onPeerMessage(late);
    assert.equal(active(), false, "a late frame from a member whose address refuses connections counted as a sign of life");
    await c.start(gone);
    await waitFor("the restarted member counted again", active);
  });
});
