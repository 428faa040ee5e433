import assert from "node:assert/strict";
import type { Cluster, ClusterSpec } from "@shoal/store";
import { checkRaftSpecChange, logRetentionOf } from "../../src/control/raft-settings.js";

const spec = (raft?: ClusterSpec["raft"]): ClusterSpec => ({ annotations: { name: "default" }, ...(raft === undefined ? {} : { raft }) });
const cluster = (raft?: ClusterSpec["raft"]): Cluster => ({ id: "c", meta: { version: { index: 1 }, createdAt: 0, updatedAt: 0 }, spec: spec(raft) }) as Cluster;

describe("cluster raft settings", () => {
  it("maps SnapshotInterval and LogEntriesForSlowFollowers to raft's log retention; zero or unset is the default", () => {
    assert.deepEqual(logRetentionOf(undefined), {});
    assert.deepEqual(logRetentionOf(cluster()), {});
    assert.deepEqual(logRetentionOf(cluster({ snapshotInterval: 0, logEntriesForSlowFollowers: 0 })), {});
    assert.deepEqual(logRetentionOf(cluster({ snapshotInterval: 2_000, logEntriesForSlowFollowers: 300 })), { snapshotEntries: 2_000, compactKeepEntries: 300 });
  });

  it("refuses a new KeepOldSnapshots, ElectionTick or HeartbeatTick, and lets an unchanged or zero one through", () => {
    for (const [raft, field] of [
      [{ keepOldSnapshots: 2 }, "KeepOldSnapshots"],
      [{ electionTick: 10 }, "ElectionTick"],
      [{ heartbeatTick: 1 }, "HeartbeatTick"],
    ] as const) {
      assert.throws(
        () => checkRaftSpecChange(spec(), spec(raft)),
        (e: Error & { code?: string; meta?: { field?: string } }) => e.code === "CLUSTER_SPEC_UNSUPPORTED" && e.message.startsWith(`Raft.${field} `) && /leave it 0/.test(e.message),
      );
      // Stored earlier (before this check existed) and sent back whole by a client: not a change.
      checkRaftSpecChange(spec(raft), spec(raft));
    }
    checkRaftSpecChange(spec({ electionTick: 10 }), spec({ electionTick: 0 }));
    checkRaftSpecChange(spec(), spec({ snapshotInterval: 5, logEntriesForSlowFollowers: 7, keepOldSnapshots: 0 }));
  });
});
