import assert from "node:assert/strict";
import { formatDurationNs, parseDurationNs } from "../../src/index.js";

describe("durations", () => {
  it("reads docker-style durations as nanoseconds", () => {
    const cases: [string, number][] = [
      ["90d", 7_776_000_000_000_000],
      ["2160h", 7_776_000_000_000_000],
      ["5s", 5_000_000_000],
      ["500ms", 500_000_000],
      ["1h30m", 5_400_000_000_000],
      ["1.5h", 5_400_000_000_000],
      ["250us", 250_000],
      ["10ns", 10],
      ["0", 0],
    ];
    for (const [text, ns] of cases) assert.deepEqual(parseDurationNs(text), { ok: true, ns }, text);
  });

  it("refuses missing units, unknown units, signs, garbage and overflow with a reason", () => {
    for (const text of ["", "5", "1.5", "5x", "-5s", "5 s", "1h30", "s", "99999999d"]) {
      const r = parseDurationNs(text);
      assert.equal(r.ok, false, text);
    }
    assert.match((parseDurationNs("5") as { reason: string }).reason, /missing unit/);
  });

  it("prints nanoseconds back in the largest whole units", () => {
    assert.equal(formatDurationNs(7_776_000_000_000_000), "90d");
    assert.equal(formatDurationNs(5_400_000_000_000), "1h30m");
    assert.equal(formatDurationNs(500_000_000), "500ms");
    assert.equal(formatDurationNs(0), "0s");
  });
});
