import { strict as assert } from "node:assert";
import { SeededRandom } from "@shoal/common";
import { checkOperations, kvModel, LincheckError, registerModel, type RegisterOperation } from "../src/index.js";
import { linearizableKvHistory } from "./support/random-history.js";
import { linearizationProblem } from "./support/replay.js";
import { read, write } from "./support/ops.js";

/** k fully concurrent writes of the same value, then a read of a value nobody wrote. */
function sameValueWritesThenBadRead(k: number): RegisterOperation[] {
  const h: RegisterOperation[] = [];
  for (let i = 0; i < k; i++) h.push(write(i, 1, 0, 10));
  h.push(read(k, 2, 20, 21));
  return h;
}

describe("search cost and the step budget", () => {
  it("prunes reorderings that reach the same state through the cache", () => {
    // Without the cache the search tries all 9! = 362880 orders of the writes before giving up;
    // with it, each (set of writes, state) pair is expanded once: about 2^9 = 512 configurations.
    const out = checkOperations(registerModel, sameValueWritesThenBadRead(9));
    assert.equal(out.result, "illegal");
    assert.ok(out.partitionResults[0]!.steps < 20_000, `took ${out.partitionResults[0]!.steps} steps`);
  });

  it('returns "unknown" when maxSteps is exhausted, and says so', () => {
    const out = checkOperations(registerModel, sameValueWritesThenBadRead(16), { maxSteps: 1000 });
    assert.equal(out.result, "unknown");
    assert.equal(out.partitionResults[0]!.steps, 1000);
    assert.match(out.info!.explanation, /gave up after 1000 search steps/);
  });

  it("reaches the definite verdict for the same history when the budget suffices", () => {
    const out = checkOperations(registerModel, sameValueWritesThenBadRead(16), { maxSteps: 10_000_000 });
    assert.equal(out.result, "illegal");
  });

  it("checks 10 clients x 200 operations on 3 keys in a few steps per operation", () => {
    const h = linearizableKvHistory(new SeededRandom(2024), { keys: 3, clients: 10, opsPerClient: 200, maxSpan: 20 });
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "ok");
    for (const r of out.partitionResults) {
      assert.ok(r.steps < 50 * r.operations, `partition ${r.name}: ${r.steps} steps for ${r.operations} operations`);
    }
    const all = out.partitionResults.flatMap((r) => r.linearization!);
    assert.equal(all.length, h.length);
  });

  it("does not multiply configurations by timed-out writes that never took effect", () => {
    // Failed cas operations keep kvModel from pruning these writes, so the cache's dominance rule
    // does the work: about 160k steps with it, 1.7M without (measured at seed 42).
    const h = linearizableKvHistory(new SeededRandom(42), { keys: 5, clients: 8, opsPerClient: 500, maxSpan: 10, timeoutRate: 0.05 });
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "ok");
    const steps = out.partitionResults.reduce((n, r) => n + r.steps, 0);
    assert.ok(steps < 400_000, `took ${steps} steps`);
  });

  it("returns a linearization that respects real time and the model for a large history", () => {
    const h = linearizableKvHistory(new SeededRandom(7), { keys: 2, clients: 6, opsPerClient: 60, maxSpan: 15, timeoutRate: 0.05 });
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "ok");
    for (const [i, part] of kvModel.partition!(h).entries()) {
      assert.equal(linearizationProblem(kvModel, part, out.partitionResults[i]!.linearization!), undefined);
    }
  });

  it("rejects a non-positive step budget", () => {
    assert.throws(() => checkOperations(registerModel, [], { maxSteps: 0 }), LincheckError);
  });
});
