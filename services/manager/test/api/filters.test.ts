import assert from "node:assert/strict";
import { checkFilterValues, matchLabels, parseFilters } from "../../src/api/filters.js";

describe("api filters", () => {
  it("parses the set form and the older list form, dropping values set to false", () => {
    const f = parseFilters('{"role":{"manager":true,"worker":false},"label":["a=b","c"]}', ["role", "label"]);
    assert.deepEqual(f.get("role"), ["manager"]);
    assert.deepEqual(f.get("label"), ["a=b", "c"]);
    assert.equal(parseFilters(undefined, ["role"]).size, 0);
    assert.equal(parseFilters("", ["role"]).size, 0);
  });

  it("refuses malformed JSON, a non-object, an unsupported name and a bad value shape", () => {
    assert.throws(() => parseFilters("{", ["role"]), /invalid filters: not JSON/);
    assert.throws(() => parseFilters("[]", ["role"]), /must be a JSON object/);
    assert.throws(() => parseFilters('{"colour":{"red":true}}', ["role", "name"]), /invalid filter 'colour': this route supports role, name/);
    assert.throws(() => parseFilters('{"role":"manager"}', ["role"]), /values must be a set/);
  });

  it("checks values against the allowed ones", () => {
    const f = parseFilters('{"role":{"boss":true}}', ["role"]);
    assert.throws(() => checkFilterValues(f, "role", ["manager", "worker"]), /invalid filter 'role=boss': must be one of manager, worker/);
  });

  it("matches labels by key or key=value, requiring every term", () => {
    const labels = { zone: "a", ssd: "" };
    assert.ok(matchLabels(labels, ["zone"]));
    assert.ok(matchLabels(labels, ["zone=a", "ssd"]));
    assert.ok(matchLabels(labels, ["ssd="]));
    assert.ok(!matchLabels(labels, ["zone=b"]));
    assert.ok(!matchLabels(labels, ["zone=a", "gpu"]));
    assert.ok(matchLabels(labels, []));
  });
});
