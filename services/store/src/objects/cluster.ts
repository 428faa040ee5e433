// Cluster: the one cluster-wide object (named "default"): settings in spec, and the root CA, join
// tokens and keys the managers share. Mirrors proto/objects.proto.
import type { Annotations, Driver, DurationNs, Meta } from "./common.js";

export interface OrchestrationConfig {
  /** Per slot; default 5. */
  taskHistoryRetentionLimit?: number;
}

export interface RaftConfig {
  snapshotInterval?: number;
  keepOldSnapshots?: number;
  logEntriesForSlowFollowers?: number;
  heartbeatTick?: number;
  electionTick?: number;
}

export interface DispatcherConfig {
  heartbeatPeriodNs?: DurationNs;
}

export interface ExternalCa {
  protocol: string;
  url: string;
  options?: Record<string, string>;
  caCert?: Uint8Array;
}

export interface CaConfig {
  nodeCertExpiryNs?: DurationNs;
  externalCas?: ExternalCa[];
  signingCaCert?: Uint8Array;
  signingCaKey?: Uint8Array;
  forceRotate?: number;
}

export interface ClusterSpec {
  annotations: Annotations;
  orchestration?: OrchestrationConfig;
  raft?: RaftConfig;
  dispatcher?: DispatcherConfig;
  caConfig?: CaConfig;
  encryptionConfig?: { autoLockManagers?: boolean };
  taskDefaults?: { logDriver?: Driver };
}

export interface JoinTokens {
  worker: string;
  manager: string;
}

export interface RootCa {
  /** PEM. */
  caCert: Uint8Array;
  /** PEM, encrypted with the raft data key: never plaintext at rest. */
  caKey?: Uint8Array;
  /** Digest pinned by join tokens. */
  caCertHash: string;
  joinTokens: JoinTokens;
  lastForcedRotation?: number;
}

export interface EncryptionKey {
  subsystem: string;
  algorithm: number;
  key: Uint8Array;
  lamportTime: number;
}

export interface Cluster {
  id: string;
  meta: Meta;
  spec: ClusterSpec;
  rootCa?: RootCa;
  networkBootstrapKeys?: EncryptionKey[];
  encryptionKeyLamportClock?: number;
  unlockKeys?: EncryptionKey[];
  defaultAddressPool?: string[];
  subnetSize?: number;
  vxlanUdpPort?: number;
}
