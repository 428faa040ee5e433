import assert from "node:assert/strict";
import { keepUnsetSettings, withSettingDefaults, type ClusterSettingDefaults, type ClusterSpec } from "../src/index.js";

// A manager started with flags of its own: none of these is Shoal's default.
const d: ClusterSettingDefaults = {
  taskHistoryRetentionLimit: 7,
  snapshotInterval: 3_000,
  logEntriesForSlowFollowers: 200,
  electionTick: 12,
  heartbeatTick: 2,
  heartbeatPeriodNs: 1.5e9,
  nodeCertExpiryNs: 86_400e9,
};
const annotations = { name: "default" };

describe("cluster settings: unset ones shown at the manager's values", () => {
  it("fills what is absent or reads as unset, and keeps what the operator set", () => {
    const stored: ClusterSpec = {
      annotations,
      orchestration: { taskHistoryRetentionLimit: -1 },
      raft: { snapshotInterval: 0, electionTick: 0, keepOldSnapshots: 0 },
      dispatcher: { heartbeatPeriodNs: 500e6 },
      caConfig: { forceRotate: 2 },
    };
    const shown = withSettingDefaults(stored, d);
    assert.deepEqual(shown, {
      annotations,
      orchestration: { taskHistoryRetentionLimit: 7 },
      raft: { snapshotInterval: 3_000, logEntriesForSlowFollowers: 200, electionTick: 12, heartbeatTick: 2, keepOldSnapshots: 0 },
      dispatcher: { heartbeatPeriodNs: 500e6 },
      caConfig: { forceRotate: 2, nodeCertExpiryNs: 86_400e9 },
    });
    // A task history of 0 keeps none: that is a setting, not "unset".
    assert.equal(withSettingDefaults({ annotations, orchestration: { taskHistoryRetentionLimit: 0 } }, d).orchestration?.taskHistoryRetentionLimit, 0);
    assert.deepEqual(stored.raft, { snapshotInterval: 0, electionTick: 0, keepOldSnapshots: 0 }, "the stored spec is not changed");
  });

  it("keeps a setting unset when it comes back at the value shown, and takes any other value", () => {
    const cur: ClusterSpec = { annotations, raft: { electionTick: 0 }, dispatcher: { heartbeatPeriodNs: 500e6 } };
    const read = withSettingDefaults(cur, d);
    assert.deepEqual(keepUnsetSettings(cur, read, d), { annotations, orchestration: {}, raft: { electionTick: 0 }, dispatcher: { heartbeatPeriodNs: 500e6 }, caConfig: {} });

    const changed: ClusterSpec = { ...read, orchestration: { taskHistoryRetentionLimit: 3 }, raft: { ...read.raft, snapshotInterval: 500 }, caConfig: { nodeCertExpiryNs: 3600e9 } };
    const next = keepUnsetSettings(cur, changed, d);
    assert.deepEqual(next.orchestration, { taskHistoryRetentionLimit: 3 });
    assert.deepEqual(next.raft, { snapshotInterval: 500, electionTick: 0 });
    assert.deepEqual(next.caConfig, { nodeCertExpiryNs: 3600e9 });
    // Set before: the value shown is the stored one, and it stays set.
    assert.deepEqual(next.dispatcher, { heartbeatPeriodNs: 500e6 });
    const set: ClusterSpec = { annotations, orchestration: { taskHistoryRetentionLimit: 7 } };
    assert.deepEqual(keepUnsetSettings(set, withSettingDefaults(set, d), d).orchestration, { taskHistoryRetentionLimit: 7 });
  });
});
