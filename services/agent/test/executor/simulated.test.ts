// The simulated executor's knobs (tests and benchmarks drive task outcomes with them).
import assert from "node:assert/strict";
import { FakeClock } from "@shoal/common";
import { SimulatedExecutor, simKnobs } from "../../src/index.js";
import { assignedTask } from "../worker/fixtures.js";

describe("executor/simulated: in-memory tasks that exit or fail on command", () => {
  it("reads only SHOAL_SIM_ knobs from the container env", () => {
    assert.deepEqual(simKnobs(assignedTask("t", "n", ["A=1", "SHOAL_SIM_RUN_MS=5", "SHOAL_SIM_EXIT_CODE=3"])), { SHOAL_SIM_RUN_MS: "5", SHOAL_SIM_EXIT_CODE: "3" });
  });

  it("runs until shut down by default; shutdown ends it with 137", async () => {
    const ex = new SimulatedExecutor({}, { clock: new FakeClock() });
    const t = assignedTask("t", "n");
    await ex.prepare(t);
    await ex.start(t);
    assert.equal((await ex.inspect(t)).state, "running");
    const exit = ex.wait(t);
    await ex.shutdown(t);
    assert.deepEqual(await exit, { exitCode: 137, message: "stopped" });
  });

  it("abandons a wait whose signal aborts, also one aborted before the wait began", async () => {
    const ex = new SimulatedExecutor({}, { clock: new FakeClock() });
    const t = assignedTask("t", "n");
    await ex.prepare(t);
    await ex.start(t);
    const ac = new AbortController();
    const waiting = ex.wait(t, { signal: ac.signal });
    ac.abort();
    await assert.rejects(waiting, (err: Error & { code?: string }) => err.code === "EXECUTOR_ABORTED");
    await assert.rejects(ex.wait(t, { signal: AbortSignal.abort() }), (err: Error & { code?: string }) => err.code === "EXECUTOR_ABORTED");
    // The abandoned waits are gone: shutting the task down settles nothing twice.
    const exit = ex.wait(t);
    await ex.shutdown(t);
    assert.deepEqual(await exit, { exitCode: 137, message: "stopped" });
  });

  it("exits with SHOAL_SIM_EXIT_CODE after SHOAL_SIM_RUN_MS; fails start with SHOAL_SIM_FAIL_START", async () => {
    const clock = new FakeClock();
    const ex = new SimulatedExecutor({}, { clock });
    const t = assignedTask("t", "n", ["SHOAL_SIM_RUN_MS=100", "SHOAL_SIM_EXIT_CODE=7"]);
    await ex.prepare(t);
    await ex.start(t);
    const exit = ex.wait(t);
    clock.advance(100);
    assert.equal((await exit).exitCode, 7);
    const bad = assignedTask("b", "n", ["SHOAL_SIM_FAIL_START=boom"]);
    await ex.prepare(bad);
    await assert.rejects(ex.start(bad), /boom/);
  });
});
