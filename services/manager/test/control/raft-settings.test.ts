import assert from "node:assert/strict";
import type { Cluster, ClusterSpec } from "@shoal/store";
import { checkCaSpecChange, checkDispatcherSpec } from "../../src/control/cluster-object.js";
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

  it("refuses a changed ForceRotate, a root CA of one's own and external CAs, and lets unchanged ones and the expiry through", () => {
    const ca = (caConfig: ClusterSpec["caConfig"]): ClusterSpec => ({ annotations: { name: "default" }, caConfig });
    const pem = new TextEncoder().encode("-----BEGIN CERTIFICATE-----\n…");
    const cases: [ClusterSpec["caConfig"], ClusterSpec["caConfig"], string][] = [
      [undefined, { forceRotate: 1 }, "ForceRotate"],
      [{ forceRotate: 2 }, { forceRotate: 3 }, "ForceRotate"],
      [undefined, { signingCaCert: pem, signingCaKey: pem }, "SigningCACert"],
      [undefined, { externalCas: [{ protocol: "cfssl", url: "https://ca.example" }] }, "ExternalCAs"],
    ];
    for (const [from, to, field] of cases) {
      assert.throws(
        () => checkCaSpecChange(ca(from), ca(to)),
        (e: Error & { code?: string }) => e.code === "CLUSTER_SPEC_UNSUPPORTED" && e.message.startsWith(`CAConfig.${field} is not supported: `),
        `${JSON.stringify(from)} → ${JSON.stringify(to)}`,
      );
      // Stored earlier and sent back whole (docker swarm update does): not a change.
      checkCaSpecChange(ca(to), ca(to));
    }
    assert.throws(() => checkCaSpecChange(ca({}), ca({ forceRotate: 1 })), /root CA rotation is not available yet/);
    checkCaSpecChange(ca({ forceRotate: 2 }), ca({ forceRotate: 2, nodeCertExpiryNs: 3_600_000_000_000 }));
    checkCaSpecChange(ca(undefined), ca({ forceRotate: 0, signingCaCert: new Uint8Array(), externalCas: [] }));
  });

  it("refuses a node certificate validity under an hour (every node would be at the CA every few seconds)", () => {
    const ca = (nodeCertExpiryNs: number): ClusterSpec => ({ annotations: { name: "default" }, caConfig: { nodeCertExpiryNs } });
    for (const [ns, shown] of [[60e9, "1m"], [30 * 60e9, "30m"], [3_599e9, "3599s"]] as const) {
      assert.throws(
        () => checkCaSpecChange(ca(0), ca(ns)),
        (e: Error & { code?: string }) => e.code === "CLUSTER_SPEC_UNSUPPORTED" && e.message === `CAConfig.NodeCertExpiry ${shown} is too short: the minimum is 1h`,
      );
    }
    checkCaSpecChange(ca(0), ca(3_600e9));
    checkCaSpecChange(ca(0), ca(0));
  });

  it("refuses a dispatcher heartbeat period under 100 ms (it was stored and silently raised)", () => {
    const hb = (heartbeatPeriodNs: number): ClusterSpec => ({ annotations: { name: "default" }, dispatcher: { heartbeatPeriodNs } });
    assert.throws(() => checkDispatcherSpec(hb(1e6)), (e: Error & { code?: string }) => e.code === "CLUSTER_SPEC_UNSUPPORTED" && e.message === "Dispatcher.HeartbeatPeriod 1ms is too short: the minimum is 100ms");
    checkDispatcherSpec(hb(100e6));
    checkDispatcherSpec(hb(0));
    checkDispatcherSpec({ annotations: { name: "default" } });
  });
});
