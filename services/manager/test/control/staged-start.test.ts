// startInTurns: the leader-only parts start on later event-loop turns, one per turn, and stop
// starting once the leadership that asked is gone.
import assert from "node:assert/strict";
import { startInTurns } from "../../src/control/staged-start.js";

describe("control/staged-start: leader parts started one per turn", () => {
  it("starts nothing in the caller's turn, then one part per turn, with other work in between", async () => {
    const log: string[] = [];
    const parts = ["scheduler", "orchestrator", "updater"].map((name) => ({
      start: () => {
        log.push(name);
        // Work that arrives while a part starts (heartbeats, raft messages) runs before the next.
        setImmediate(() => log.push(`after ${name}`));
      },
    }));
    setImmediate(() => log.push("queued before"));
    const done = startInTurns(parts, () => true);
    assert.equal(log.length, 0, "nothing starts in the caller's turn");
    assert.equal(await done, true);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ["queued before", "scheduler", "after scheduler", "orchestrator", "after orchestrator", "updater", "after updater"]);
  });

  it("stops starting parts once the leadership is no longer current", async () => {
    const started: number[] = [];
    let current = true;
    const parts = [0, 1, 2].map((i) => ({
      start: () => {
        started.push(i);
        if (i === 0) current = false;
      },
    }));
    assert.equal(await startInTurns(parts, () => current), false);
    assert.deepEqual(started, [0]);
  });
});
