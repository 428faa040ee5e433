import assert from "node:assert/strict";
import { toRfc3339Nano } from "../../../src/api/docker/index.js";

describe("api docker time", () => {
  it("prints millisecond timestamps as RFC3339Nano, trimming trailing zeros of the fraction", () => {
    assert.equal(toRfc3339Nano(Date.parse("2026-11-28T04:15:41.919Z")), "2026-11-28T04:15:41.919Z");
    assert.equal(toRfc3339Nano(Date.parse("2026-11-28T04:15:41.900Z")), "2026-11-28T04:15:41.9Z");
    assert.equal(toRfc3339Nano(Date.parse("2026-11-28T04:15:40.000Z")), "2026-11-28T04:15:40Z");
    assert.equal(toRfc3339Nano(Date.parse("2026-11-28T04:00:00.000Z")), "2026-11-28T04:00:00Z");
  });

  it("prints Go's zero time for an unset timestamp", () => {
    assert.equal(toRfc3339Nano(0), "0001-01-01T00:00:00Z");
  });
});
