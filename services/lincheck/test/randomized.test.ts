import { strict as assert } from "node:assert";
import { SeededRandom } from "@shoal/common";
import { checkOperations, kvModel, registerModel, type KvOperation, type RegisterOperation } from "../src/index.js";
import { bruteForceLinearizable } from "./support/brute-force.js";
import { linearizableKvHistory } from "./support/random-history.js";
import { linearizationProblem } from "./support/replay.js";

const SEEDS = 60;

function shape(rng: SeededRandom) {
  const timeoutRate = rng.int(2) === 0 ? 0 : 0.1;
  return {
    keys: 1 + rng.int(3),
    clients: 2 + rng.int(6),
    opsPerClient: 10 + rng.int(40),
    maxSpan: 1 + rng.int(20),
    timeoutRate,
    // Failed cas operations stop kvModel from pruning unobserved timed-out writes, and refuting a
    // bad read among ~30 unprunable timed-out writes is exponential (see the search-bounds test),
    // so timed-out histories use no cas here.
    casRate: timeoutRate > 0 ? 0 : 0.1,
  };
}

describe("randomized histories", () => {
  it("accepts every history generated from a sequential store, with a valid linearization", () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = new SeededRandom(seed);
      const h = linearizableKvHistory(rng, shape(rng));
      const out = checkOperations(kvModel, h);
      assert.equal(out.result, "ok", `seed ${seed}:\n${out.info?.explanation}`);
      kvModel.partition!(h).forEach((part, i) => {
        const problem = linearizationProblem(kvModel, part, out.partitionResults[i]!.linearization!);
        assert.equal(problem, undefined, `seed ${seed}`);
      });
    }
  });

  it("rejects every such history once one read is changed to a value never written", () => {
    let mutated = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = new SeededRandom(seed);
      const h = linearizableKvHistory(rng, shape(rng));
      const reads = h.filter((o) => o.input.op === "get" && o.return !== undefined);
      if (reads.length === 0) continue;
      const victim = reads[rng.int(reads.length)]!;
      const bad: KvOperation[] = h.map((o) => (o === victim ? { ...o, output: { value: "never-written" } } : o));
      const out = checkOperations(kvModel, bad);
      assert.equal(out.result, "illegal", `seed ${seed}`);
      assert.equal(out.info?.partitionName, JSON.stringify(victim.input.key), `seed ${seed}`);
      mutated++;
    }
    assert.ok(mutated > SEEDS / 2, "the generator should produce reads");
  });

  it("agrees with a brute-force checker on small random register histories", () => {
    // Random intervals and random read results: roughly half are linearizable, so this checks
    // both verdicts, including timed-out writes that may or may not have happened.
    let ok = 0;
    let illegal = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = new SeededRandom(seed);
      const n = 2 + rng.int(5);
      const h: RegisterOperation[] = [];
      for (let i = 0; i < n; i++) {
        const call = rng.int(10);
        const ret = rng.int(6) === 0 ? undefined : call + rng.int(6);
        const isWrite = rng.int(2) === 0;
        h.push({
          clientId: i,
          input: isWrite ? { op: "write", value: 1 + rng.int(3) } : { op: "read" },
          call,
          output: isWrite ? {} : { value: rng.int(4) },
          return: ret,
        });
      }
      const expected = bruteForceLinearizable(registerModel, h) ? "ok" : "illegal";
      assert.equal(checkOperations(registerModel, h).result, expected, `seed ${seed}: ${JSON.stringify(h)}`);
      if (expected === "ok") ok++;
      else illegal++;
    }
    assert.ok(ok > 50 && illegal > 50, `ok=${ok} illegal=${illegal}`);
  });
});
