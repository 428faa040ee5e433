import { strict as assert } from "node:assert";
import { mkdir } from "node:fs/promises";
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

  it("starts from a snapshot whose stored commit index lags it (the commit is written lazily)", async () => {
    await c.allocate([1]);
    const dir = join(c.root, "m1");
    await mkdir(dir, { recursive: true });
    const st = await LevelStorage.open(join(dir, "raft"));
    await st.load();
    const state = new TextEncoder().encode(JSON.stringify({ data: [["a", "1"]], log: ["a=1"] }));
    await st.save({ entries: [], snapshot: { metadata: { index: 5, term: 1, confState: { voters: [1], learners: [], removed: [] } }, data: state }, hardState: { term: 1, vote: 1, commit: 2 } }, true);
    await st.close();
    const m = await c.start(1);
    assert.equal(m.sm.data.get("a"), "1");
    await c.leader();
    await m.node!.propose(put("b", "2"));
    assert.deepEqual(m.sm.log, ["a=1", "b=2"]);
  });
});
