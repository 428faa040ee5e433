// kv-server's Node flags: the benchmark's numbers depend on them, so they must reach every member,
// and a caller's flags must come after them (for V8, a later flag wins).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { KV_SERVER_JS, KV_SERVER_NODE_FLAGS, KvCluster } from "../../src/cluster/kv-cluster.js";

describe("KvCluster: kv-server Node flags", function () {
  this.timeout(60_000);
  let cluster: KvCluster | undefined;

  after(async () => {
    await cluster?.destroy();
  });

  it("starts every member with KV_SERVER_NODE_FLAGS, then the caller's flags, then the script", async () => {
    assert.ok(KV_SERVER_NODE_FLAGS.length > 0);
    const callerFlag = "--max-semi-space-size=8";
    cluster = await KvCluster.start({ system: "shoal", nodeArgs: [callerFlag] });
    for (const m of cluster.members) {
      const argv = readFileSync(`/proc/${m.child.pid!}/cmdline`, "utf8").split("\0");
      const script = argv.indexOf(KV_SERVER_JS);
      assert.ok(script > 0, `member ${m.index} runs ${KV_SERVER_JS}: ${argv.join(" ")}`);
      let last = 0;
      for (const flag of [...KV_SERVER_NODE_FLAGS, callerFlag]) {
        const at = argv.indexOf(flag);
        assert.ok(at > last && at < script, `member ${m.index}: ${flag} in order before the script: ${argv.join(" ")}`);
        last = at;
      }
    }
  });
});
