import { strict as assert } from "node:assert";
import { createProcessRegistry, createRegistry } from "../src/metrics.js";

describe("metrics registries", () => {
  it("a process registry reports the process's memory and event loop; a plain one only what is registered", async () => {
    const text = await createProcessRegistry().metrics();
    for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "nodejs_external_memory_bytes", "nodejs_eventloop_lag_max_seconds"]) {
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      assert.ok(line !== undefined, `${name} is exported`);
      assert.ok(Number(line.split(" ")[1]) >= 0, `${name} has a value: ${line}`);
    }
    assert.equal(Number(/^process_resident_memory_bytes (\S+)/m.exec(text)![1]) > 1024 * 1024, true, "RSS is more than 1 MiB");
    assert.equal((await createRegistry().metrics()).trim(), "");
  });
});
