// Docker-shaped objects as the API serves them (taken from the docker CLI traces' shapes).
import type { ClusterStatusView, DockerNode, DockerSwarm } from "../../src/index.js";

export const V = "/v1.50";
export const SELF_ID = "selfnode0000000000000000a";
export const WORKER_ID = "worker100000000000000000b";
export const WORKER_TOKEN = "SHTKN-1-digest0000-workersecret000";
export const MANAGER_TOKEN = "SHTKN-1-digest0000-managersecret00";
export const UNLOCK_KEY = "SHKEY-1-unlockkey0000000000000000";

export function managerNode(over: Partial<DockerNode> = {}): DockerNode {
  return {
    ID: SELF_ID,
    Version: { Index: 12 },
    CreatedAt: "2026-11-28T04:15:41.919Z",
    UpdatedAt: "2026-11-28T04:15:41.919Z",
    Spec: { Labels: {}, Role: "manager", Availability: "active" },
    Description: {
      Hostname: "mgr1",
      Platform: { Architecture: "x86_64", OS: "linux" },
      Resources: { NanoCPUs: 4_000_000_000, MemoryBytes: 8_589_934_592 },
      Engine: { EngineVersion: "0.1.0" },
      TLSInfo: { TrustRoot: "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n", CertIssuerSubject: "MBMxETAPBgNVBAMTCHN3YXJtLWNh", CertIssuerPublicKey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" },
    },
    Status: { State: "ready", Addr: "10.99.0.1" },
    ManagerStatus: { Leader: true, Reachability: "reachable", Addr: "10.99.0.1:2377" },
    ...over,
  };
}

export function workerNode(over: Partial<DockerNode> = {}): DockerNode {
  return {
    ID: WORKER_ID,
    Version: { Index: 19 },
    CreatedAt: "2026-11-28T04:15:42.000Z",
    UpdatedAt: "2026-11-28T04:15:42.000Z",
    Spec: { Labels: { zone: "a" }, Role: "worker", Availability: "active" },
    Description: {
      Hostname: "wrk1",
      Platform: { Architecture: "x86_64", OS: "linux" },
      Resources: { NanoCPUs: 2_000_000_000, MemoryBytes: 4_294_967_296 },
      Engine: { EngineVersion: "0.1.0" },
    },
    Status: { State: "ready", Addr: "10.99.0.2" },
    ...over,
  };
}

export function swarmSpec(autolock = false): DockerSwarm["Spec"] {
  return {
    Name: "default",
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
    CAConfig: { NodeCertExpiry: 7_776_000_000_000_000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: autolock },
  };
}

export function swarm(over: Partial<DockerSwarm> = {}): DockerSwarm {
  return {
    ID: "clusterid000000000000000c",
    Version: { Index: 11 },
    Spec: swarmSpec(),
    JoinTokens: { Worker: WORKER_TOKEN, Manager: MANAGER_TOKEN },
    ...over,
  };
}

export function info(state = "active", over: { NodeID?: string; ControlAvailable?: boolean } = {}): unknown {
  return {
    ID: "ENGINEID-0000",
    Name: "mgr1",
    ServerVersion: "0.1.0",
    Swarm: {
      NodeID: over.NodeID ?? (state === "inactive" ? "" : SELF_ID),
      NodeAddr: "10.99.0.1",
      LocalNodeState: state,
      ControlAvailable: over.ControlAvailable ?? state === "active",
      Error: "",
      RemoteManagers: [{ NodeID: SELF_ID, Addr: "10.99.0.1:2377" }],
    },
  };
}

/** The raft view of the leader (raft 1): it knows every member's match index. */
export function clusterStatus(): ClusterStatusView {
  return {
    clusterId: "clusterid000000000000000c",
    raftId: 1,
    leaderRaftId: 1,
    term: 7,
    commitIndex: 120,
    appliedIndex: 118,
    members: [
      { raftId: 3, nodeId: "node3000000000000000000cc", addr: "10.99.0.3:2377", suffrage: "learner", leader: false, reachable: false, matchIndex: 90, lag: 30 },
      { raftId: 1, nodeId: SELF_ID, hostname: "mgr1", addr: "10.99.0.1:2377", suffrage: "voter", leader: true, reachable: true, matchIndex: 120, lag: 0 },
      { raftId: 2, nodeId: WORKER_ID, hostname: "mgr2", addr: "10.99.0.2:2377", suffrage: "voter", leader: false, reachable: true, matchIndex: 119, lag: 1 },
    ],
  };
}
