// Seeds that once exposed a core bug, replayed on every run so the bug stays fixed. Each entry
// says what went wrong; replay one alone with SHOAL_SIM_SEED=<seed>.
import { Simulation } from "./simulator.js";

const REGRESSIONS: { seed: number; bug: string }[] = [
  {
    seed: 44046,
    bug:
      "a follower restored a snapshot (index 44, 7 a voter) between ready() and advance() of a Ready whose committed " +
      "entries held AddLearner 7 (index 37); applying that older conf change afterwards demoted 7 in the core's tracker",
  },
  {
    seed: 14594,
    bug: "configuration agreement: two members held different configurations after the same applied index (same class as 44046)",
  },
  {
    seed: 15793,
    bug: "configuration agreement: two members held different configurations after the same applied index (same class as 44046)",
  },
];

describe("simulator regression seeds", function () {
  this.timeout(0);
  for (const r of REGRESSIONS) {
    it(`seed ${r.seed} keeps every invariant (${r.bug})`, () => {
      new Simulation({ seed: r.seed }).run();
    });
  }
});
