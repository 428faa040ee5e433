import { strict as assert } from "node:assert";
import { FakeClock, sleep, AbortedError, ShoalError } from "../src/index.js";

describe("FakeClock", () => {
  it("fires timers in due order only when advanced", () => {
    const c = new FakeClock(0);
    const fired: string[] = [];
    c.setTimeout(() => fired.push("b"), 20);
    c.setTimeout(() => fired.push("a"), 10);
    c.advance(5);
    assert.deepEqual(fired, []);
    c.advance(20);
    assert.deepEqual(fired, ["a", "b"]);
    assert.equal(c.now(), 25);
  });

  it("repeats intervals and stops them on cancel", () => {
    const c = new FakeClock(0);
    let n = 0;
    const h = c.setInterval(() => n++, 10);
    c.advance(35);
    assert.equal(n, 3);
    h.cancel();
    c.advance(100);
    assert.equal(n, 3);
  });
});

describe("sleep", () => {
  it("rejects with AbortedError when aborted", async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof AbortedError && e instanceof ShoalError && e.code === "ABORTED");
  });
});
