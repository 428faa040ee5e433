// The randomized simulation of the Raft core: many seeds, each a full run of crashes, partitions,
// lossy links, snapshots, membership changes and clients, checked after every step.
//   SHOAL_SIM_SEED=<seed>    replay one seed (the failure message prints the command)
//   SHOAL_SIM_SEEDS=<count>  how many seeds (default 1000; `npm run soak` runs 20000)
//   SHOAL_SIM_STATS=1        print seeds/s and step counts to stderr
import assert from "node:assert/strict";
import { Simulation } from "./simulator.js";

const single = process.env["SHOAL_SIM_SEED"];
const count = Number(process.env["SHOAL_SIM_SEEDS"] ?? 1000);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => i + 1);

describe("raft simulator", function () {
  this.timeout(0);

  it(`keeps election safety, log matching, leader completeness, state-machine safety and a linearizable history over ${seeds.length} seed(s)`, () => {
    const totals = { steps: 0, ticks: 0, leaders: 0, crashes: 0, snapshotsSent: 0, appliedEarly: 0, leaderDowns: 0, confChanges: 0, operations: 0, unknown: 0, linUnknown: 0 };
    const started = process.hrtime.bigint();
    for (const seed of seeds) {
      const r = new Simulation({ seed }).run();
      totals.steps += r.steps;
      totals.ticks += r.ticks;
      totals.leaders += r.leaders;
      totals.crashes += r.crashes;
      totals.snapshotsSent += r.snapshotsSent;
      totals.appliedEarly += r.appliedEarly;
      totals.leaderDowns += r.leaderDowns;
      totals.confChanges += r.confChanges;
      totals.operations += r.operations;
      totals.unknown += r.unknownOperations;
      if (r.lincheck === "unknown") totals.linUnknown++;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (process.env["SHOAL_SIM_STATS"] === "1") {
      process.stderr.write(
        `simulator: ${seeds.length} seeds in ${seconds.toFixed(1)} s (${(seeds.length / seconds).toFixed(1)} seeds/s), ` +
          `${Math.round(totals.steps / seeds.length)} steps and ${Math.round(totals.ticks / seeds.length)} ticks per seed, ${JSON.stringify(totals)}\n`,
      );
    }
    // The runs must actually exercise what they claim to, or passing means nothing.
    assert.ok(totals.leaders >= seeds.length, "every seed elects at least one leader");
    assert.ok(totals.operations > 0, "clients completed operations");
    if (seeds.length >= 100) {
      assert.ok(totals.crashes > 0, "some seeds crash members");
      assert.ok(totals.snapshotsSent > 0, "some seeds catch members up by snapshot");
      assert.ok(totals.appliedEarly > 0, "some leaders apply entries while their own write is in flight");
      assert.ok(totals.leaderDowns > 0, "some followers forget their leader on a report that it refuses connections");
      assert.ok(totals.confChanges > 0, "some seeds change membership");
      assert.ok(totals.linUnknown <= seeds.length * 0.02, `lincheck gave up on ${totals.linUnknown} seeds`);
    }
  });
});
