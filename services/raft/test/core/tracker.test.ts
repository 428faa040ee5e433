import { strict as assert } from "node:assert";
import { ProgressTracker } from "../../src/core/tracker.js";

/** A tracker with these voters and learners, each member's match set from `matches`. */
function tracker(voters: number[], learners: number[], matches: Record<number, number>): ProgressTracker {
  const t = new ProgressTracker(256);
  t.setConfState({ voters, learners, removed: [] }, 1);
  for (const [id, match] of Object.entries(matches)) t.progress.get(Number(id))!.match = match;
  return t;
}

describe("ProgressTracker.committed", () => {
  it("is the highest index a majority of voters has, whatever the order of their matches", () => {
    assert.equal(tracker([1], [], { 1: 7 }).committed(), 7);
    assert.equal(tracker([1, 2, 3], [], { 1: 9, 2: 4, 3: 6 }).committed(), 6);
    assert.equal(tracker([1, 2, 3], [], { 1: 4, 2: 6, 3: 9 }).committed(), 6);
    assert.equal(tracker([1, 2, 3], [], { 1: 6, 2: 9, 3: 4 }).committed(), 6);
    assert.equal(tracker([1, 2, 3, 4], [], { 1: 8, 2: 3, 3: 8, 4: 1 }).committed(), 3);
    assert.equal(tracker([1, 2, 3, 4, 5], [], { 1: 2, 2: 10, 3: 5, 4: 7, 5: 5 }).committed(), 5);
    assert.equal(tracker([], [], {}).committed(), 0);
  });

  it("does not count learners", () => {
    assert.equal(tracker([1, 2, 3], [4, 5], { 1: 9, 2: 1, 3: 2, 4: 9, 5: 9 }).committed(), 2);
  });

  it("gives the same answer when called again, and after the voters shrink", () => {
    const t = tracker([1, 2, 3, 4, 5], [], { 1: 10, 2: 10, 3: 10, 4: 10, 5: 10 });
    assert.equal(t.committed(), 10);
    assert.equal(t.committed(), 10);
    t.setConfState({ voters: [1, 2, 3], learners: [], removed: [4, 5] }, 1);
    t.progress.get(1)!.match = 3;
    t.progress.get(2)!.match = 1;
    // Voter 3 is at 0 after the reset: a majority of {3, 1, 0} has 1, whatever the 5-voter call left behind.
    assert.equal(t.committed(), 1);
  });
});
