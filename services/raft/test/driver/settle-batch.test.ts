import { strict as assert } from "node:assert";
import type { RaftNode } from "../../src/driver/raft-node.js";
import { Cluster, put } from "./helpers.js";

/**
 * Proposes `n` entries in one turn of the event loop and records, for each answer, which turn it
 * came in (a setImmediate ticker counts the turns).
 */
async function answersByTurn(node: RaftNode, n: number, atFirst: () => void = () => undefined): Promise<Array<{ index: number; turn: number }>> {
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const seen: Array<{ index: number; turn: number }> = [];
  try {
    const answered = (r: { index: number }): void => {
      if (seen.length === 0) atFirst();
      seen.push({ index: r.index, turn });
    };
    await Promise.all(Array.from({ length: n }, (_, i) => node.propose(put(`k${i}`, "v")).then(answered)));
  } finally {
    ticking = false;
  }
  return seen;
}

function perTurn(seen: Array<{ turn: number }>): number[] {
  const counts = new Map<number, number>();
  for (const s of seen) counts.set(s.turn, (counts.get(s.turn) ?? 0) + 1);
  return [...counts.values()];
}

describe("RaftNode: answering a batch of committed proposals", function () {
  this.timeout(30000);
  let c: Cluster;
  beforeEach(async () => {
    c = new Cluster();
    await c.allocate([1]);
  });
  afterEach(() => c.cleanup());

  it("answers at most settleBatch proposals a turn of the event loop, in order, the first ones at once", async () => {
    const m = await c.start(1);
    await c.leader();
    let appliedAtFirstAnswer = "";
    const seen = await answersByTurn(m.node!, 40, () => (appliedAtFirstAnswer = m.sm.data.get("k39") ?? "not yet"));
    assert.equal(seen.length, 40);
    assert.deepEqual(
      seen.map((s) => s.index),
      [...seen.map((s) => s.index)].sort((a, b) => a - b),
      "answered out of order",
    );
    const counts = perTurn(seen);
    assert.ok(Math.max(...counts) <= 8, `answers per turn: ${counts.join(", ")}`);
    assert.ok(counts.length >= 5, `answers per turn: ${counts.join(", ")}`);
    // Only the answers wait: every entry was applied when the first was answered.
    assert.equal(appliedAtFirstAnswer, "v");
  });

  it("answers them all in one turn with settleBatch 0", async () => {
    const m = await c.start(1, { settleBatch: 0 });
    await c.leader();
    const counts = perTurn(await answersByTurn(m.node!, 40));
    assert.deepEqual(counts, [40]);
  });
});
