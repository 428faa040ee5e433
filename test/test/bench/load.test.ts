// The benchmark's closed-loop load: puts go through Raft (one entry each); reads are serializable
// gets of one key that the leader answers without Raft, which is what lets the benchmark read a
// server's gRPC cost per call off them.
import assert from "node:assert/strict";
import { KvCluster } from "../../src/cluster/kv-cluster.js";
import { runPutLoad } from "../../src/bench/load.js";

describe("bench load: puts and serializable reads", function () {
  this.timeout(60_000);
  let cluster: KvCluster | undefined;

  after(async () => {
    await cluster?.destroy();
  });

  it("commits one entry per put, and only the one seeding put for a run of reads", async () => {
    cluster = await KvCluster.start({ system: "shoal" });
    const leader = await cluster.waitForLeader(20_000);
    const commit = async (): Promise<number> => (await leader.client.status()).commit;
    const load = { system: "shoal" as const, address: leader.clientAddress, clients: 1, connections: 1, durationMs: 400, valueBytes: 256 };

    const beforePuts = await commit();
    const puts = await runPutLoad(load);
    assert.equal(puts.errors, 0);
    assert.ok(puts.puts > 0, "some puts were made");
    assert.equal(puts.latenciesMs.length, puts.puts);
    assert.equal((await commit()) - beforePuts, puts.puts, "one committed entry per put");

    const beforeReads = await commit();
    const reads = await runPutLoad({ ...load, op: "read" });
    assert.equal(reads.errors, 0);
    assert.ok(reads.puts > puts.puts / 4, `reads were made: ${reads.puts}`);
    assert.equal((await commit()) - beforeReads, 1, "only the put that seeds the key read");
    const got = await leader.client.range("bench/read", { serializable: true });
    assert.equal(got.kvs?.[0]?.value?.length, 256);
  });
});
