// The one Cluster object ("default") and the reads every control component makes of it: the root
// CA material, join tokens, the unlock key and the dispatcher's heartbeat period. Writers go
// through these helpers so that a token or key is generated in exactly one way. checkCaSpecChange
// says which CA settings a spec may change (init and swarm update), and the shortest certificate validity.
import type { Cluster, ClusterSpec, ReadTx } from "@shoal/store";
import { DEFAULT_CLUSTER_NAME } from "@shoal/store";
import { caDigest, generateJoinToken, generateUnlockKey } from "../ca/index.js";
import { sameData } from "../orchestrator/core/new-task.js";
import { ControlError } from "./errors.js";
import { checkRaftSpecChange } from "./raft-settings.js";

const NS_PER_MS = 1_000_000;
/** Swarm's minimum node certificate validity. */
export const MIN_NODE_CERT_EXPIRY_NS = 3_600 * 1_000 * NS_PER_MS;

function formatNs(ns: number): string {
  const s = ns / 1e9;
  return s >= 60 && Number.isInteger(s / 60) ? `${s / 60}m` : `${s}s`;
}
export const UNLOCK_KEY_SUBSYSTEM = "manager";

export function getCluster(tx: ReadTx): Cluster {
  const c = tx.find("cluster", { all: true })[0];
  if (c === undefined) throw new ControlError({ code: "CONTROL_NOT_READY" }, "the cluster is still being created; try again in a moment", { temporary: true });
  return c;
}

/** The shortest dispatcher heartbeat period a cluster spec may set. */
export const MIN_HEARTBEAT_PERIOD_MS = 100;

export function heartbeatPeriodMs(cluster: Cluster | undefined, fallbackMs: number): number {
  const ns = cluster?.spec.dispatcher?.heartbeatPeriodNs;
  if (ns === undefined || ns <= 0) return fallbackMs;
  return Math.max(MIN_HEARTBEAT_PERIOD_MS, Math.round(ns / NS_PER_MS));
}

/** Refuses a heartbeat period under the minimum (it was stored and silently raised to it). */
export function checkDispatcherSpec(spec: ClusterSpec): void {
  const ns = spec.dispatcher?.heartbeatPeriodNs;
  if (ns === undefined || ns <= 0 || ns >= MIN_HEARTBEAT_PERIOD_MS * NS_PER_MS) return;
  throw new ControlError(
    { code: "CLUSTER_SPEC_UNSUPPORTED", field: "HeartbeatPeriod" },
    `Dispatcher.HeartbeatPeriod ${ns / NS_PER_MS}ms is too short: the minimum is ${MIN_HEARTBEAT_PERIOD_MS}ms`,
  );
}

/**
 * Refuses CA settings Shoal does not have, unless unchanged from the stored spec (as
 * checkRaftSpecChange does for raft's): a changed ForceRotate asks for a new root CA (`docker
 * swarm ca --rotate`), SigningCACert/Key for a root of the operator's own, ExternalCAs for signing
 * elsewhere. Stored and ignored, the first left `docker swarm ca --rotate` waiting forever for a
 * rotation that never began. Absent and empty are the same.
 */
export function checkCaSpecChange(cur: ClusterSpec, next: ClusterSpec): void {
  const was = cur.caConfig ?? {};
  const now = next.caConfig ?? {};
  const expiry = now.nodeCertExpiryNs;
  if (expiry !== undefined && expiry > 0 && expiry < MIN_NODE_CERT_EXPIRY_NS) {
    // Nodes renew at 50–80 % of their certificate's life: a short one has every node at the CA
    // every few seconds (and swarm refuses it too).
    throw new ControlError({ code: "CLUSTER_SPEC_UNSUPPORTED", field: "NodeCertExpiry" }, `CAConfig.NodeCertExpiry ${formatNs(expiry)} is too short: the minimum is 1h`);
  }
  const none = new Uint8Array();
  const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => sameData(a ?? none, b ?? none);
  const refuse = (field: string, why: string): never => {
    throw new ControlError({ code: "CLUSTER_SPEC_UNSUPPORTED", field }, `CAConfig.${field} is not supported: ${why}`);
  };
  if ((now.forceRotate ?? 0) !== (was.forceRotate ?? 0)) {
    refuse("ForceRotate", "root CA rotation is not available yet; the cluster keeps the root CA made at init (docs/OPERATIONS.md, Certificates)");
  }
  if (!sameBytes(was.signingCaCert, now.signingCaCert) || !sameBytes(was.signingCaKey, now.signingCaKey)) {
    refuse("SigningCACert", "a root CA of your own is not available yet; the managers sign with the root CA made at init");
  }
  if (!sameData(now.externalCas ?? [], was.externalCas ?? [])) {
    refuse("ExternalCAs", "external CAs are not available; the managers sign node certificates themselves");
  }
}

/** The initial cluster object of `swarm init`. */
export function newCluster(opts: { id: string; spec: ClusterSpec | undefined; caCertPem: string; caKeyPem: string; autolock: boolean; now: number }): Cluster {
  const enc = new TextEncoder();
  if (opts.spec !== undefined) {
    checkRaftSpecChange({ annotations: { name: DEFAULT_CLUSTER_NAME } }, opts.spec);
    checkCaSpecChange({ annotations: { name: DEFAULT_CLUSTER_NAME } }, opts.spec);
    checkDispatcherSpec(opts.spec);
  }
  const spec: ClusterSpec = { ...(opts.spec ?? { annotations: { name: DEFAULT_CLUSTER_NAME } }), annotations: { ...(opts.spec?.annotations ?? { name: DEFAULT_CLUSTER_NAME }), name: DEFAULT_CLUSTER_NAME } };
  spec.encryptionConfig = { ...(spec.encryptionConfig ?? {}), autoLockManagers: opts.autolock };
  const cluster: Cluster = {
    id: opts.id,
    meta: { version: { index: 0 }, createdAt: opts.now, updatedAt: opts.now },
    spec,
    rootCa: {
      caCert: enc.encode(opts.caCertPem),
      caKey: enc.encode(opts.caKeyPem),
      caCertHash: caDigest(opts.caCertPem),
      joinTokens: { worker: generateJoinToken(opts.caCertPem), manager: generateJoinToken(opts.caCertPem) },
    },
  };
  if (opts.autolock) cluster.unlockKeys = [newUnlockKey(1)];
  return cluster;
}

export function newUnlockKey(lamportTime: number): NonNullable<Cluster["unlockKeys"]>[number] {
  return { subsystem: UNLOCK_KEY_SUBSYSTEM, algorithm: 0, key: new TextEncoder().encode(generateUnlockKey()), lamportTime };
}

/** The current unlock key as the operator types it ("" when autolock is off). */
export function currentUnlockKey(cluster: Cluster): string {
  const k = cluster.unlockKeys?.find((u) => u.subsystem === UNLOCK_KEY_SUBSYSTEM);
  return k === undefined ? "" : new TextDecoder().decode(k.key);
}

export function rootCaPems(cluster: Cluster): { certPem: string; keyPem: string } {
  const ca = cluster.rootCa;
  if (ca?.caKey === undefined) throw new ControlError({ code: "CONTROL_NOT_READY" }, "the cluster has no root CA key", { temporary: true });
  const dec = new TextDecoder();
  return { certPem: dec.decode(ca.caCert), keyPem: dec.decode(ca.caKey) };
}
