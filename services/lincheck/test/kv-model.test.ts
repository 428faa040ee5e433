import { strict as assert } from "node:assert";
import { SeededRandom } from "@shoal/common";
import { checkOperations, kvModel, type KvInput, type KvOperation } from "../src/index.js";
import { bruteForceLinearizable } from "./support/brute-force.js";
import { append, cas, get, put } from "./support/ops.js";

describe("kvModel and per-key partitioning", () => {
  it("reads the empty string for an absent key", () => {
    assert.equal(checkOperations(kvModel, [get(0, "x", "", 0, 1)]).result, "ok");
    assert.equal(checkOperations(kvModel, [get(0, "x", "a", 0, 1)]).result, "illegal");
  });

  it("makes a stale read illegal only on the key that was written", () => {
    const staleOtherKey = [put(0, "x", "1", 0, 1), get(1, "y", "", 2, 3)];
    const staleSameKey = [put(0, "x", "1", 0, 1), get(1, "x", "", 2, 3)];
    assert.equal(checkOperations(kvModel, staleOtherKey).result, "ok");
    assert.equal(checkOperations(kvModel, staleSameKey).result, "illegal");
  });

  it("checks each key as its own partition and names it", () => {
    const h = [put(0, "x", "1", 0, 1), put(0, "y", "2", 2, 3), get(1, "x", "1", 4, 5), get(1, "y", "2", 4, 5)];
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "ok");
    assert.deepEqual(
      out.partitionResults.map((r) => [r.name, r.result, r.operations]),
      [
        ['"x"', "ok", 2],
        ['"y"', "ok", 2],
      ],
    );
    assert.equal(out.info, undefined);
  });

  it("reports the whole history illegal when one partition is, and points at that partition", () => {
    const h = [put(0, "x", "1", 0, 1), get(1, "x", "1", 2, 3), put(0, "y", "1", 0, 1), get(1, "y", "", 2, 3)];
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "illegal");
    assert.deepEqual(
      out.partitionResults.map((r) => r.result),
      ["ok", "illegal"],
    );
    assert.equal(out.info?.partition, 1);
    assert.equal(out.info?.partitionName, '"y"');
  });

  it("concatenates appends in some order consistent with real time", () => {
    const concurrent = [append(0, "x", "a", 0, 10), append(1, "x", "b", 0, 10), get(2, "x", "ba", 11, 12)];
    assert.equal(checkOperations(kvModel, concurrent).result, "ok");
    const sequential = [append(0, "x", "a", 0, 1), append(1, "x", "b", 2, 3), get(2, "x", "ba", 4, 5)];
    assert.equal(checkOperations(kvModel, sequential).result, "illegal");
  });

  it("lets exactly one of two racing cas operations on the same expected value succeed", () => {
    const oneWins = [cas(0, "x", "", "a", true, 0, 10), cas(1, "x", "", "b", false, 0, 10), get(2, "x", "a", 11, 12)];
    assert.equal(checkOperations(kvModel, oneWins).result, "ok");
    const bothWin = [cas(0, "x", "", "a", true, 0, 10), cas(1, "x", "", "b", true, 0, 10)];
    assert.equal(checkOperations(kvModel, bothWin).result, "illegal");
  });

  it("prunes timed-out writes nobody observed, so refuting a bad read stays cheap", () => {
    const h: KvOperation[] = [];
    for (let i = 0; i < 40; i++) h.push(put(i, "x", `lost${i}`, i, undefined));
    h.push(put(100, "x", "a", 0, 50), get(101, "x", "a", 60, 61), get(102, "x", "zzz", 70, 71));
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "illegal");
    assert.equal(out.partitionResults[0]!.operations, 3);
    assert.ok(out.partitionResults[0]!.steps < 100, `took ${out.partitionResults[0]!.steps} steps`);
  });

  it("keeps a timed-out write whose value shows up inside a later read", () => {
    // The get sees "ab": the timed-out put of "a" must have happened before the append.
    const h = [put(0, "x", "a", 0, undefined), append(1, "x", "b", 5, 6), get(2, "x", "ab", 10, 11)];
    assert.equal(checkOperations(kvModel, h).result, "ok");
  });

  it("keeps timed-out writes when a failed cas could notice them", () => {
    const h = [put(0, "x", "lost", 0, undefined), cas(1, "x", "", "b", false, 5, 6)];
    const out = checkOperations(kvModel, h);
    assert.equal(out.partitionResults[0]!.operations, 2);
    // Only linearizable because the timed-out put took effect before the cas.
    assert.equal(out.result, "ok");
  });

  it("agrees with a brute-force checker on small random single-key histories", () => {
    // Covers the pruning of unobserved timed-out writes: the brute force sees every operation.
    const unpartitioned = { ...kvModel, partition: undefined };
    const values = ["", "a", "b", "ab", "ba", "aa"];
    let ok = 0;
    let illegal = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const rng = new SeededRandom(seed);
      const h: KvOperation[] = [];
      const n = 2 + rng.int(5);
      for (let i = 0; i < n; i++) {
        const call = rng.int(10);
        const ret = rng.int(3) === 0 ? undefined : call + rng.int(6);
        const kind = rng.int(4);
        let input: KvInput;
        if (kind === 0) input = { op: "get", key: "x" };
        else if (kind === 1) input = { op: "put", key: "x", value: rng.int(2) === 0 ? "a" : "b" };
        else if (kind === 2) input = { op: "append", key: "x", value: rng.int(2) === 0 ? "a" : "b" };
        else input = { op: "cas", key: "x", expected: values[rng.int(3)]!, value: rng.int(2) === 0 ? "a" : "b" };
        const output = kind === 0 ? { value: values[rng.int(values.length)]! } : kind === 3 ? { ok: rng.int(2) === 0 } : {};
        h.push({ clientId: i, input, call, output, return: ret });
      }
      const expected = bruteForceLinearizable(unpartitioned, h) ? "ok" : "illegal";
      assert.equal(checkOperations(kvModel, h).result, expected, `seed ${seed}: ${JSON.stringify(h)}`);
      if (expected === "ok") ok++;
      else illegal++;
    }
    assert.ok(ok > 50 && illegal > 50, `ok=${ok} illegal=${illegal}`);
  });
});
