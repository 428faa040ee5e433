import { strict as assert } from "node:assert";
import { MessageType, type Message } from "../../src/core/types.js";
import type { RaftNode } from "../../src/driver/raft-node.js";
import { Cluster, put, waitFor } from "./helpers.js";

/** Records every message the node hands to its transport (the transport is a private field). */
function recordSends(node: RaftNode): Message[] {
  const sent: Message[] = [];
  const transport = (node as unknown as { transport: { send(msgs: Message[]): void } }).transport;
  const send = transport.send.bind(transport);
  transport.send = (msgs: Message[]): void => {
    sent.push(...msgs);
    send(msgs);
  };
  return sent;
}

const isNotice = (m: Message): boolean => m.type === MessageType.App && m.entries.length === 0;

// Heartbeats also carry the commit index; a slow heartbeat (1 s) keeps them out of the way, so a
// follower that applies a lone write sooner learned it from the leader's held commit notice.
const timing = { tickMs: 50, heartbeatTicks: 20, electionTicks: 40 };

describe("RaftNode: commit notices", function () {
  this.timeout(30000);
  let c: Cluster;

  afterEach(async () => {
    await c.cleanup();
  });

  async function start(commitNoticeDelayMs: number): Promise<void> {
    c = new Cluster({ ...timing, commitNoticeDelayMs });
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    // Right after an election a follower may still be probed, and then its first appends are held
    // back and merged: a first write that every member applies leaves both in steady replication.
    const l = await c.leader();
    await l.node!.propose(put("warm-up", "1"));
    await waitFor("every member applied the warm-up write", () => c.running().every((m) => m.sm.data.get("warm-up") === "1"), 5000);
  }

  it("a stream of writes sends no separate notices: each append carries the previous commit", async () => {
    await start(5000);
    const l = await c.leader();
    const sent = recordSends(l.node!);
    for (let i = 0; i < 20; i++) await l.node!.propose(put(`k${i}`, `v${i}`));
    const followers = c.running().filter((m) => m.id !== l.id);
    // Every write but the last reached the followers' state machines through the next append.
    await waitFor("followers applied all but the last write", () => followers.every((m) => m.sm.log.length >= 19));
    assert.deepEqual(sent.filter(isNotice), [], "no append without entries left the leader");
    const appends = sent.filter((m) => m.type === MessageType.App);
    assert.equal(appends.length, 40, "one append per write per follower");
  });

  it("a lone write's notice leaves after the delay, well before the next heartbeat", async () => {
    await start(50);
    const l = await c.leader();
    const sent = recordSends(l.node!);
    const t0 = Date.now();
    await l.node!.propose(put("lone", "1"));
    const followers = c.running().filter((m) => m.id !== l.id);
    await waitFor("followers applied the lone write", () => followers.every((m) => m.sm.data.get("lone") === "1"), 900);
    // A heartbeat that happens to leave inside the 50 ms carries the commit to its follower, and
    // then that follower needs no notice: so at least one notice in all, each to a follower.
    const to = sent.filter(isNotice).map((m) => m.to);
    assert.ok(to.length >= 1, "a notice left the leader");
    for (const id of to) assert.ok(followers.some((m) => m.id === id), `notice sent to follower ${id}`);
    assert.ok(Date.now() - t0 < 900, "applied before a heartbeat could have told them");
  });

  it("with no delay every commit is announced at once, as etcd does", async () => {
    await start(0);
    const l = await c.leader();
    const sent = recordSends(l.node!);
    for (let i = 0; i < 5; i++) await l.node!.propose(put(`k${i}`, `v${i}`));
    // Each write: one append with the entry and one notice of its commit, to each follower.
    await waitFor("a notice per write per follower", () => sent.filter(isNotice).length >= 10, 2000);
  });

  it("a leader that stops sends what it held, so followers learn the last commit", async () => {
    await start(60_000);
    const l = await c.leader();
    await l.node!.propose(put("last", "1"));
    const followers = c.running().filter((m) => m.id !== l.id);
    await c.stop(l.id);
    // Sooner than any election (2 s at the least) could commit it under a new leader.
    await waitFor("followers applied the last write", () => followers.every((m) => m.sm.data.get("last") === "1"), 1500);
  });
});
