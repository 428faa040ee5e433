// Times the checker on generated histories. Not a test: run it by hand after building,
//   node services/lincheck/dist/test/bench/measure.js
// and paste the numbers into reviews when the search changes.
import { SeededRandom } from "@shoal/common";
import { checkOperations, kvModel, type KvOperation } from "../../src/index.js";
import { linearizableKvHistory, type RandomHistoryOptions } from "../support/random-history.js";

interface Case {
  name: string;
  opts: RandomHistoryOptions;
  mutate?: boolean;
}

const cases: Case[] = [
  { name: "5 keys x 8 clients x 500 ops", opts: { keys: 5, clients: 8, opsPerClient: 500, maxSpan: 10 } },
  { name: "5 keys x 8 clients x 500 ops, wide intervals", opts: { keys: 5, clients: 8, opsPerClient: 500, maxSpan: 40 } },
  { name: "5 keys x 8 clients x 500 ops, 5% timeouts", opts: { keys: 5, clients: 8, opsPerClient: 500, maxSpan: 10, timeoutRate: 0.05 } },
  { name: "5 keys x 8 clients x 500 ops, one bad read", opts: { keys: 5, clients: 8, opsPerClient: 500, maxSpan: 10 }, mutate: true },
  {
    name: "5 keys x 8 clients x 500 ops, 5% timeouts, no cas, one bad read",
    opts: { keys: 5, clients: 8, opsPerClient: 500, maxSpan: 10, timeoutRate: 0.05, casRate: 0 },
    mutate: true,
  },
  { name: "1 key x 8 clients x 500 ops", opts: { keys: 1, clients: 8, opsPerClient: 500, maxSpan: 10 } },
  { name: "3 keys x 10 clients x 200 ops", opts: { keys: 3, clients: 10, opsPerClient: 200, maxSpan: 20 } },
];

for (const c of cases) {
  const rng = new SeededRandom(42);
  let h: KvOperation[] = linearizableKvHistory(rng, c.opts);
  if (c.mutate) {
    const reads = h.filter((o) => o.input.op === "get" && o.return !== undefined);
    const victim = reads[Math.floor(reads.length * 0.9)]!;
    h = h.map((o) => (o === victim ? { ...o, output: { value: "never-written" } } : o));
  }
  // The first run includes JIT warm-up, which a one-shot CI check pays; the second is steady state.
  const times: string[] = [];
  let out = checkOperations(kvModel, []);
  for (let run = 0; run < 2; run++) {
    const start = performance.now();
    out = checkOperations(kvModel, h);
    times.push((performance.now() - start).toFixed(1));
  }
  const steps = out.partitionResults.reduce((n, r) => n + r.steps, 0);
  console.log(`${c.name}: ${h.length} ops, ${out.result}, ${times.join(" ms cold / ")} ms warm, ${steps} steps`);
}
