// The contract between the REST API (this folder) and the node daemon that serves it. Every node
// serves the API; `NodeBackend` is the node-local part (state, init/join/leave/unlock) and
// `manager()` is present only while this node is an active manager — when it is absent,
// manager-only routes answer 503 with Docker's "This node is not a swarm manager…" wording.
// The API must not reach past this interface (no raft, no gRPC): shoald implements it.
import type { ClusterSettingDefaults, ClusterSpec, MemoryStore, NodeAvailability, NodeSpec, ReadTx } from "@shoal/store";

/** Docker's Swarm.LocalNodeState. */
export type LocalNodeState = "inactive" | "pending" | "active" | "locked" | "error";

export interface LocalNodeInfo {
  /** "" until the node is part of a swarm. */
  nodeId: string;
  /** The address other nodes reach this node at (advertise address, IP only). */
  nodeAddr: string;
  localNodeState: LocalNodeState;
  /** True while this node is a manager (ControlAvailable). */
  controlAvailable: boolean;
  /** Why the node is in "error" (or a join failed); "" otherwise. */
  error: string;
  /** The managers this node knows (their node IDs and gRPC addresses). */
  remoteManagers: { nodeId: string; addr: string }[];
  /** "" until part of a swarm. */
  clusterId: string;
  hostname: string;
  /** Engine-ish facts for /info and /version. */
  ncpu: number;
  memTotalBytes: number;
  os: string;
  architecture: string;
  kernelVersion: string;
  /** Shoal's version, reported as the engine's version. */
  version: string;
}

export interface SwarmInitRequest {
  /** gRPC listen address "ip:port" (Docker default 0.0.0.0:2377). */
  listenAddr: string;
  /** Address advertised to other nodes; derived from listenAddr or the host when empty. */
  advertiseAddr: string;
  forceNewCluster: boolean;
  /** Initial cluster spec (name "default" is forced). */
  spec?: ClusterSpec;
  autoLockManagers: boolean;
  availability?: NodeAvailability;
}

export interface SwarmJoinRequest {
  listenAddr: string;
  advertiseAddr: string;
  /** Managers to contact, "ip:port". */
  remoteAddrs: string[];
  joinToken: string;
  availability?: NodeAvailability;
}

export interface ClusterUpdateFlags {
  rotateWorkerToken: boolean;
  rotateManagerToken: boolean;
  rotateManagerUnlockKey: boolean;
}

/** One raft member as `/shoal/cluster` reports it. */
export interface RaftMemberStatus {
  raftId: number;
  nodeId: string;
  /** The node's hostname ("" when its node object is not known here). */
  hostname: string;
  addr: string;
  /** voter | learner */
  suffrage: "voter" | "learner";
  leader: boolean;
  /** reachable from the leader's point of view (the leader itself is always reachable). */
  reachable: boolean;
  /** Highest log index known replicated on it (leader's view; 0 when unknown). */
  matchIndex: number;
}

export interface ClusterStatus {
  clusterId: string;
  /** This manager's raft id. */
  raftId: number;
  /** Raft id of the leader as this manager knows it; 0 = none known. */
  leaderRaftId: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  /** Members in the current configuration. */
  members: RaftMemberStatus[];
}

/** What a manager adds to the API. Errors are ShoalErrors with stable codes (mapped at the edge). */
export interface ManagerBackend {
  /** Reads: store.view (local); writes: store.update / store.batch (replicated through raft). */
  readonly store: MemoryStore;
  /**
   * Resolves once this manager knows a leader (waiting out a short election) and, on a follower,
   * the leader has confirmed its store holds every acknowledged write (a read barrier); rejects
   * MANAGER_NO_LEADER or MANAGER_LEADER_UNREACHABLE otherwise (with wait false: at once, and
   * without the barrier). Every read of cluster state awaits it first: a manager without a leader
   * may hold a stale store, and Docker refuses such reads too.
   */
  leaderForRead(opts?: { wait?: boolean }): Promise<void>;
  /** A read reflecting every write acknowledged before the call (ReadIndex). */
  linearizableView<R>(fn: (tx: ReadTx) => R, opts?: { signal?: AbortSignal }): Promise<R>;
  clusterStatus(): ClusterStatus;
  /**
   * What this manager applies for each cluster setting the spec leaves unset; GET /swarm and
   * /info show the spec with these filled in.
   */
  clusterSettingDefaults(): ClusterSettingDefaults;
  /**
   * POST /swarm/update: replaces the cluster spec (given the version read) and rotates tokens /
   * the unlock key on request. Enabling or disabling autolock goes through spec.encryptionConfig.
   * A setting the stored spec leaves unset that comes back at the value shown for it stays unset.
   */
  updateCluster(version: number, spec: ClusterSpec, flags: ClusterUpdateFlags): Promise<void>;
  /** The current unlock key ("" when autolock is off). */
  unlockKey(): Promise<string>;
  /**
   * POST /nodes/{id}/update: replaces the node spec (role, availability, labels). Refuses to demote
   * the last manager or a change that would lose quorum (MANAGER_QUORUM_GUARD).
   */
  updateNode(id: string, version: number, spec: NodeSpec): Promise<void>;
  /**
   * DELETE /nodes/{id}: refuses a manager (demote it first) and, without force, a node that is not
   * down.
   */
  removeNode(id: string, force: boolean): Promise<void>;
}

export interface NodeBackend {
  info(): LocalNodeInfo;
  /** Creates a new swarm with this node as its first manager; resolves with the node ID. */
  init(req: SwarmInitRequest): Promise<string>;
  /** Joins an existing swarm (as worker or manager per the token); resolves once joined. */
  join(req: SwarmJoinRequest): Promise<void>;
  /** Leaves the swarm; a manager needs force (and never when that loses quorum without force). */
  leave(force: boolean): Promise<void>;
  /** Unlocks a locked manager with the unlock key. */
  unlock(unlockKey: string): Promise<void>;
  /** Present while this node is an active manager. */
  manager(): ManagerBackend | undefined;
  /** Prometheus text exposition of this process's metrics. */
  metrics(): Promise<{ contentType: string; body: string }>;
}
