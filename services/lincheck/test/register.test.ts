import { strict as assert } from "node:assert";
import { checkOperations, registerModel, type RegisterOperation } from "../src/index.js";
import { linearizationProblem } from "./support/replay.js";
import { read, write } from "./support/ops.js";

function verdict(history: RegisterOperation[]): string {
  const out = checkOperations(registerModel, history);
  if (out.result === "ok") {
    // Every "ok" must come with a linearization that independently checks out.
    assert.equal(linearizationProblem(registerModel, history, out.partitionResults[0]!.linearization!), undefined);
  }
  return out.result;
}

describe("checkOperations on a register", () => {
  it("accepts an empty history", () => {
    assert.equal(verdict([]), "ok");
  });

  it("accepts a read of the initial value with no writes", () => {
    assert.equal(verdict([read(0, 0, 0, 1)]), "ok");
  });

  it("accepts a read overlapping a write that returns either the old or the new value", () => {
    assert.equal(verdict([write(0, 1, 0, 10), read(1, 1, 5, 15)]), "ok");
    assert.equal(verdict([write(0, 1, 0, 10), read(1, 0, 5, 15)]), "ok");
  });

  it("rejects a read returning the old value after the write completed", () => {
    assert.equal(verdict([write(0, 1, 0, 1), read(1, 0, 2, 3)]), "illegal");
  });

  it("rejects a read of a value never written", () => {
    assert.equal(verdict([write(0, 1, 0, 10), read(1, 7, 5, 15)]), "illegal");
  });

  it("rejects new-then-old: a later read sees the old value after an earlier read saw the new one", () => {
    // The write is still in flight, so each read alone is fine; together they are not.
    assert.equal(verdict([write(0, 1, 0, 100), read(1, 1, 10, 20), read(2, 0, 30, 40)]), "illegal");
  });

  it("accepts old-then-new reads during an in-flight write", () => {
    assert.equal(verdict([write(0, 1, 0, 100), read(1, 0, 10, 20), read(2, 1, 30, 40)]), "ok");
  });

  it("orders concurrent writes to explain later reads", () => {
    // w1 and w2 overlap; reading 2 then 1 needs w2 before w1, which is allowed.
    assert.equal(verdict([write(0, 1, 0, 10), write(1, 2, 0, 10), read(2, 2, 1, 3), read(2, 1, 4, 6)]), "ok");
  });

  it("rejects reads that flip between two completed writes", () => {
    assert.equal(verdict([write(0, 1, 0, 10), write(1, 2, 0, 10), read(2, 1, 11, 12), read(2, 2, 13, 14)]), "illegal");
  });

  it("treats intervals that touch at one instant as concurrent", () => {
    // The read is called at the instant the write returns: it may still be ordered before it.
    assert.equal(verdict([write(0, 1, 0, 5), read(1, 0, 5, 6)]), "ok");
    assert.equal(verdict([write(0, 1, 0, 5), read(1, 0, 6, 7)]), "illegal");
  });

  it("does not depend on the order operations are listed in", () => {
    const h = [read(2, 0, 30, 40), read(1, 1, 10, 20), write(0, 1, 0, 100)];
    assert.equal(verdict(h), "illegal");
    assert.equal(verdict([...h].reverse()), "illegal");
  });
});
