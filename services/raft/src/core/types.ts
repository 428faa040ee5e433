// The data the Raft core consumes and produces. Plain objects, no IO: the transport encodes
// Messages (proto/raft.proto), the storage layer persists Entries, HardState and Snapshots.
//
// Member IDs and indexes are JavaScript numbers (safe integers, < 2^53). ID 0 means "none".

import type { Random } from "@shoal/common";

export type NodeId = number;
export const NONE: NodeId = 0;

export enum EntryType {
  Normal = 0,
  /** data is an encoded ConfChange (see conf-change.ts). */
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export enum MessageType {
  /** Local: start an election (sent to self by tick or campaign()). */
  Hup = 0,
  /** Local: leader should broadcast heartbeats. */
  Beat = 1,
  /** A proposal; followers forward it to the leader. */
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  Snap = 7,
  Heartbeat = 8,
  HeartbeatResp = 9,
  /** Local: the transport could not reach `from`. */
  Unreachable = 10,
  /** Local: result of sending a snapshot to `from` (reject = failed). */
  SnapStatus = 11,
  /** Local: leader checks that a quorum is still active. */
  CheckQuorum = 12,
  /** Ask the leader to transfer leadership to `from`. */
  TransferLeader = 13,
  /** Leader tells the transferee to campaign at once, skipping pre-vote and the lease check. */
  TimeoutNow = 14,
  ReadIndex = 15,
  ReadIndexResp = 16,
  PreVote = 17,
  PreVoteResp = 18,
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** App: term of the entry at `index`. Vote/PreVote: term of the candidate's last entry. */
  logTerm: number;
  /** App: index preceding `entries`. AppResp: last matched index (or the rejected index). */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** AppResp reject: the follower's hint of where to probe next. */
  rejectHint: number;
  /** Opaque: ReadIndex request context, or a campaign marker for transfers. */
  context?: Uint8Array;
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Members removed from the cluster; their IDs are never accepted again. */
  removed: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft: e.g. the new member's address, for the transport. */
  context?: Uint8Array;
}

export enum StateType {
  Follower = "follower",
  PreCandidate = "pre-candidate",
  Candidate = "candidate",
  Leader = "leader",
}

export interface SoftState {
  lead: NodeId;
  state: StateType;
}

export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * What the driver must do, in order: persist `snapshot`, `entries` and `hardState` (fsync when
 * `mustSync`); send `messages`; apply `committedEntries`; then call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}

/**
 * What the core reads of the log. Synchronous by design: the driver keeps the unsnapshotted tail
 * in memory (MemoryStorage) in front of the durable level store.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxSizeBytes in total but always at least one if any. */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[];
  /** Term of the entry at index i; i may be firstIndex()-1 (the snapshot's index). */
  term(i: number): number;
  lastIndex(): number;
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): number;
  snapshot(): Snapshot;
}

/** Structured logging the core may do; the driver passes a pino child logger (it fits). */
export interface RaftLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Configuration of one RawNode. Defaults are in raft.ts (DEFAULTS). */
export interface RaftConfig {
  /** This member's ID; never 0 (NONE). */
  id: NodeId;
  /** Synchronous reads of the persisted log (MemoryStorage in front of the durable store). */
  storage: Storage;
  /** Source of the randomized election timeout, in [electionTicks, 2*electionTicks). */
  random: Random;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Last applied index on restart (default: the snapshot index). */
  applied?: number;
  maxSizePerMsgBytes?: number;
  maxInflightMsgs?: number;
  /** 0 = unlimited; over it propose() throws RAFT_TOO_MANY_UNCOMMITTED. */
  maxUncommittedEntriesBytes?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  logger?: RaftLogger;
}

export type ProgressStateName = "probe" | "replicate" | "snapshot";

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressStateName;
  recentActive: boolean;
  isLearner: boolean;
  /** Index of the snapshot in flight (state "snapshot"), else 0. */
  pendingSnapshot: number;
  /** Appends sent but not yet acknowledged (state "replicate"). */
  inflight: number;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  lead: NodeId;
  state: StateType;
  leadTransferee: NodeId;
  confState: ConfState;
  /** Per member (including self); filled on the leader only, empty elsewhere. */
  progress: Map<NodeId, ProgressStatus>;
}
