import assert from "node:assert/strict";
import { ShoalError } from "@shoal/common";
import { StoreCluster, service, waitFor } from "./helpers.js";

describe("replication: ReplicatedStore with raft.forceNewCluster (lost quorum recovery)", function () {
  this.timeout(30_000);
  // Small snapshots so that the survivor's store comes back from a snapshot plus the log after it.
  const c = new StoreCluster({ raft: { snapshotEntries: 5, compactKeepEntries: 1 } as never });
  after(() => c.cleanup());

  it("restarts the lone survivor as a one-member cluster with every acknowledged object, taking writes, also after a plain restart", async () => {
    await c.startAll([1, 2, 3]);
    const leader = await c.leader();
    const n = 12;
    for (let i = 0; i < n; i++) await leader.store.update((tx) => tx.create("service", service(`s-${i}`, `s-${i}`)));
    const s3 = leader.store.view((tx) => tx.get("service", "s-3"))!;
    await leader.store.update((tx) => tx.update("service", { ...s3, spec: { ...s3.spec, replicated: { replicas: 7 } } }));
    const lastIndex = leader.store.appliedIndex;
    const survivor = c.running().find((m) => m !== leader)!;
    const id = survivor.id;
    await waitFor(() => survivor.store.appliedIndex >= lastIndex, 5000, "the survivor to apply every acknowledged write");
    const gone = [1, 2, 3].filter((x) => x !== id);
    for (const x of [1, 2, 3]) await c.stop(x);

    const back = await c.start(id, { forceNewCluster: true });
    await waitFor(() => back.isLeader(), 5000, "the survivor to lead alone");
    assert.equal(back.store.view((tx) => tx.find("service").length), n);
    assert.equal(back.store.view((tx) => tx.get("service", "s-3"))?.spec.replicated?.replicas, 7);
    await back.store.update((tx) => tx.create("service", service("after", "after")));
    const st = back.raft.status();
    assert.deepEqual(st.confState.voters, [id]);
    assert.deepEqual(st.confState.removed, gone);
    assert.deepEqual(Object.keys(st.addresses).map(Number), [id]);
    assert.deepEqual(back.raft.memberStatus().map((m) => [m.id, m.voter]), [[id, true]]);
    // A removed manager cannot rejoin under its old raft ID.
    await assert.rejects(back.raft.addMember(gone[0]!, c.addresses[gone[0]!]!), (e: unknown) => e instanceof ShoalError && e.code === "RAFT_MEMBER_REMOVED");

    await c.stop(id);
    const again = await c.start(id);
    await waitFor(() => again.isLeader(), 5000, "leadership after a plain restart");
    assert.equal(again.store.view((tx) => tx.find("service").length), n + 1);
    assert.deepEqual(again.raft.status().confState.voters, [id]);
    await again.store.update((tx) => tx.create("service", service("later", "later")));
    assert.ok(again.store.view((tx) => tx.get("service", "later")) !== undefined);
  });
});
