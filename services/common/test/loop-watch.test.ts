import { strict as assert } from "node:assert";
import { watchEventLoop, type LoopBlock } from "../src/loop-watch.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Holds the event loop for `ms`, allocating short-lived garbage all along (young-generation GCs). */
function busy(ms: number): number {
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) {
    const junk = new Array<{ i: number }>(1_000);
    for (let i = 0; i < junk.length; i++) junk[i] = { i };
    n += junk.length;
  }
  return n;
}

describe("watchEventLoop", () => {
  it("reports a block longer than the threshold with the GC pauses inside it, once", async () => {
    const blocks: LoopBlock[] = [];
    const watch = watchEventLoop({ thresholdMs: 150, intervalMs: 20, onBlock: (b) => blocks.push(b) });
    try {
      await sleep(60);
      assert.ok(busy(400) > 0);
      await sleep(150);
      assert.equal(blocks.length, 1, JSON.stringify(blocks));
      const [b] = blocks;
      assert.ok(b!.ms >= 300 && b!.ms < 2_000, `block of ${b!.ms} ms`);
      assert.ok(b!.gcPauses > 0, "the garbage made during the block was collected during it");
      assert.ok(b!.gcMs > 0 && b!.gcMs <= b!.ms && b!.longestGcMs <= b!.gcMs, JSON.stringify(b));
      assert.equal(watch.blocks, 1);
      assert.ok(watch.longestMs >= 300);
    } finally {
      watch.stop();
    }
  });

  it("reports nothing for holds shorter than the threshold, and nothing after stop", async () => {
    const blocks: LoopBlock[] = [];
    const watch = watchEventLoop({ thresholdMs: 2_000, intervalMs: 20, onBlock: (b) => blocks.push(b) });
    const stopped = watchEventLoop({ thresholdMs: 100, intervalMs: 20, onBlock: (b) => blocks.push(b) });
    await sleep(40);
    stopped.stop();
    busy(300);
    await sleep(60);
    watch.stop();
    assert.deepEqual(blocks, [], "a 300 ms hold is under the first watch's threshold, and the second watch was stopped");
    assert.equal(watch.blocks + stopped.blocks, 0);
  });
});
