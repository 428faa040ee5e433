import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { boolArg, countArg, filterArg, filtersQuery, keyValueArg, splitKeyValue } from "../../src/index.js";

describe("flag values", () => {
  it("reads whole numbers and refuses anything else", () => {
    assert.equal(countArg("10"), 10);
    for (const bad of ["-1", "1.5", "x", ""]) assert.throws(() => countArg(bad), InvalidArgumentError, bad);
  });

  it("reads booleans as true/false, 1/0, yes/no", () => {
    assert.equal(boolArg("false"), false);
    assert.equal(boolArg("YES"), true);
    assert.throws(() => boolArg("maybe"), InvalidArgumentError);
  });

  it("accumulates key=value flags and splits them (no '=' means an empty value)", () => {
    assert.deepEqual(keyValueArg("b=2", keyValueArg("a=1=x")), ["a=1=x", "b=2"]);
    assert.deepEqual(splitKeyValue("a=1=x"), ["a", "1=x"]);
    assert.deepEqual(splitKeyValue("gpu"), ["gpu", ""]);
    assert.throws(() => keyValueArg("=v"), InvalidArgumentError);
  });

  it("builds docker's filter map from allowed keys only", () => {
    const f = filterArg(["role", "name"]);
    assert.equal(filtersQuery(f("name=b", f("role=manager"))), '{"role":{"manager":true},"name":{"b":true}}');
    assert.equal(filtersQuery([]), undefined);
    assert.throws(() => f("colour=red"), /unknown filter "colour"/);
    assert.throws(() => f("role"), /expected key=value/);
  });
});
