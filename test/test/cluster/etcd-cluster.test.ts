// The benchmark's reference system must be driven by the same client as ours: this checks the
// etcd side of the cluster library (process flags, leader discovery via Maintenance/Status, KV).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { KvCluster } from "../../src/cluster/kv-cluster.js";

describe("cluster library driving a 3-member etcd with the shared gRPC KV client", function () {
  this.timeout(60_000);
  let cluster: KvCluster | undefined;
  after(async () => {
    await cluster?.destroy();
  });

  it("finds the etcd leader and reads back a put linearizably from a follower; destroy() kills every member", async function () {
    assert.ok(existsSync("/usr/bin/etcd"), "etcd is installed (scripts/setup.sh)");
    cluster = await KvCluster.start({ system: "etcd" });
    const leader = await cluster.waitForLeader(10_000);
    const put = await leader.client.put("greeting", "hello");
    assert.ok(Number(put.header?.revision) > 0, "put returns a revision");
    const follower = cluster.members.find((m) => m !== leader)!;
    assert.equal(await follower.client.get("greeting"), "hello");
    assert.equal(await follower.client.get("absent"), "");
    const pids = cluster.members.map((m) => m.child.pid!);
    await cluster.destroy();
    cluster = undefined;
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `etcd pid ${pid} is gone`);
  });
});

describe("cluster library start-up", function () {
  this.timeout(30_000);

  it("fails with the member's log tail when a member exits before it serves, and leaves nothing running", async function () {
    // `false` exits at once, as an etcd whose port is taken would.
    await assert.rejects(KvCluster.start({ system: "etcd", etcdBinary: "/bin/false" }), /etcd member m\d \(false pid \d+\) exited; log tail/);
  });
});
