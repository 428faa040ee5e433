// The components' passes take turns of the event loop: on a new leader at 100,000 tasks, half a
// dozen passes back to back in one check phase held timers (raft ticks, the dispatcher's sweeps)
// for seconds.
import assert from "node:assert/strict";
import { passTurn } from "../../../src/orchestrator/edge/reconcile-loop.js";

describe("orchestrator edge: one pass per turn of the event loop", () => {
  it("a second component's pass starts a turn later than the first, and a third one later still", async () => {
    let turn = 0;
    const tick = (): void => {
      turn++;
      if (turn < 20) setImmediate(tick);
    };
    setImmediate(tick);
    const started: number[] = [];
    await Promise.all([1, 2, 3].map(() => passTurn().then(() => void started.push(turn))));
    assert.equal(started.length, 3);
    assert.ok(started[1]! > started[0]! && started[2]! > started[1]!, `passes started in turns ${started.join(", ")}`);
  });

  it("lets a component go on in the next turn once no other pass is waiting", async () => {
    await passTurn();
    await passTurn();
  });
});
