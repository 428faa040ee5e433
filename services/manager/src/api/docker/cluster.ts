// Cluster ⇄ Docker's swarm JSON: the Spec (sent whole to /swarm/update, partly to /swarm/init),
// ClusterInfo (the Swarm.Cluster of /info) and Swarm (GET /swarm, which adds the join tokens).
// Durations are nanoseconds on both sides; certificates are PEM text in Docker, bytes here.
import { DEFAULT_CLUSTER_NAME, withSettingDefaults, type Cluster, type ClusterSettingDefaults, type ClusterSpec } from "@shoal/store";
import { arrayOf, bool, nonNegativeInt, object, str, stringMap, type JsonSchema } from "../validation.js";
import { tlsInfoOfRoot, bytesToText, type DockerTlsInfo } from "./tls-info.js";
import { durationFromDocker, toRfc3339Nano } from "./time.js";

const encoder = new TextEncoder();

export interface DockerSwarmSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  Orchestration?: { TaskHistoryRetentionLimit?: number | null } | null;
  Raft?: { SnapshotInterval?: number; KeepOldSnapshots?: number | null; LogEntriesForSlowFollowers?: number; ElectionTick?: number; HeartbeatTick?: number } | null;
  Dispatcher?: { HeartbeatPeriod?: number } | null;
  CAConfig?: {
    NodeCertExpiry?: number;
    ExternalCAs?: { Protocol: string; URL: string; Options?: Record<string, string> | null; CACert?: string }[] | null;
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  } | null;
  TaskDefaults?: { LogDriver?: { Name: string; Options?: Record<string, string> | null } | null } | null;
  EncryptionConfig?: { AutoLockManagers?: boolean } | null;
}

const durationNs: JsonSchema = { type: "integer", minimum: 0, description: "nanoseconds" };

export const dockerSwarmSpecSchema: JsonSchema = object(
  {
    Name: str,
    Labels: stringMap,
    Orchestration: object({ TaskHistoryRetentionLimit: { type: ["integer", "null"] } }),
    Raft: object({
      SnapshotInterval: nonNegativeInt,
      KeepOldSnapshots: { type: ["integer", "null"], minimum: 0 },
      LogEntriesForSlowFollowers: nonNegativeInt,
      ElectionTick: nonNegativeInt,
      HeartbeatTick: nonNegativeInt,
    }),
    Dispatcher: object({ HeartbeatPeriod: durationNs }),
    CAConfig: object({
      NodeCertExpiry: durationNs,
      ExternalCAs: arrayOf(object({ Protocol: str, URL: str, Options: stringMap, CACert: str }, { required: ["Protocol", "URL"], nullable: false })),
      SigningCACert: str,
      SigningCAKey: str,
      ForceRotate: nonNegativeInt,
    }),
    TaskDefaults: object({ LogDriver: object({ Name: str, Options: stringMap }, { required: ["Name"] }) }),
    EncryptionConfig: object({ AutoLockManagers: bool }),
  },
  { nullable: false, description: "Docker swarm Spec" },
);

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function num(v: number | null | undefined): number | undefined {
  return v === null ? undefined : v;
}

/** Our ClusterSpec from Docker's Spec; absent fields stay absent (the backend applies defaults). */
export function clusterSpecFromDocker(s: DockerSwarmSpec): ClusterSpec {
  const spec: ClusterSpec = { annotations: { name: s.Name || DEFAULT_CLUSTER_NAME, labels: { ...(s.Labels ?? {}) } } };
  if (s.Orchestration) spec.orchestration = defined({ taskHistoryRetentionLimit: num(s.Orchestration.TaskHistoryRetentionLimit) });
  if (s.Raft) {
    spec.raft = defined({
      snapshotInterval: s.Raft.SnapshotInterval,
      keepOldSnapshots: num(s.Raft.KeepOldSnapshots),
      logEntriesForSlowFollowers: s.Raft.LogEntriesForSlowFollowers,
      electionTick: s.Raft.ElectionTick,
      heartbeatTick: s.Raft.HeartbeatTick,
    });
  }
  if (s.Dispatcher) spec.dispatcher = defined({ heartbeatPeriodNs: durationFromDocker(s.Dispatcher.HeartbeatPeriod) });
  if (s.CAConfig) {
    const ca = s.CAConfig;
    spec.caConfig = defined({
      nodeCertExpiryNs: durationFromDocker(ca.NodeCertExpiry),
      externalCas: ca.ExternalCAs?.map((e) =>
        defined({ protocol: e.Protocol, url: e.URL, options: e.Options ?? undefined, caCert: e.CACert ? encoder.encode(e.CACert) : undefined }),
      ),
      signingCaCert: ca.SigningCACert ? encoder.encode(ca.SigningCACert) : undefined,
      signingCaKey: ca.SigningCAKey ? encoder.encode(ca.SigningCAKey) : undefined,
      forceRotate: ca.ForceRotate,
    });
  }
  if (s.TaskDefaults?.LogDriver) spec.taskDefaults = { logDriver: defined({ name: s.TaskDefaults.LogDriver.Name, options: s.TaskDefaults.LogDriver.Options ?? undefined }) };
  if (s.EncryptionConfig) spec.encryptionConfig = defined({ autoLockManagers: s.EncryptionConfig.AutoLockManagers });
  return spec;
}

/**
 * `docker swarm init` sends zeros for everything it leaves unset (ElectionTick 0, HeartbeatTick 0…);
 * Docker reads a zero there as "use the default", so init drops them.
 */
export function withoutZeroSettings(spec: ClusterSpec): ClusterSpec {
  const strip = <T extends object>(o: T | undefined): T | undefined => {
    if (o === undefined) return undefined;
    const copy = { ...o } as Record<string, unknown>;
    for (const k of Object.keys(copy)) if (copy[k] === 0) delete copy[k];
    return Object.keys(copy).length === 0 ? undefined : (copy as T);
  };
  return defined({
    ...spec,
    orchestration: strip(spec.orchestration),
    raft: strip(spec.raft),
    dispatcher: strip(spec.dispatcher),
    caConfig: strip(spec.caConfig),
  });
}

/**
 * Docker's Spec for a stored ClusterSpec, each setting it leaves unset at the value the manager
 * applies (as Docker shows its defaults; `docker info` read zeros before). The signing key is
 * never shown.
 */
export function clusterSpecToDocker(stored: ClusterSpec, defaults: ClusterSettingDefaults): Required<Omit<DockerSwarmSpec, "TaskDefaults">> & Pick<DockerSwarmSpec, "TaskDefaults"> {
  const spec = withSettingDefaults(stored, defaults);
  const ca = spec.caConfig ?? {};
  const caConfig: NonNullable<DockerSwarmSpec["CAConfig"]> = defined({
    NodeCertExpiry: ca.nodeCertExpiryNs,
    ExternalCAs: ca.externalCas?.map((e) => defined({ Protocol: e.protocol, URL: e.url, Options: e.options, CACert: e.caCert ? bytesToText(e.caCert) : undefined })),
    SigningCACert: ca.signingCaCert ? bytesToText(ca.signingCaCert) : undefined,
    ForceRotate: ca.forceRotate,
  });
  const logDriver = spec.taskDefaults?.logDriver;
  return {
    Name: spec.annotations.name,
    Labels: { ...(spec.annotations.labels ?? {}) },
    Orchestration: defined({ TaskHistoryRetentionLimit: spec.orchestration?.taskHistoryRetentionLimit }),
    Raft: defined({
      SnapshotInterval: spec.raft?.snapshotInterval,
      KeepOldSnapshots: spec.raft?.keepOldSnapshots,
      LogEntriesForSlowFollowers: spec.raft?.logEntriesForSlowFollowers,
      ElectionTick: spec.raft?.electionTick,
      HeartbeatTick: spec.raft?.heartbeatTick,
    }),
    Dispatcher: defined({ HeartbeatPeriod: spec.dispatcher?.heartbeatPeriodNs }),
    CAConfig: caConfig,
    TaskDefaults: logDriver === undefined ? {} : { LogDriver: defined({ Name: logDriver.name, Options: logDriver.options }) },
    EncryptionConfig: { AutoLockManagers: spec.encryptionConfig?.autoLockManagers ?? false },
  };
}

export const DEFAULT_ADDR_POOL = ["10.0.0.0/8"];
export const DEFAULT_SUBNET_SIZE = 24;
export const DEFAULT_DATA_PATH_PORT = 4789;

/** Docker's ClusterInfo (the Swarm.Cluster of /info). */
export interface DockerClusterInfo {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ReturnType<typeof clusterSpecToDocker>;
  TLSInfo: DockerTlsInfo;
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[];
  SubnetSize: number;
  DataPathPort: number;
}

export interface DockerSwarm extends DockerClusterInfo {
  JoinTokens: { Worker: string; Manager: string };
}

export function clusterInfoToDocker(c: Cluster, defaults: ClusterSettingDefaults): DockerClusterInfo {
  return {
    ID: c.id,
    Version: { Index: c.meta.version.index },
    CreatedAt: toRfc3339Nano(c.meta.createdAt),
    UpdatedAt: toRfc3339Nano(c.meta.updatedAt),
    Spec: clusterSpecToDocker(c.spec, defaults),
    TLSInfo: tlsInfoOfRoot(c.rootCa?.caCert),
    RootRotationInProgress: false,
    DefaultAddrPool: c.defaultAddressPool?.length ? [...c.defaultAddressPool] : [...DEFAULT_ADDR_POOL],
    SubnetSize: c.subnetSize || DEFAULT_SUBNET_SIZE,
    DataPathPort: c.vxlanUdpPort || DEFAULT_DATA_PATH_PORT,
  };
}

export function swarmToDocker(c: Cluster, defaults: ClusterSettingDefaults): DockerSwarm {
  return { ...clusterInfoToDocker(c, defaults), JoinTokens: { Worker: c.rootCa?.joinTokens.worker ?? "", Manager: c.rootCa?.joinTokens.manager ?? "" } };
}
