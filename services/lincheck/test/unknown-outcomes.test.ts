import { strict as assert } from "node:assert";
import { checkOperations, kvModel, registerModel, type KvOperation, type RegisterOperation } from "../src/index.js";
import { linearizationProblem } from "./support/replay.js";
import { cas, get, put, read, write } from "./support/ops.js";

const check = (h: KvOperation[]) => checkOperations(kvModel, h).result;

describe("operations with unknown outcomes", () => {
  it("accepts a timed-out put whose value is read later", () => {
    assert.equal(check([put(0, "x", "a", 0, undefined), get(1, "x", "a", 100, 101)]), "ok");
  });

  it("accepts a timed-out put that is never observed", () => {
    assert.equal(check([put(0, "x", "a", 0, undefined), get(1, "x", "", 100, 101)]), "ok");
  });

  it("drops a timed-out put that was never observed from the linearization", () => {
    const h = [put(0, "x", "a", 0, undefined), get(1, "x", "", 100, 101)];
    const out = checkOperations(kvModel, h);
    assert.deepEqual(out.partitionResults[0]!.linearization, [h[1]]);
  });

  it("lets a timed-out put take effect long after its call", () => {
    assert.equal(check([put(0, "x", "a", 0, undefined), get(1, "x", "", 10, 11), get(1, "x", "a", 50, 51)]), "ok");
  });

  it("rejects a timed-out put taking effect before it was called", () => {
    assert.equal(check([get(1, "x", "a", 0, 1), put(0, "x", "a", 5, undefined)]), "illegal");
  });

  it("rejects un-seeing a timed-out put once it was observed", () => {
    assert.equal(check([put(0, "x", "a", 0, undefined), get(1, "x", "a", 10, 11), get(1, "x", "", 20, 21)]), "illegal");
  });

  it("rejects a read of a value never written, even next to timed-out writes", () => {
    assert.equal(check([put(0, "x", "a", 0, undefined), put(1, "x", "b", 0, undefined), get(2, "x", "c", 10, 11)]), "illegal");
  });

  it("applies a timed-out cas only if its comparison would succeed", () => {
    const h = [put(0, "x", "a", 0, 1), cas(1, "x", "a", "b", true, 2, undefined), get(2, "x", "b", 10, 11)];
    assert.equal(check(h), "ok");
    const wrongExpected = [put(0, "x", "a", 0, 1), cas(1, "x", "z", "b", true, 2, undefined), get(2, "x", "b", 10, 11)];
    assert.equal(check(wrongExpected), "illegal");
  });

  it("passes undefined output to the model for a timed-out operation even if one was recorded", () => {
    // A stale output on a timed-out read must not be held against the history.
    const staleRead = { ...read(1, 42, 0, undefined) };
    assert.equal(checkOperations(registerModel, [write(0, 1, 0, 1), staleRead]).result, "ok");
  });

  it("places a timed-out write among many others without trying their orders", () => {
    // The register model prunes nothing, so this exercises the search itself: operations with
    // known outcomes are tried before timed-out ones, so the read is placed as soon as write(7) is.
    const h: RegisterOperation[] = [];
    for (let i = 1; i <= 200; i++) h.push(write(i, i, i, undefined));
    h.push(read(999, 7, 1000, 1001));
    const out = checkOperations(registerModel, h);
    assert.equal(out.result, "ok");
    assert.equal(linearizationProblem(registerModel, h, out.partitionResults[0]!.linearization!), undefined);
    assert.ok(out.partitionResults[0]!.steps < 5000, `took ${out.partitionResults[0]!.steps} steps`);
  });

  it("drops gets with unknown outcome in the kv partitioner, since they constrain nothing", () => {
    const h = [get(0, "x", "zzz", 0, undefined), put(1, "x", "a", 0, 1)];
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "ok");
    assert.equal(out.partitionResults[0]!.operations, 1);
  });
});
