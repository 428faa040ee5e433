// The Docker Engine API shapes the CLI reads, as far as it reads them (the server sends more; the
// CLI passes unknown fields through untouched, e.g. when it sends a Spec back on update).

export interface DockerVersion {
  Index: number;
}

export interface NodeSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  Role?: "worker" | "manager";
  Availability?: "active" | "pause" | "drain";
  [field: string]: unknown;
}

export interface DockerNode {
  ID: string;
  Version: DockerVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: NodeSpec;
  Description?: {
    Hostname?: string;
    Platform?: { Architecture?: string; OS?: string };
    Resources?: { NanoCPUs?: number; MemoryBytes?: number };
    Engine?: { EngineVersion?: string; Labels?: Record<string, string> | null; Plugins?: { Type: string; Name: string }[] | null };
    TLSInfo?: { TrustRoot?: string; CertIssuerSubject?: string; CertIssuerPublicKey?: string };
  };
  Status?: { State?: string; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

/** The cluster Spec: sent back whole on update, so only the fields the CLI edits are typed. */
export interface SwarmSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  Orchestration?: { TaskHistoryRetentionLimit?: number; [field: string]: unknown } | null;
  Raft?: { SnapshotInterval?: number; KeepOldSnapshots?: number; LogEntriesForSlowFollowers?: number; ElectionTick?: number; HeartbeatTick?: number; [field: string]: unknown } | null;
  Dispatcher?: { HeartbeatPeriod?: number; [field: string]: unknown } | null;
  CAConfig?: { NodeCertExpiry?: number; [field: string]: unknown } | null;
  EncryptionConfig?: { AutoLockManagers?: boolean; [field: string]: unknown } | null;
  [field: string]: unknown;
}

export interface DockerSwarm {
  ID: string;
  Version: DockerVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: SwarmSpec;
  TLSInfo?: { TrustRoot?: string; CertIssuerSubject?: string; CertIssuerPublicKey?: string };
  RootRotationInProgress?: boolean;
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number;
  DataPathPort?: number;
  JoinTokens?: { Worker?: string; Manager?: string };
}

export interface DockerInfo {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  Swarm?: {
    NodeID?: string;
    NodeAddr?: string;
    LocalNodeState?: string;
    ControlAvailable?: boolean;
    Error?: string;
  };
}

export interface DockerServerVersion {
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  GitCommit?: string;
  Components?: { Name: string; Version: string }[];
}

/** `GET /shoal/cluster`: the raft view of the manager that answers. */
export interface ClusterStatusView {
  clusterId: string;
  raftId: number;
  leaderRaftId: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  members: {
    raftId: number;
    nodeId: string;
    /** Older servers leave it out. */
    hostname?: string;
    addr: string;
    suffrage: "voter" | "learner";
    leader: boolean;
    reachable: boolean;
    matchIndex: number;
    /**
     * Entries behind the commit index; null when the answering manager cannot know (it is not the
     * leader and this is another member). Older servers may leave it out.
     */
    lag?: number | null;
  }[];
}
