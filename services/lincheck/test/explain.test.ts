import { strict as assert } from "node:assert";
import { checkOperations, kvModel, registerModel } from "../src/index.js";
import { get, put, read, write } from "./support/ops.js";

describe("failure explanations", () => {
  it("names the partition, the longest linearizable prefix and the operation that could not be placed", () => {
    const h = [put(0, "x", "a", 0, 10), get(1, "x", "a", 20, 30), put(2, "y", "b", 0, 1), get(3, "x", "", 40, 50)];
    const out = checkOperations(kvModel, h);
    assert.equal(out.result, "illegal");
    const info = out.info!;
    assert.equal(info.partitionName, '"x"');
    assert.deepEqual(info.longestLinearizedPrefix, [h[0], h[1]]);
    assert.equal(info.failingOperation, h[3]);
    assert.equal(
      info.explanation,
      [
        'partition "x" (3 operations) is not linearizable.',
        "Longest linearizable prefix (2 of 3 operations):",
        '  1. client 0 [call 0, return 10] put("x", "a")',
        '  2. client 1 [call 20, return 30] get("x") -> "a"',
        'State after that prefix: "a"',
        'Could not place: client 3 [call 40, return 50] get("x") -> ""',
      ].join("\n"),
    );
  });

  it("shows unknown outcomes in the prefix", () => {
    const h = [write(0, 1, 0, 5), write(1, 2, 3, undefined), read(2, 3, 6, 8)];
    const out = checkOperations(registerModel, h);
    assert.equal(out.result, "illegal");
    assert.equal(out.info!.failingOperation, h[2]);
    assert.match(out.info!.explanation, /\n {2}2\. client 1 \[call 3, return unknown \(timed out\)\] write\(2\) -> \? \(unknown outcome\)\n/);
  });

  it("lists the operations still open before the failing one returned", () => {
    const h = [read(0, 8, 0, 10), read(1, 9, 2, 12)];
    const out = checkOperations(registerModel, h);
    assert.equal(out.result, "illegal");
    assert.deepEqual(out.info!.longestLinearizedPrefix, []);
    assert.equal(out.info!.failingOperation, h[0]);
    assert.match(out.info!.explanation, /Longest linearizable prefix \(0 of 2 operations\):\n {2}\(none\)\n/);
    assert.match(out.info!.explanation, /Other operations still open before its return \(1\):\n {2}- client 1 \[call 2, return 12\] read\(\) -> 9$/);
  });

  it("uses a JSON rendering when the model has no describeOperation", () => {
    const bare = { init: () => 0, step: (s: number, i: number, o: number | undefined): [boolean, number] => [o === undefined || o === s + i, s + i], equal: (a: number, b: number) => a === b };
    const out = checkOperations(bare, [{ clientId: 0, input: 1, call: 0, output: 5, return: 1 }]);
    assert.equal(out.result, "illegal");
    assert.match(out.info!.explanation, /^history \(1 operations\) is not linearizable\./);
    assert.match(out.info!.explanation, /Could not place: client 0 \[call 0, return 1\] 1 -> 5/);
  });
});
