import { strict as assert } from "node:assert";
import { join } from "node:path";
import { LevelStorage } from "../../src/index.js";
import { Cluster, put } from "./helpers.js";

describe("RaftNode hard state writes", function () {
  this.timeout(30000);
  let c: Cluster;
  beforeEach(() => {
    c = new Cluster();
  });
  afterEach(async () => {
    await c.cleanup();
  });

  it("writes a commit-only hard state lazily, and stop() makes the last commit durable", async () => {
    await c.allocate([1]);
    const m = await c.start(1);
    await c.leader();
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await m.node!.propose(put(`k${i}`, "v"))).index;
    await c.stop(1);
    const st = await LevelStorage.open(join(c.root, "m1", "raft"));
    try {
      const loaded = await st.load();
      // The commit that followed the last entry needed no write of its own; stop() saved it.
      assert.equal(loaded.hardState.commit, last);
      assert.equal(loaded.entries[loaded.entries.length - 1]?.index, last);
    } finally {
      await st.close();
    }
  });
});
