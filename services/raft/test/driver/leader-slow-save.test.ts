import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { Entry } from "../../src/core/types.js";
import type { RaftNode } from "../../src/driver/raft-node.js";
import { LevelStorage } from "../../src/storage/level-storage.js";
import { Cluster, put, waitFor, type Member } from "./helpers.js";

interface SaveRequest {
  entries: Entry[];
}
interface Saver {
  save(rd: SaveRequest, sync: boolean): Promise<void>;
}

/** Holds the node's storage writes that carry entries until the returned release() is called. */
function holdEntryWrites(node: RaftNode): { held: () => number; release: () => void } {
  const level = (node as unknown as { level: Saver }).level;
  const save = level.save.bind(level);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  level.save = async (rd, sync) => {
    if (rd.entries.length > 0) {
      held++;
      await gate;
    }
    return save(rd, sync);
  };
  return { held: () => held, release };
}

/** Resolves with the promise's value, or rejects if it has not settled within ms. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("RaftNode: a leader whose own synced write is slow", function () {
  this.timeout(30000);
  let c: Cluster;
  const holds: Array<{ release: () => void }> = [];
  const hold = (node: RaftNode): { held: () => number; release: () => void } => {
    const h = holdEntryWrites(node);
    holds.push(h);
    return h;
  };

  /**
   * A 3-member cluster's leader, once both followers replicate steadily: right after an election a follower may
   * still be probed, and then a new entry reaches only the other one, which is no quorum alone.
   */
  async function steady(): Promise<Member> {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    await l.node!.propose(put("warm-up", "1"));
    await waitFor("every member applied the warm-up write", () => c.running().every((m) => m.sm.data.get("warm-up") === "1"), 5000);
    return l;
  }

  afterEach(async () => {
    // A failed test must not leave a write held: stop() would wait for it forever.
    for (const h of holds.splice(0)) h.release();
    await c.cleanup();
  });

  it("answers a write both followers hold before its own write of it completes, and keeps the log's order", async () => {
    const l = await steady();
    const held = hold(l.node!);
    // The leader's write of this entry is held; the two followers write theirs and answer.
    const early = await within(l.node!.propose(put("early", "1")), 5000, "a write a quorum of followers holds");
    assert.equal(held.held(), 1, "the leader's own write of it is still held");
    assert.equal(l.sm.data.get("early"), "1", "applied on the leader");
    // A write proposed now waits for the held one: one Ready is in flight at a time.
    const later = l.node!.propose(put("later", "1"));
    held.release();
    const after = await within(later, 5000, "a write proposed while the leader's write was held");
    assert.ok(after.index > early.index);
    assert.deepEqual(l.sm.log.slice(-2), ["early=1", "later=1"], "applied once each, in log order");
    await waitFor("every member applied both writes", () => c.running().every((m) => m.sm.data.get("later") === "1"), 5000);
    for (const m of c.running()) assert.deepEqual(m.sm.log, l.sm.log, `member ${m.id} applied the same log`);
  });

  it("an entry it applied early is in its own log once its held write completes", async () => {
    const l = await steady();
    const held = hold(l.node!);
    const { index } = await within(l.node!.propose(put("early", "1")), 5000, "a write a quorum of followers holds");
    held.release();
    await l.node!.propose(put("next", "1"));
    await c.stop(l.id);
    const st = await LevelStorage.open(join(c.root, `m${l.id}`, "raft"));
    try {
      const loaded = await st.load();
      const e = loaded.entries.find((x) => x.index === index);
      assert.equal(e && new TextDecoder().decode(e.data), "early=1", "the early entry is in the old leader's own log");
    } finally {
      await st.close();
    }
  });
});
