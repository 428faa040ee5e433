import { strict as assert } from "node:assert";
import { SeededRandom } from "../src/index.js";

describe("SeededRandom", () => {
  it("gives the same sequence for the same seed", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    for (let i = 0; i < 100; i++) assert.equal(a.next(), b.next());
  });

  it("gives different sequences for different seeds", () => {
    const a = new SeededRandom(1);
    const b = new SeededRandom(2);
    const sa = Array.from({ length: 8 }, () => a.int(1000));
    const sb = Array.from({ length: 8 }, () => b.int(1000));
    assert.notDeepEqual(sa, sb);
  });

  it("keeps int(n) within [0, n) and covers the range", () => {
    const r = new SeededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(10);
      assert.ok(v >= 0 && v < 10);
      seen.add(v);
    }
    assert.equal(seen.size, 10);
  });
});
