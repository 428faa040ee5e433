import assert from "node:assert/strict";
import { hasTaskRuntime } from "@shoal/store";
import { describeNode } from "../src/describe.js";

describe("shoald: what a node reports about itself", () => {
  it("names its task runtime (an engine plugin of type Runtime) only when it has an executor", () => {
    const runs = describeNode({ hostname: "w1", runtime: "simulated" });
    assert.deepEqual(runs.engine?.plugins, [{ name: "simulated", options: { type: "Runtime" } }]);
    assert.equal(hasTaskRuntime({ description: runs }), true);
    const bare = describeNode({ hostname: "w2", labels: { zone: "a" } });
    assert.equal(bare.engine?.plugins, undefined);
    assert.deepEqual(bare.engine?.labels, { zone: "a" });
    assert.equal(hasTaskRuntime({ description: bare }), false);
  });
});
