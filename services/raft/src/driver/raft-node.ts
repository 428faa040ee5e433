// RaftNode: one member of a Raft group, wiring the pure core (RawNode) to disk (LevelStorage behind
// a MemoryStorage), the network (a RaftTransport) and a StateMachine.
//
// Owns: the tick timer, the Ready loop and its order (leader's appends out early, persist with one
// fsync per Ready, send the rest, apply, advance; a Ready that needs no fsync is sent and applied
// while its write runs), proposal/read/transfer waiters, membership addresses, snapshots and
// compaction. Only one Ready is ever in flight; steps, ticks and proposals
// that arrive meanwhile queue in the core (allowed by the core's contract), except a leader's
// heartbeats, which a tick takes out and sends at once. It must not make Raft decisions itself:
// every decision is the core's.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { describeError, systemClock, systemRandom, type Clock, type Logger, type Random, type TimerHandle } from "@shoal/common";
import { decodeConfChange } from "../core/conf-change.js";
import { RaftError } from "../core/errors.js";
import { MemoryStorage } from "../core/memory-storage.js";
import { RawNode } from "../core/raw-node.js";
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  StateType,
  type ConfChange,
  type ConfState,
  type HardState,
  type Entry,
  type Message,
  type NodeId,
  type RaftStatus,
  type ReadState,
  type Ready,
  type Snapshot,
} from "../core/types.js";
import { createAesGcmCodec } from "../storage/aes-gcm-codec.js";
import { LevelStorage } from "../storage/level-storage.js";
import { GrpcTransport } from "../transport/grpc-transport.js";
import type { RaftTransport } from "../transport/transport.js";
import { planForceNewCluster } from "./force-new-cluster.js";
import { canRemoveVoter, isCaughtUp, memberStatus, type MemberStatus, type MemberStatusInput } from "./member-status.js";
import { readMembers, toRecord, unwrapSnapshotData, wrapSnapshotData, writeMembers, type Addresses } from "./members.js";
import type { SnapshotData, StateMachine } from "./state-machine.js";

const MIB = 1024 * 1024;
/**
 * The least log, in bytes, behind a snapshot before the next one (snapshotBytes' default). It
 * bounds what a manager holds and replays at restart (about 20 ms per MiB) against how often it
 * re-encodes its whole store. At 64 MiB, placing 100,000 tasks (about 85 MiB of log) made every
 * manager snapshot in the middle of it; at 128 MiB none did (docs/OPERATIONS.md, Sizing managers).
 */
export const SNAPSHOT_FLOOR_BYTES = 128 * MIB;
/** The most a member that is not the leader keeps behind a snapshot (see keptTailStart). */
const FOLLOWER_KEEP_BYTES = 8 * MIB;
export const DEFAULT_SNAPSHOT_ENTRIES = 10_000;
export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;
export const DEFAULT_COMPACT_KEEP_ENTRIES = 1_000;

export interface RaftNodeOptions {
  id: NodeId;
  dataDir: string;
  /** host:port the transport listens on. */
  listen: string;
  /** Initial cluster members -> addresses (including self); ignored once members.json exists. */
  peers: Record<NodeId, string>;
  /** Start empty and wait to be added by the leader (peers: addresses of current members). */
  join?: boolean;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Take a snapshot after this many applied entries since the last one (default 10,000; setLogRetention changes it). */
  snapshotEntries?: number;
  /**
   * Also take one once the entries applied since the last one hold this many bytes of data.
   * Default: the last snapshot's size, but at least SNAPSHOT_FLOOR_BYTES (128 MiB). The log in
   * memory then stays about as large as the state it describes, and snapshotting costs at most
   * what was written, since a snapshot's work grows with the state (entries of hundreds of store
   * actions each made a few thousand entries hold gigabytes).
   */
  snapshotBytes?: number;
  /**
   * Entries kept behind a snapshot for slow followers (default 1,000). The leader keeps only
   * those its followers lack (all of them for a follower that is down); other members keep at
   * most 8 MiB of them.
   */
  compactKeepEntries?: number;
  /**
   * ... holding at most this many bytes of data (default 128 MiB: a follower that fell behind by
   * a few seconds of a busy manager's writes still catches up from entries; one that needs the
   * whole snapshot decodes it in one piece, which for a large store is itself a stall).
   */
  compactKeepBytes?: number;
  /**
   * A snapshot larger than this (default 4 MiB) is not kept in memory once it is durable: the
   * leader reads it back from disk when a follower needs it. At 100,000 tasks the snapshot is
   * about 150 MiB of a manager's memory otherwise. Reading it back (checksum, decryption) runs
   * a slice per turn.
   */
  keepSnapshotBytes?: number;
  /** TLS for the gRPC transport; `server` may be left out when `grpcServer` is given (its owner chose). */
  tls?: { server?: grpc.ServerCredentials; client: grpc.ChannelCredentials };
  /**
   * A gRPC server owned by the caller (the manager serves raft, CA, control and dispatcher on one
   * port): the raft service is registered on it, nothing is bound, and `listen` is the address
   * advertised to peers. The caller binds it and shuts it down after stop().
   */
  grpcServer?: grpc.Server;
  /** Merged into every peer channel's options (e.g. `grpc.ssl_target_name_override`). */
  channelOptions?: grpc.ChannelOptions;
  /**
   * The data key (32 bytes): entry and snapshot data are sealed with AES-256-GCM at rest. A data
   * dir written with another key (or without one) fails to open with RAFT_STORAGE_KEY_WRONG and is
   * left untouched.
   */
  encryptionKey?: Uint8Array;
  /**
   * Recover a lone survivor after quorum was lost for good: keep every entry this member knows
   * committed and its snapshot, drop its uncommitted tail, and make it the only voter (the other
   * members are removed; their IDs stay retired). Only when every other member is gone for good:
   * they would otherwise still form the old cluster. Idempotent; later starts need not set it.
   */
  forceNewCluster?: boolean;
  /**
   * How long the leader may hold a commit notice (an append with no entries, sent only to tell a
   * follower a new commit index) waiting for the next append to that follower, which carries the
   * newer commit anyway and makes the notice redundant (default 5 ms; 0 sends every notice at
   * once, as etcd does). Under a steady stream of writes this halves the messages per write and
   * keeps followers off the CPU while the leader answers its client; what it costs is that a
   * follower applies a write up to this much later when no further write follows it. Delaying a
   * message is always safe in Raft; a notice overtaken by a newer append is simply not sent.
   */
  commitNoticeDelayMs?: number;
  /**
   * How many proposals one pass over committed entries answers at once (default 8; 0 for no
   * bound). The rest are answered in the next turns of the event loop, this many a turn, in
   * order. A Node process sends what it writes only once the loop turn ends, so a leader that
   * answers 32 clients in one turn holds the first answer until the last is written, and its
   * clients' next writes then arrive together too: cluster and clients take turns, and a third
   * of two cores stayed idle with 32 clients. Answered in slices, the first clients write again
   * while the rest are answered.
   */
  settleBatch?: number;
}

export interface RaftProposeOptions {
  signal?: AbortSignal;
  /**
   * Rejects with RAFT_TIMEOUT (outcome unknown) if the entry is not applied within this many ms.
   * Checked on every tick, so the rejection comes up to one tick late. Unlike a signal it costs no
   * timer or listener per proposal: the KV service's puts use it (services/raft/README.md, "The
   * storage batch and the per-call deadline").
   */
  timeoutMs?: number;
  /** Append only as the leader of this term (else RAFT_NOT_LEADER). */
  term?: number;
  /** Called before propose() returns, once the entry is in this leader's log. */
  onAppended?: (at: { index: number; term: number }) => void;
}

/**
 * The silences this member has seen since it started: each is also a warning in its log. At a
 * full election timeout a silence costs the leadership, so these say how close a loaded manager
 * came (its event loop held, or short of CPU).
 */
export interface RaftSilenceStats {
  /** Times this member, leading, sent a member nothing for half an election timeout or more. */
  leaderSilences: number;
  /** The longest of those, ms. */
  longestLeaderSilenceMs: number;
  /** Times this member, following, heard from its leader only after half an election timeout. */
  followerSilences: number;
  /** The longest of those, ms. */
  longestFollowerSilenceMs: number;
}

/** This member's snapshots and the log behind the last one (what the snapshot rule reads). */
export interface RaftSnapshotStats {
  /** Snapshots this member took itself since it started (not those received from a leader). */
  taken: number;
  /** Bytes of the last snapshot (taken, received or loaded at start). */
  lastBytes: number;
  /** Bytes of the entries applied since the last snapshot: the next one comes at snapshotBytes. */
  logBytesSinceSnapshot: number;
  /** The byte count at which the next snapshot is taken (snapshotBytes). */
  thresholdBytes: number;
}

export interface RaftNodeModules {
  stateMachine: StateMachine;
  logger: Logger;
  random?: Random;
  clock?: Clock;
  /**
   * Replaces the gRPC transport (tests, or a caller that builds its own GrpcTransport); `tls`,
   * `grpcServer` and `channelOptions` are then unused. RaftNode still starts and stops it and
   * tells it every member's address (addPeer / removePeer) as membership changes.
   */
  transport?: RaftTransport;
}

interface ProposalWaiter {
  index: number;
  term: number;
  resolve: (r: { index: number; term: number }) => void;
  reject: (err: Error) => void;
  /** Monotonic ms after which a tick rejects it (timeoutMs); Infinity for none. */
  expiresAt: number;
}

interface ReadWaiter {
  /** The read index once the core answered; -1 before. */
  index: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One ReadIndex request to the core, shared by every barrier that arrived before it was issued. */
interface ReadRound {
  id: number;
  waiters: ReadWaiter[];
  timer: TimerHandle;
}

const EMPTY = new Uint8Array(0);

export class RaftNode {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly sm: StateMachine;
  private ticker: TimerHandle | undefined;
  /** When the last tick fired (monotonic ms), to tell a late one. */
  private lastTickMs: number | undefined;

  private lead: NodeId = NONE;
  private state: StateType = StateType.Follower;
  private term = 0;
  private applied: number;
  /** Term of the last applied entry: waiters of older terms at later indexes can never commit. */
  private appliedTerm = 0;
  /** A hard state whose only change is the commit index, not yet written (see handleReady). */
  private unsavedHardState: HardState | undefined;
  private snapshotIndex: number;
  private confState: ConfState;

  private loopRunning = false;
  private loopScheduled = false;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private stopping: Promise<void> | undefined;

  private readonly proposals = new Map<number, ProposalWaiter[]>();
  /** Set while a leader waits for its own synced write: an acknowledgement stepped meanwhile wakes it (applyWhileSaving). */
  private commitWaker: (() => void) | undefined;
  /** No waiter with a timeoutMs expires before this (monotonic ms); ticks skip the sweep until then. */
  private nextProposalExpiry = Infinity;
  // Read barriers are batched like etcd's read loop: while one round is in flight, new barriers
  // queue for the next (they must not share a read index obtained before they were called).
  private readQueue: ReadWaiter[] = [];
  private readRound: ReadRound | undefined;
  private readsAwaitingApply: ReadWaiter[] = [];
  private nextReadId = 1;
  /** Monotonic ms at which each peer's last message arrived (for memberStatus and canRemoveVoter). */
  private readonly lastHeardMs = new Map<NodeId, number>();
  /**
   * Peers whose address refused our connection since a stream to them was last accepted: not
   * reachable, whatever arrives from them meanwhile (a dead member's last frames can still come
   * out of TCP's retransmission queue seconds later, after a partition healed).
   */
  private readonly refusing = new Set<NodeId>();
  /** Leaders found refusing this member while their messages arrive (warned about once each). */
  private readonly oneWay = new Set<NodeId>();
  /** A leader's: monotonic ms at which it last handed each follower a message (see noteSent). */
  private readonly lastSentMs = new Map<NodeId, number>();
  private readonly leaderListeners = new Set<(lead: NodeId, term: number) => void>();
  private readonly fatalListeners = new Set<(err: RaftError) => void>();
  /** Why the Ready loop stopped for good, once it has. */
  private fatal: RaftError | undefined;
  /**
   * Set once this member learns that its id was removed from the cluster: it applied its own
   * removal, or a peer refused its messages as a removed member's (a member retired by
   * --force-new-cluster elsewhere, or removed while it was away, never sees the entry).
   */
  private removedNotice: { by: NodeId } | undefined;
  /** Removed members whose messages this member refused (each is logged once). */
  private readonly toldRemoved = new Set<NodeId>();
  /** Pending transfers, rejected by stop(). */
  private readonly transfers = new Set<(err: Error) => void>();

  private snapshotEntries: number;
  private compactKeepEntries: number;
  private readonly compactKeepBytes: number;
  /** Entry data applied since the last snapshot was captured, and that snapshot's size. */
  private bytesSinceSnapshot = 0;
  private snapshotsTaken = 0;
  private lastSnapshotBytes: number;
  /** The tick interval (opts.tickMs, default 100 ms). */
  private readonly tickMs: number;
  private readonly electionMs: number;
  /**
   * Half the shortest election timeout (400 ms on a manager): a slow Ready, a leader that sent a
   * member nothing, a follower that heard nothing from its leader, for this long, are warned of.
   */
  private readonly warnAfterMs: number;
  private readonly silences: RaftSilenceStats = { leaderSilences: 0, longestLeaderSilenceMs: 0, followerSilences: 0, longestFollowerSilenceMs: 0 };
  private readonly commitNoticeDelayMs: number;
  /** See RaftNodeOptions.settleBatch (Infinity for no bound). */
  private readonly settleBatch: number;
  /**
   * Applied proposals waiting for a later turn of the event loop to be answered, in order; while
   * any wait, a turn that answers some is scheduled.
   */
  private readonly toAnswer: ProposalWaiter[] = [];
  /** Proposals answered at once in the current pass over committed entries. */
  private answeredNow = 0;
  /** Commit notices held back per follower (see RaftNodeOptions.commitNoticeDelayMs). */
  private readonly heldNotices = new Map<NodeId, Message>();
  private noticeTimer: TimerHandle | undefined;
  /** The local snapshot being encoded and saved in the background, if any. */
  private snapshotting: Promise<void> | undefined;
  /** The index of the snapshot whose data `mem` no longer holds (read back from disk to send it). */
  private releasedSnapshotIndex = 0;

  private constructor(
    private readonly opts: RaftNodeOptions,
    modules: RaftNodeModules,
    private readonly raw: RawNode,
    private readonly mem: MemoryStorage,
    private readonly level: LevelStorage,
    private readonly transport: RaftTransport,
    private readonly addresses: Addresses,
    log: Logger,
  ) {
    this.log = log;
    this.clock = modules.clock ?? systemClock;
    this.sm = modules.stateMachine;
    const snap = mem.snapshot();
    this.snapshotIndex = snap.metadata.index;
    this.applied = snap.metadata.index;
    this.appliedTerm = snap.metadata.term;
    this.confState = snap.metadata.confState;
    this.term = mem.hardState.term;
    this.snapshotEntries = opts.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES;
    this.compactKeepEntries = opts.compactKeepEntries ?? DEFAULT_COMPACT_KEEP_ENTRIES;
    this.compactKeepBytes = opts.compactKeepBytes ?? 128 * MIB;
    this.lastSnapshotBytes = snap.data.length;
    this.releaseSnapshotData(snap.metadata.index, snap.data.length);
    this.tickMs = opts.tickMs ?? 100;
    this.electionMs = this.tickMs * (opts.electionTicks ?? DEFAULT_ELECTION_TICKS);
    this.warnAfterMs = this.electionMs / 2;
    this.commitNoticeDelayMs = Math.max(0, opts.commitNoticeDelayMs ?? 5);
    const settleBatch = opts.settleBatch ?? 8;
    this.settleBatch = settleBatch > 0 ? settleBatch : Infinity;
  }

  /**
   * Opens (or creates) the member's state in dataDir and starts it: the state machine is restored
   * from the latest snapshot and committed entries after it are applied again. Resolves once they
   * are, so that nothing reads a state machine that shows only part of what this member had
   * committed: the replay is not one synchronous step (a membership change in it awaits the write
   * of members.json), while the transport already runs and a heartbeat can make the leader known
   * in between. (A manager restarted that way once answered its first read with 3 nodes of 5.)
   */
  static async start(opts: RaftNodeOptions, modules: RaftNodeModules): Promise<RaftNode> {
    if (!Number.isSafeInteger(opts.id) || opts.id <= 0) throw new RaftError("RAFT_INVALID_ARGUMENT", `member id must be positive, got ${opts.id}`);
    const log = modules.logger.child({ component: "raft", id: opts.id });
    if (opts.encryptionKey !== undefined && opts.encryptionKey.length !== 32) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `the raft data key must be 32 bytes, got ${opts.encryptionKey.length}`);
    }
    await mkdir(opts.dataDir, { recursive: true });
    const codec = opts.encryptionKey === undefined ? undefined : createAesGcmCodec(opts.encryptionKey);
    const level = await LevelStorage.open(join(opts.dataDir, "raft"), codec === undefined ? { logger: log } : { logger: log, codec });
    let transport: RaftTransport | undefined;
    let running: RaftNode | undefined;
    try {
      let loaded = await level.load();
      let stored = await readMembers(opts.dataDir);
      if (opts.forceNewCluster === true) {
        const plan = planForceNewCluster(loaded, opts.id, opts.listen);
        // One atomic batch: a crash leaves the old log or the rewritten one. members.json follows;
        // should that write be lost, replaying the appended conf changes rewrites it anyway.
        await level.save({ entries: plan.entries, hardState: plan.hardState }, true);
        loaded = await level.load();
        stored = new Map([[opts.id, opts.listen]]);
        await writeMembers(opts.dataDir, stored);
        log.warn(
          { removed: plan.removed, droppedEntries: plan.droppedEntries, commit: plan.hardState.commit, confState: plan.confState },
          "raft: forced a new one-member cluster from this member's state",
        );
      }
      const addresses: Addresses = stored ?? new Map(Object.entries(opts.peers).map(([k, v]) => [Number(k), v]));
      if (!addresses.has(opts.id)) addresses.set(opts.id, opts.listen);
      const hs = loaded.hardState;
      const empty = loaded.snapshot === undefined && loaded.entries.length === 0 && hs.term === 0 && hs.vote === NONE && hs.commit === 0;

      let mem: MemoryStorage;
      // An empty log with members.json present means an earlier start joined and received nothing
      // yet: starting it as a new cluster would split the group.
      const joining = (opts.join ?? false) || stored !== undefined;
      if (empty && !joining) {
        const voters = Object.keys(opts.peers).map(Number).sort((a, b) => a - b);
        if (!voters.includes(opts.id)) throw new RaftError("RAFT_INVALID_ARGUMENT", `peers of a new cluster must include this member ${opts.id}`);
        const confState: ConfState = { voters, learners: [], removed: [] };
        // Persisted so that a restart finds the same initial configuration.
        await level.save({ entries: [], snapshot: { metadata: { index: 0, term: 0, confState }, data: EMPTY } }, true);
        mem = new MemoryStorage({ confState });
        log.info({ voters }, "raft: new cluster bootstrapped");
      } else {
        mem = new MemoryStorage();
        if (loaded.snapshot !== undefined) {
          mem.applySnapshot(loaded.snapshot);
          if (loaded.snapshot.metadata.index > 0) {
            const { addresses: snapAddrs, data } = unwrapSnapshotData(loaded.snapshot.data);
            await modules.stateMachine.restore(data);
            if (stored === undefined && snapAddrs !== undefined) for (const [k, v] of snapAddrs) addresses.set(k, v);
          }
        }
        // A snapshot only ever covers applied, so committed, entries; the commit index written
        // with it may lag (it is written lazily), and the core refuses a commit below its snapshot.
        mem.setHardState({ ...hs, commit: Math.max(hs.commit, mem.snapshot().metadata.index) });
        mem.append(loaded.entries);
        log.info(
          { snapshotIndex: mem.snapshot().metadata.index, lastIndex: mem.lastIndex(), term: hs.term, commit: hs.commit, join: opts.join ?? false },
          "raft: state loaded",
        );
      }
      if (stored === undefined) await writeMembers(opts.dataDir, addresses);

      const raw = new RawNode({
        id: opts.id,
        storage: mem,
        random: modules.random ?? systemRandom,
        electionTicks: opts.electionTicks ?? DEFAULT_ELECTION_TICKS,
        heartbeatTicks: opts.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS,
        applied: mem.snapshot().metadata.index,
        logger: log.child({ component: "raft-core" }),
      });
      transport =
        modules.transport ??
        new GrpcTransport(
          { id: opts.id, listen: opts.listen, tls: opts.tls, server: opts.grpcServer, channelOptions: opts.channelOptions },
          { logger: log, random: modules.random },
        );
      const node = new RaftNode(opts, modules, raw, mem, level, transport, addresses, log);
      node.wire();
      await transport.start();
      for (const [id, addr] of addresses) if (id !== opts.id) transport.addPeer(id, addr);
      node.ticker = node.clock.setInterval(() => node.onTick(), node.tickMs);
      node.kick();
      running = node;
      await node.appliedTo(mem.hardState.commit);
      return node;
    } catch (err) {
      if (running !== undefined) {
        // Stopping the node closes its transport and storage (it may already be stopping: fail()).
        await running.stop().catch(() => undefined);
      } else {
        await transport?.stop().catch(() => undefined);
        await level.close().catch(() => undefined);
      }
      throw err;
    }
  }

  private wire(): void {
    this.transport.onMessage((m) => this.onPeerMessage(m));
    this.transport.onUnreachable((id) => {
      if (!this.stopped) this.raw.reportUnreachable(id);
    });
    // A leader whose address refuses connections is gone: the followers campaign within a few
    // ticks instead of waiting out their election timeout (Raft.leaderDown).
    this.transport.onDown?.((id) => {
      this.refusing.add(id);
      if (this.stopped) return;
      // A leader that refuses us while its own stream into us is open, and heard from lately, is
      // alive behind a one-way block: forgetting it would only cost a failed pre-vote on every
      // refused reconnect. A dead leader's connections close with its process, before the refusal.
      const heard = this.lastHeardMs.get(id);
      if (this.lead === id && this.transport.receiving?.(id) === true && heard !== undefined && heard >= this.clock.monotonicMs() - this.electionMs) {
        if (!this.oneWay.has(id)) {
          this.oneWay.add(id);
          this.log.warn({ leader: id }, `raft: the leader's address refuses this member's connections, but its own messages arrive: a one-way block (a firewall rule that rejects?); this member cannot answer it until the leader's address accepts connections from here`);
        }
        return;
      }
      if (!this.raw.reportLeaderDown(id)) return;
      this.log.info({ leader: id }, "raft: the leader's address refuses connections; campaigning soon");
      this.kick();
    });
    this.transport.onUp?.((id) => {
      this.refusing.delete(id);
      this.oneWay.delete(id);
    });
    this.transport.onSnapshotStatus((id, ok) => {
      if (this.stopped) return;
      this.raw.reportSnapshot(id, ok);
      this.kick();
    });
    this.transport.onRemoved((by) => this.noteRemoved(by));
  }

  private noteRemoved(by: NodeId): void {
    if (this.stopped || this.removedNotice !== undefined) return;
    this.removedNotice = { by };
    this.log.warn({ by }, `raft: member ${by} refuses this member's messages: this member's id ${this.opts.id} was removed from the cluster, and it takes no part in it again under that id`);
  }

  /**
   * Non-zero once this member knows its id was removed from the cluster: the member that said so
   * (its own id when it applied its own removal). A removed member never counts in a quorum again.
   */
  removedBy(): NodeId {
    return this.removedNotice?.by ?? 0;
  }

  /**
   * A tick that comes late (the event loop was held for over two ticks) is taken once the I/O
   * that waited with it has been read: Node runs timers before it polls for I/O, so a tick taken
   * at once would count a leader's quorum check, or a follower's election timeout, without the
   * messages its peers sent during the stall.
   */
  private onTick(): void {
    if (this.stopped) return;
    const now = this.clock.monotonicMs();
    const late = this.lastTickMs !== undefined && now - this.lastTickMs > 2 * this.tickMs;
    this.lastTickMs = now;
    if (late) setImmediate(() => this.takeTick());
    else this.takeTick();
  }

  private takeTick(): void {
    if (this.stopped) return;
    if (this.clock.monotonicMs() >= this.nextProposalExpiry) this.expireProposals();
    this.raw.tick();
    if (this.loopRunning) {
      // A Ready is in flight (its synced write may be slow): a leader's heartbeats go now rather
      // than with the next Ready, so its followers' election timers do not run on meanwhile.
      const beats = this.raw.takeHeartbeats();
      if (beats.length > 0) this.send(beats);
    }
    this.kick();
  }

  private onPeerMessage(m: Message): void {
    if (this.stopped) return;
    // A member that was removed is told so (the transport ends its stream with a status of its
    // own): one retired while away never saw its removal and would campaign forever unaware.
    if (this.raw.isRemoved(m.from)) {
      if (!this.toldRemoved.has(m.from)) {
        this.toldRemoved.add(m.from);
        this.log.warn({ member: m.from }, `raft: removed member ${m.from} still sends to this member; it is told it was removed (it must leave and join again)`);
      }
      throw new RaftError("RAFT_MEMBER_REMOVED", `member ${m.from} was removed from the cluster; its id is never accepted again`, { nodeId: m.from });
    }
    const now = this.clock.monotonicMs();
    const before = this.lastHeardMs.get(m.from);
    this.lastHeardMs.set(m.from, now);
    if (before !== undefined && m.from === this.lead && this.state !== StateType.Leader && now - before >= this.warnAfterMs) {
      // Half an election timeout without a word from the leader: the leader was held or slow to
      // send (it says so too), or this member was held; the two logs side by side tell which.
      this.silences.followerSilences++;
      this.silences.longestFollowerSilenceMs = Math.max(this.silences.longestFollowerSilenceMs, Math.round(now - before));
      this.log.warn({ leader: m.from, ms: Math.round(now - before) }, `raft: heard from the leader after ${Math.round(now - before)} ms of silence`);
    }
    try {
      this.raw.step(m);
    } catch (err) {
      // A message from an unknown member, or a stale one: the core refuses it and that is all.
      this.log.debug({ err: describeError(err), from: m.from, type: m.type }, "raft: peer message not stepped");
      return;
    }
    if (this.commitWaker !== undefined && m.type === MessageType.AppResp) this.commitWaker();
    this.kick();
  }

  // ---- public API ----

  /**
   * Resolves once the entry is committed and applied locally; rejects RAFT_NOT_LEADER {leader,
   * leaderAddress}. `onAppended` is called before propose() returns with where the entry went in
   * this leader's log; `term` refuses (RAFT_NOT_LEADER) unless this member leads that term.
   */
  propose(data: Uint8Array, opts: RaftProposeOptions = {}): Promise<{ index: number; term: number }> {
    let appended: { index: number; term: number } | undefined;
    const committed = this.proposeWith(() => (appended = this.raw.propose(data, opts.term)), opts.signal, opts.timeoutMs);
    if (appended !== undefined) opts.onAppended?.(appended);
    return committed;
  }

  /** Resolves once a linearizable read may be served from the local state machine. */
  readBarrier(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.stopped) return Promise.reject(stoppedError());
    if (opts.signal?.aborted) return Promise.reject(abortedError("read barrier"));
    if (this.lead === NONE) return Promise.reject(this.notLeader(NONE));
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.electionMs * 5;
      const onAbort = (): void => w.reject(abortedError("read barrier"));
      const settle = (): boolean => {
        if (w.settled) return false;
        w.settled = true;
        timer.cancel();
        opts.signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const w: ReadWaiter = {
        index: -1,
        settled: false,
        resolve: () => settle() && resolve(),
        reject: (e) => settle() && reject(e),
      };
      // A read forwarded to a leader that loses it would otherwise wait forever.
      const timer = this.clock.setTimeout(() => w.reject(new RaftError("RAFT_TIMEOUT", "read barrier timed out", { afterMs: timeoutMs }, true)), timeoutMs);
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.readQueue.push(w);
      if (this.readRound === undefined) this.issueReadRound();
    });
  }

  private issueReadRound(): void {
    const waiters = this.readQueue.filter((w) => !w.settled);
    this.readQueue = [];
    if (waiters.length === 0 || this.stopped) return;
    const id = this.nextReadId++;
    // The leader keys pending reads by context, so it must be unique across members, not only here.
    const ctx = new Uint8Array(16);
    const view = new DataView(ctx.buffer);
    view.setFloat64(0, this.opts.id);
    view.setFloat64(8, id);
    const timer = this.clock.setTimeout(() => {
      // The request or its answer was lost (say, sent while our connection to the leader was
      // being re-established after a partition): ask again, for these barriers first. Each
      // barrier's own deadline bounds the retries; a late answer to this round is ignored.
      if (this.readRound?.id !== id) return;
      this.readRound = undefined;
      this.readQueue = [...waiters, ...this.readQueue];
      this.issueReadRound();
    }, this.electionMs / 2);
    this.readRound = { id, waiters, timer };
    try {
      this.raw.readIndex(ctx);
    } catch (err) {
      timer.cancel();
      this.readRound = undefined;
      const e = this.mapError(err);
      for (const w of waiters) w.reject(e);
      return;
    }
    this.kick();
  }

  /**
   * Adds a member (as a learner when asked). Calling it with learner false for an existing learner
   * promotes it; for an existing voter at the same address it is a no-op.
   */
  async addMember(id: NodeId, address: string, opts: { learner?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const learner = opts.learner ?? false;
    if (!learner && this.confState.voters.includes(id) && this.addresses.get(id) === address) return;
    if (learner && this.confState.learners.includes(id) && this.addresses.get(id) === address) return;
    const cc: ConfChange = {
      type: learner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter,
      nodeId: id,
      context: new TextEncoder().encode(address),
    };
    await this.proposeWith(() => this.raw.proposeConfChange(cc), opts.signal);
  }

  async removeMember(id: NodeId, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.proposeWith(() => this.raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id }), opts.signal);
  }

  /** Resolves when this member sees `to` as leader; rejects RAFT_TIMEOUT after two election timeouts. */
  transferLeadership(to: NodeId, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.stopped) return Promise.reject(stoppedError());
    if (this.lead === to) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.electionMs * 2;
      const finish = (err?: Error): void => {
        this.transfers.delete(finish);
        unsubscribe();
        timer.cancel();
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish(abortedError("leadership transfer"));
      const unsubscribe = this.onLeaderChange((lead) => {
        if (lead === to) finish();
      });
      const timer = this.clock.setTimeout(
        () => finish(new RaftError("RAFT_TIMEOUT", `leadership did not move to ${to} within ${timeoutMs} ms`, { to, leader: this.lead }, true)),
        timeoutMs,
      );
      this.transfers.add(finish);
      if (opts.signal?.aborted) return finish(abortedError("leadership transfer"));
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        this.raw.transferLeader(to);
      } catch (err) {
        return finish(this.mapError(err));
      }
      this.kick();
    });
  }

  /** Snapshots taken and the log since the last one. */
  snapshotStats(): RaftSnapshotStats {
    return { taken: this.snapshotsTaken, lastBytes: this.lastSnapshotBytes, logBytesSinceSnapshot: this.bytesSinceSnapshot, thresholdBytes: this.snapshotThreshold() };
  }

  /** The silences warned of since this member started (a copy). */
  silenceStats(): RaftSilenceStats {
    return { ...this.silences };
  }

  /** The core's status, every member's address, and the first index still in the log (before it: the snapshot). */
  status(): RaftStatus & { addresses: Record<NodeId, string>; firstIndex: number } {
    // applied: what the state machine has applied, which runs ahead of the core's count (that moves
    // at advance(), after the Ready) while a Ready is being handled.
    return { ...this.raw.status(), applied: this.applied, addresses: toRecord(this.addresses), firstIndex: this.mem.firstIndex() };
  }

  /**
   * Every member of the configuration with its address, its replication progress (match; the
   * leader's view, 0 for others on a follower) and whether this member heard from it within the
   * last election timeout (a follower hears only from the leader).
   */
  memberStatus(): MemberStatus[] {
    return memberStatus(this.memberView());
  }

  /** On the leader: `id`'s log matches within maxLag (default 0) of the leader's last index. False elsewhere. */
  isCaughtUp(id: NodeId, maxLag = 0): boolean {
    return isCaughtUp(this.memberView(), id, maxLag);
  }

  /**
   * Would removing or demoting voter `id` still leave a majority of the remaining voters reachable
   * (recently active, in the leader's view)? Asked of the leader; elsewhere the answer is no.
   */
  canRemoveVoter(id: NodeId): { ok: boolean; reason?: string } {
    return canRemoveVoter(this.memberView(), id);
  }

  private memberView(): MemberStatusInput {
    const since = this.clock.monotonicMs() - this.electionMs;
    const active = new Set<NodeId>();
    for (const [id, at] of this.lastHeardMs) if (at >= since && !this.refusing.has(id)) active.add(id);
    return { ...this.status(), active };
  }

  /** Called with (leader, term) each time the known leader changes, including to 0 (none). */
  onLeaderChange(fn: (lead: NodeId, term: number) => void): () => void {
    this.leaderListeners.add(fn);
    return () => this.leaderListeners.delete(fn);
  }

  /**
   * Called once if the Ready loop stops on an error it cannot go past (an entry the state machine
   * cannot apply, a failed write): the member is stopped and its owner must say so, not carry on
   * as if it still took part. Called at once (in a microtask) if that already happened.
   */
  onFatal(fn: (err: RaftError) => void): () => void {
    const failed = this.fatal;
    if (failed !== undefined) {
      queueMicrotask(() => fn(failed));
      return () => undefined;
    }
    this.fatalListeners.add(fn);
    return () => this.fatalListeners.delete(fn);
  }

  /** Stops ticking, finishes the Ready in flight, closes transport and storage; pending calls reject RAFT_STOPPED. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    this.ticker?.cancel();
    this.rejectAll(stoppedError());
    this.stopping = (async () => {
      await this.loopDone;
      // Followers learn the last commit index before we go (best effort, as any message).
      this.noticeTimer?.cancel();
      this.noticeTimer = undefined;
      const notices = [...this.heldNotices.values()];
      this.heldNotices.clear();
      if (notices.length > 0) this.transport.send(notices);
      await this.transport.stop();
      const hs = this.unsavedHardState;
      this.unsavedHardState = undefined;
      if (hs !== undefined) await this.level.save({ hardState: hs, entries: [] }, true).catch((err: unknown) => this.log.warn({ err: describeError(err) }, "raft: final hard state not saved"));
      await this.snapshotting;
      await this.level.close();
      this.log.info({ applied: this.applied }, "raft: stopped");
    })();
    return this.stopping;
  }

  // ---- proposals ----

  private proposeWith(
    fn: () => { index: number; term: number },
    signal: AbortSignal | undefined,
    timeoutMs?: number,
  ): Promise<{ index: number; term: number }> {
    if (this.stopped) return Promise.reject(stoppedError());
    if (signal?.aborted) return Promise.reject(abortedError("proposal"));
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) return Promise.reject(new RaftError("RAFT_INVALID_ARGUMENT", `timeoutMs must be 0 or more, not ${timeoutMs}`));
    let at: { index: number; term: number };
    try {
      at = fn();
    } catch (err) {
      return Promise.reject(this.mapError(err));
    }
    this.kick(true);
    const expiresAt = timeoutMs === undefined ? Infinity : this.clock.monotonicMs() + timeoutMs;
    if (expiresAt < this.nextProposalExpiry) this.nextProposalExpiry = expiresAt;
    return new Promise((resolve, reject) => {
      // Without a signal the waiter holds the promise's own functions: no closure of its own.
      const w: ProposalWaiter = { index: at.index, term: at.term, resolve, reject, expiresAt };
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (this.dropWaiter(w)) {
            reject(new RaftError("RAFT_TIMEOUT", `proposal at ${at.index} aborted before it was applied; it may still be committed`, { ...at, outcomeUnknown: true }));
          }
        };
        w.resolve = (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        };
        w.reject = (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }
      const list = this.proposals.get(at.index);
      if (list === undefined) this.proposals.set(at.index, [w]);
      else list.push(w);
    });
  }

  /** Removes a waiter that has not been settled; false if it was (or was never added). */
  private dropWaiter(w: ProposalWaiter): boolean {
    const list = this.proposals.get(w.index);
    const i = list?.indexOf(w) ?? -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    if (list!.length === 0) this.proposals.delete(w.index);
    return true;
  }

  /** Rejects the waiters whose timeoutMs has passed (from takeTick). */
  private expireProposals(): void {
    const now = this.clock.monotonicMs();
    let next = Infinity;
    const expired: ProposalWaiter[] = [];
    for (const list of this.proposals.values()) {
      for (const w of list) {
        if (w.expiresAt <= now) expired.push(w);
        else if (w.expiresAt < next) next = w.expiresAt;
      }
    }
    this.nextProposalExpiry = next;
    for (const w of expired) {
      this.dropWaiter(w);
      w.reject(
        new RaftError("RAFT_TIMEOUT", `proposal at ${w.index} not applied before its timeout; it may still be committed`, {
          index: w.index,
          term: w.term,
          outcomeUnknown: true,
        }),
      );
    }
  }

  /** Resolves an applied proposal now, or in a later turn of the event loop (settleBatch). */
  private answer(w: ProposalWaiter): void {
    if (this.toAnswer.length === 0 && this.answeredNow < this.settleBatch) {
      this.answeredNow++;
      w.resolve({ index: w.index, term: w.term });
      return;
    }
    if (this.toAnswer.push(w) === 1) setImmediate(() => this.answerQueued());
  }

  private answerQueued(): void {
    for (const w of this.toAnswer.splice(0, this.settleBatch)) w.resolve({ index: w.index, term: w.term });
    if (this.toAnswer.length > 0) setImmediate(() => this.answerQueued());
  }

  /** Settles the waiters an applied entry decides. */
  private settleProposals(e: Entry): void {
    if (this.proposals.size === 0) {
      this.appliedTerm = e.term;
      return;
    }
    if (e.term > this.appliedTerm) {
      // Terms never decrease along the log, so an older-term proposal after this index is lost.
      this.appliedTerm = e.term;
      for (const [index, list] of this.proposals) {
        if (index <= e.index) continue;
        const keep = list.filter((w) => w.term >= e.term);
        for (const w of list) if (w.term < e.term) w.reject(dropped(w, e));
        if (keep.length === 0) this.proposals.delete(index);
        else this.proposals.set(index, keep);
        list.length = 0; // as below, for the same reason
      }
    }
    const list = this.proposals.get(e.index);
    if (list === undefined) return;
    this.proposals.delete(e.index);
    for (const w of list) {
      if (w.term === e.term) this.answer(w);
      else w.reject(dropped(w, e));
    }
    // A settled list is emptied, not only dropped from the map. Something stale still reached
    // settled lists and kept their waiters, and through their promises the whole client call,
    // alive across scavenges until the next full GC: emptying them cut what a leader serving 32
    // clients promotes by about 30 % (services/raft/README.md, "CPU per put, tails and the old
    // generation"). Likely the map's own outgrown hash tables: it lives in the old generation, and
    // a scavenge treats every old-to-young slot V8 recorded as a root.
    list.length = 0;
  }

  // ---- the Ready loop ----

  /**
   * Schedules the Ready loop. A step (a peer's message, a tick, a read or transfer request) runs it
   * in a microtask: before the event loop polls again, so the follower's step -> persist -> AppResp
   * and the leader's AppResp -> commit -> apply -> respond chains take no extra loop iteration.
   * A proposal (`batch`) defers to setImmediate, so that the proposals of every request handled
   * in this turn of the event loop share one Ready (one fsync). Whatever arrives while a Ready is
   * in flight queues in the core and leaves with the next one.
   */
  private kick(batch = false): void {
    if (this.loopScheduled || this.loopRunning || this.stopped) return;
    this.loopScheduled = true;
    const run = (): void => {
      this.loopScheduled = false;
      this.runLoop();
    };
    if (batch) setImmediate(run);
    else queueMicrotask(run);
  }

  private runLoop(): void {
    if (this.loopRunning || this.stopped) return;
    this.loopRunning = true;
    this.loopDone = (async () => {
      try {
        while (!this.stopped && this.raw.hasReady()) {
          const rd = this.raw.ready();
          const started = this.clock.monotonicMs();
          const writeMs = await this.handleReady(rd);
          this.raw.advance(rd);
          this.reportSlowReady(rd, this.clock.monotonicMs() - started, writeMs);
          this.maybeSnapshot();
        }
      } catch (err) {
        this.fail(err);
      } finally {
        this.loopRunning = false;
      }
    })();
  }

  /**
   * Warns of a Ready that took half the shortest election timeout or more (500 ms by default).
   * Only one Ready is in flight, so everything the core produces meanwhile but a leader's
   * heartbeats (takeTick) waits for it: appends, acknowledgements, votes; a follower's slow write
   * delays the leader's commits, and its answers (etcd warns of a slow fdatasync).
   */
  private reportSlowReady(rd: Ready, ms: number, writeMs: number): void {
    if (ms < this.warnAfterMs) return;
    let bytes = 0;
    for (const e of rd.entries) bytes += e.data.length;
    this.log.warn(
      { ms: Math.round(ms), writeMs: Math.round(writeMs), entries: rd.entries.length, entryBytes: bytes, committed: rd.committedEntries.length, snapshot: rd.snapshot !== undefined },
      `raft: a Ready took ${Math.round(ms)} ms (${Math.round(writeMs)} ms of it waiting for its synced write); messages due meanwhile waited for it`,
    );
  }

  /** Returns how long it waited for its synced write after it had done all else it could (0: none). */
  private async handleReady(rd: Ready): Promise<number> {
    if (rd.hardState) this.term = rd.hardState.term;
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.state);
    for (const rs of rd.readStates) this.onReadState(rs);

    let later = rd.messages;
    if (!rd.mustSync) {
      // Nothing here needs to be durable before it is acted on (no entries, snapshot, term or
      // vote; at most a new commit index, whose entries are already durable on a quorum): send
      // and apply while the unsynced write runs, and wait for it only before advance().
      this.send(rd.messages);
      later = [];
    } else if (this.state === StateType.Leader && rd.messages.length > 0) {
      // Safe before our own fsync: the core counts the leader's match only after advance().
      const early: Message[] = [];
      later = [];
      for (const m of rd.messages) (m.type === MessageType.App || m.type === MessageType.Heartbeat ? early : later).push(m);
      this.send(early);
    }

    let saving: Promise<void> | undefined;
    let writeMs = 0;
    // The commit index is volatile state in Raft (the paper's commitIndex): a member that restarts
    // with an older one learns the newer from the leader. So a Ready whose only durable change is
    // the commit index costs no write of its own; that hard state rides along with the next write
    // that is needed anyway (or with stop()). One storage write per commit fewer on every member.
    const commitOnly = rd.hardState !== undefined && !rd.mustSync && rd.entries.length === 0 && rd.snapshot === undefined;
    if (commitOnly) {
      this.unsavedHardState = rd.hardState;
    } else if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
      const hardState = rd.hardState ?? this.unsavedHardState;
      this.unsavedHardState = undefined;
      saving = this.level.save({ hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
      // Awaited below; this only keeps a failure from being reported as unhandled meanwhile.
      saving.catch(() => undefined);
      if (rd.mustSync) {
        // A leader applies, while its entries are written, the committed entries that earlier
        // Readys already made durable here (every index below this Ready's first new entry): they
        // are on a quorum and on our disk, so clients get their answers a synced write sooner. A
        // follower does not: its AppResp, which the leader's commit waits for, goes out first.
        const leading = this.state === StateType.Leader && rd.snapshot === undefined;
        if (leading) {
          const firstNew = rd.entries[0]?.index ?? Infinity;
          await this.applyCommitted(rd.committedEntries, (e) => e.index < firstNew && e.type !== EntryType.ConfChange);
        }
        const writing = this.clock.monotonicMs();
        if (leading) await this.applyWhileSaving(saving, this.term);
        else await saving;
        writeMs = this.clock.monotonicMs() - writing;
        saving = undefined;
      }
    }
    if (rd.snapshot !== undefined) this.mem.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.mem.append(rd.entries);
    if (rd.hardState !== undefined) this.mem.setHardState(rd.hardState);
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > this.applied) await this.restoreSnapshot(rd.snapshot);

    if (later.length > 0) this.send(later);

    await this.applyCommitted(rd.committedEntries);
    if (saving !== undefined) await saving;
    if (rd.snapshot !== undefined) this.releaseSnapshotData(rd.snapshot.metadata.index, rd.snapshot.data.length);
    return writeMs;
  }

  /**
   * A leader's wait for its own synced write. Acknowledgements that arrive meanwhile are stepped
   * at once, and when they commit entries (of earlier Readys, or of this one on a quorum of
   * followers alone), those are applied and their clients answered now, not after this write and
   * the next Ready: a slow fsync on the leader (a LevelDB compaction, a busy disk) no longer holds
   * back writes that are already durable on a quorum. Nothing applied here reaches this member's
   * disk before the write it waits for: snapshots are taken only after advance(). Configuration
   * changes wait for the next Ready, as they always do.
   */
  private async applyWhileSaving(saving: Promise<void>, term: number): Promise<void> {
    let done = false;
    const settled = saving.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    for (;;) {
      const before = this.applied;
      const ready = this.raw.committedAfter(before, term);
      if (ready.length > 0) {
        await this.applyCommitted(ready, (e) => e.type !== EntryType.ConfChange);
        // An asynchronous apply lets acknowledgements in unwoken: look again.
        if (this.applied !== before) continue;
      }
      if (done || this.stopped) break;
      await new Promise<void>((resolve) => {
        this.commitWaker = resolve;
        void settled.then(resolve);
      });
      this.commitWaker = undefined;
    }
    await saving;
  }

  /**
   * Applies committed entries in order, from the first not yet applied, while `may` allows; the
   * rest wait for a later call.
   */
  private async applyCommitted(entries: readonly Entry[], may?: (e: Entry) => boolean): Promise<void> {
    let applied = false;
    this.answeredNow = 0;
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      if (may !== undefined && !may(e)) break;
      if (e.type === EntryType.ConfChange) {
        await this.applyConfChange(e);
      } else if (e.data.length > 0) {
        const r = this.sm.apply(e);
        if (r !== undefined) await r;
      }
      this.bytesSinceSnapshot += e.data.length;
      this.applied = e.index;
      this.settleProposals(e);
      applied = true;
    }
    if (applied && this.readsAwaitingApply.length > 0) this.resolveAppliedReads();
  }

  /**
   * Drops a durable snapshot's data from memory (keepSnapshotBytes); the core still holds a
   * received one until advance(), and then only its metadata is left here.
   */
  private releaseSnapshotData(index: number, bytes: number): void {
    if (index === 0 || bytes <= (this.opts.keepSnapshotBytes ?? 4 * MIB)) return;
    if (this.mem.replaceSnapshotData(index, EMPTY)) this.releasedSnapshotIndex = index;
  }

  /**
   * A MsgSnap whose data is only on disk: read it back, then send it. If a newer snapshot replaced
   * it meanwhile, the send is reported failed, and the core sends the newer one.
   */
  private async sendStoredSnapshot(m: Message): Promise<void> {
    const index = m.snapshot!.metadata.index;
    try {
      const stored = await this.level.readSnapshot();
      if (this.stopped) return;
      if (stored === undefined || stored.metadata.index !== index) {
        this.log.debug({ to: m.to, index, stored: stored?.metadata.index }, "raft: snapshot replaced while read back; the next one is sent");
        this.raw.reportSnapshot(m.to, false);
        this.kick();
        return;
      }
      this.transport.send([{ ...m, snapshot: stored }]);
    } catch (err) {
      if (this.stopped) return;
      this.log.error({ to: m.to, index, err: describeError(err) }, "raft: could not read the snapshot back to send it");
      this.raw.reportSnapshot(m.to, false);
      this.kick();
    }
  }

  /**
   * Hands messages to the transport, except that a leader holds commit notices (appends without
   * entries) for up to commitNoticeDelayMs: the next append to the same follower carries a commit
   * index at least as new and supersedes the notice, which is then dropped. Any other message to
   * that follower lets the held notice go first, so per-follower order is kept.
   */
  private send(all: Message[]): void {
    let msgs = all;
    if (this.releasedSnapshotIndex !== 0 && msgs.some((m) => this.isReleasedSnapshot(m))) {
      for (const m of msgs) if (this.isReleasedSnapshot(m)) void this.sendStoredSnapshot(m);
      msgs = msgs.filter((m) => !this.isReleasedSnapshot(m));
    }
    if (msgs.length === 0) return;
    if (this.state === StateType.Leader) this.noteSent(msgs);
    if (this.commitNoticeDelayMs === 0 || (this.state !== StateType.Leader && this.heldNotices.size === 0)) {
      this.transport.send(msgs);
      return;
    }
    const out: Message[] = [];
    for (const m of msgs) {
      const held = this.heldNotices.get(m.to);
      if (this.state === StateType.Leader && m.type === MessageType.App && m.entries.length === 0) {
        // A newer notice replaces an older one outright: same follower, same or later commit.
        this.heldNotices.set(m.to, m);
        continue;
      }
      if (held !== undefined) {
        this.heldNotices.delete(m.to);
        const supersedes = m.type === MessageType.App && m.term === held.term && m.index >= held.index && m.commit >= held.commit;
        if (!supersedes) out.push(held);
      }
      out.push(m);
    }
    if (out.length > 0) this.transport.send(out);
    if (this.heldNotices.size === 0) {
      // Every held notice was overtaken: a timer left armed would cut the next one's wait short.
      this.noticeTimer?.cancel();
      this.noticeTimer = undefined;
    } else if (this.noticeTimer === undefined) {
      this.noticeTimer = this.clock.setTimeout(() => {
        this.noticeTimer = undefined;
        this.flushNotices();
      }, this.commitNoticeDelayMs);
    }
  }

  /**
   * A leader sends every follower something at least once a heartbeat interval, even while a Ready
   * is in flight (takeTick). Warns when half an election timeout went by without: the event loop
   * was held, or ran so many other callbacks that ticks came late, and the followers' election
   * timers ran on meanwhile (etcd warns of a heartbeat sent late in the same way). A held commit
   * notice counts as sent: it goes within commitNoticeDelayMs.
   */
  private noteSent(msgs: readonly Message[]): void {
    const now = this.clock.monotonicMs();
    let late: { to: NodeId; ms: number }[] | undefined;
    for (const m of msgs) {
      const before = this.lastSentMs.get(m.to);
      this.lastSentMs.set(m.to, now);
      if (before !== undefined && now - before >= this.warnAfterMs) (late ??= []).push({ to: m.to, ms: Math.round(now - before) });
    }
    if (late === undefined) return;
    const worst = Math.max(...late.map((l) => l.ms));
    this.silences.leaderSilences++;
    this.silences.longestLeaderSilenceMs = Math.max(this.silences.longestLeaderSilenceMs, worst);
    this.log.warn({ late }, `raft: leader sent nothing to ${late.length} member(s) for up to ${worst} ms; its event loop was held or short of CPU`);
  }

  private isReleasedSnapshot(m: Message): boolean {
    const snap = m.type === MessageType.Snap ? m.snapshot : undefined;
    return snap !== undefined && snap.metadata.index === this.releasedSnapshotIndex && snap.data.length === 0;
  }

  private flushNotices(): void {
    if (this.heldNotices.size === 0) return;
    const msgs = [...this.heldNotices.values()];
    this.heldNotices.clear();
    this.transport.send(msgs);
  }

  private onSoftState(lead: NodeId, state: StateType): void {
    if (state === StateType.Leader && this.state !== StateType.Leader) this.lastSentMs.clear();
    this.state = state;
    if (lead === this.lead) return;
    const prev = this.lead;
    this.lead = lead;
    this.log.info({ lead, prev, term: this.term, state }, "raft: leader changed");
    // A read round not yet answered was asked of the old leader and may be lost with it.
    const round = this.readRound;
    if (round !== undefined) {
      round.timer.cancel();
      this.readRound = undefined;
      for (const w of round.waiters) w.reject(this.notLeader(lead));
    }
    if (lead === NONE) {
      const queued = this.readQueue;
      this.readQueue = [];
      for (const w of queued) w.reject(this.notLeader(lead));
    } else {
      this.issueReadRound();
    }
    for (const fn of [...this.leaderListeners]) {
      try {
        fn(lead, this.term);
      } catch (err) {
        this.log.warn({ err: describeError(err) }, "raft: leader change listener threw");
      }
    }
  }

  private onReadState(rs: ReadState): void {
    const round = this.readRound;
    if (round === undefined || rs.requestCtx.length !== 16) return;
    const view = new DataView(rs.requestCtx.buffer, rs.requestCtx.byteOffset, 16);
    if (view.getFloat64(0) !== this.opts.id || view.getFloat64(8) !== round.id) return;
    round.timer.cancel();
    this.readRound = undefined;
    for (const w of round.waiters) {
      if (w.settled) continue;
      w.index = rs.index;
      if (rs.index <= this.applied) w.resolve();
      else this.readsAwaitingApply.push(w);
    }
    this.issueReadRound();
  }

  /**
   * Resolves once entries up to index are applied here; rejects if the node stops or fails first
   * (RaftNode.start: the replay of what this member's own log holds as committed).
   */
  private appliedTo(index: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    if (this.stopped) return Promise.reject(this.fatal ?? stoppedError());
    return new Promise<void>((resolve, reject) => {
      const w: ReadWaiter = {
        index,
        settled: false,
        resolve: () => {
          if (w.settled) return;
          w.settled = true;
          resolve();
        },
        reject: (err) => {
          if (w.settled) return;
          w.settled = true;
          reject(err);
        },
      };
      this.readsAwaitingApply.push(w);
    });
  }

  private resolveAppliedReads(): void {
    const waiting: ReadWaiter[] = [];
    for (const w of this.readsAwaitingApply) {
      if (w.settled) continue;
      if (w.index <= this.applied) w.resolve();
      else waiting.push(w);
    }
    this.readsAwaitingApply = waiting;
  }

  private async applyConfChange(e: Entry): Promise<void> {
    const cc = decodeConfChange(e.data);
    this.confState = this.raw.applyConfChange(cc);
    if (cc.type === ConfChangeType.RemoveNode) {
      this.addresses.delete(cc.nodeId);
      if (cc.nodeId === this.opts.id) {
        this.log.warn({ index: e.index }, "raft: this member was removed from the cluster");
        this.removedNotice ??= { by: this.opts.id };
      } else {
        this.transport.removePeer(cc.nodeId);
      }
    } else {
      const addr = cc.context && cc.context.length > 0 ? new TextDecoder().decode(cc.context) : this.addresses.get(cc.nodeId);
      if (addr !== undefined) {
        this.addresses.set(cc.nodeId, addr);
        this.transport.addPeer(cc.nodeId, addr);
      }
    }
    this.log.info({ index: e.index, type: ConfChangeType[cc.type], member: cc.nodeId, confState: this.confState }, "raft: membership changed");
    await writeMembers(this.opts.dataDir, this.addresses);
  }

  /** A snapshot from the leader replaced our log: the state machine and the members follow it. */
  private async restoreSnapshot(snap: Snapshot): Promise<void> {
    const { addresses, data } = unwrapSnapshotData(snap.data);
    await this.sm.restore(data);
    const md = snap.metadata;
    this.applied = md.index;
    this.appliedTerm = md.term;
    this.snapshotIndex = md.index;
    this.bytesSinceSnapshot = 0;
    this.lastSnapshotBytes = snap.data.length;
    this.confState = md.confState;
    for (const [index, list] of this.proposals) {
      if (index > md.index) continue;
      this.proposals.delete(index);
      for (const w of list) {
        w.reject(new RaftError("RAFT_UNAVAILABLE", `proposal at ${index} was covered by a snapshot; its outcome is unknown`, { index, outcomeUnknown: true }));
      }
    }
    if (addresses !== undefined) {
      for (const id of [...this.addresses.keys()]) {
        if (!addresses.has(id) && id !== this.opts.id) {
          this.addresses.delete(id);
          this.transport.removePeer(id);
        }
      }
      for (const [id, addr] of addresses) {
        this.addresses.set(id, addr);
        if (id !== this.opts.id) this.transport.addPeer(id, addr);
      }
      await writeMembers(this.opts.dataDir, this.addresses);
    }
    this.log.info({ index: md.index, term: md.term, bytes: snap.data.length }, "raft: restored from snapshot");
    if (this.readsAwaitingApply.length > 0) this.resolveAppliedReads();
  }

  /** The log retention this member started with: what it goes back to when the cluster spec sets none. */
  startingLogRetention(): { snapshotEntries: number; compactKeepEntries: number } {
    return { snapshotEntries: this.opts.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES, compactKeepEntries: this.opts.compactKeepEntries ?? DEFAULT_COMPACT_KEEP_ENTRIES };
  }

  /** This member's timing in ticks: the election timeout's base (randomized up to twice it) and the heartbeat interval. */
  ticks(): { tickMs: number; electionTicks: number; heartbeatTicks: number } {
    return { tickMs: this.tickMs, electionTicks: this.opts.electionTicks ?? DEFAULT_ELECTION_TICKS, heartbeatTicks: this.opts.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS };
  }

  /** The log retention in force (setLogRetention). */
  logRetention(): { snapshotEntries: number; compactKeepEntries: number } {
    return { snapshotEntries: this.snapshotEntries, compactKeepEntries: this.compactKeepEntries };
  }

  /**
   * Changes snapshotEntries and compactKeepEntries while running (the cluster spec's
   * SnapshotInterval and LogEntriesForSlowFollowers); a value left out goes back to the one this
   * node started with. Takes effect at the next snapshot.
   */
  setLogRetention(r: { snapshotEntries?: number; compactKeepEntries?: number }): void {
    const check = (name: string, v: number | undefined, min: number): void => {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) throw new RaftError("RAFT_INVALID_ARGUMENT", `${name} must be a whole number of at least ${min}, got ${v}`);
    };
    check("snapshotEntries", r.snapshotEntries, 1);
    check("compactKeepEntries", r.compactKeepEntries, 0);
    this.snapshotEntries = r.snapshotEntries ?? this.opts.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES;
    this.compactKeepEntries = r.compactKeepEntries ?? this.opts.compactKeepEntries ?? DEFAULT_COMPACT_KEEP_ENTRIES;
    // Entries may already be past the new interval: snapshot now rather than after the next write.
    this.maybeSnapshot();
  }

  /** snapshotBytes: the option, else the last snapshot's size but at least SNAPSHOT_FLOOR_BYTES. */
  private snapshotThreshold(): number {
    return this.opts.snapshotBytes ?? Math.max(SNAPSHOT_FLOOR_BYTES, this.lastSnapshotBytes);
  }

  /**
   * Takes a snapshot every snapshotEntries applied entries, or once they hold snapshotBytes of
   * data, off the Ready loop: the state machine captures its state now (snapshot() is called
   * synchronously, at the applied index) and may finish encoding it later; meanwhile entries keep
   * being applied, heartbeats keep going, and the snapshot is saved and the log compacted behind
   * it when the data is ready. A store of a hundred thousand tasks takes seconds to encode, longer
   * than an election timeout: done inline it stalled the member (a leader lost its leadership to
   * its own snapshot). At most one is in flight. A snapshot received from the leader meanwhile
   * makes ours redundant; it is dropped.
   */
  private maybeSnapshot(): void {
    if (this.snapshotting !== undefined) return;
    const byBytes = this.bytesSinceSnapshot >= this.snapshotThreshold();
    if (this.applied - this.snapshotIndex < this.snapshotEntries && !byBytes) return;
    const index = this.applied;
    this.bytesSinceSnapshot = 0;
    const confState = this.confState;
    const addresses: Addresses = new Map(this.addresses);
    let pending: SnapshotData | Promise<SnapshotData> | undefined;
    try {
      pending = this.sm.snapshot();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.snapshotting = (async () => {
      try {
        const data = await wrapSnapshotData(addresses, (await pending)!);
        // The state machine's encoding is in `data` now: let it go before sealing and saving make
        // further copies (at 100,000 tasks each is about 150 MiB; held, they were three at once).
        pending = undefined;
        if (index <= this.snapshotIndex) return;
        const snap = this.mem.createSnapshot(index, confState, data);
        // No hard state rides along: a Ready's save of a newer term or vote may be queued ahead
        // of this one. A start treats the snapshot index as committed, so the commit need not.
        await this.level.save({ entries: [], snapshot: snap }, true);
        this.snapshotIndex = Math.max(this.snapshotIndex, index);
        this.lastSnapshotBytes = data.length;
        this.releaseSnapshotData(index, data.length);
        this.snapshotsTaken++;
        // A tail stays so that a slightly slow follower gets entries rather than a whole snapshot.
        const compactTo = this.keptTailStart(index) - 1;
        if (compactTo > this.mem.firstIndex() - 1 && compactTo <= this.mem.lastIndex()) {
          this.mem.compact(compactTo);
          await this.level.compact(compactTo);
        }
        this.log.debug({ index, bytes: data.length, compactedTo: compactTo }, "raft: snapshot taken");
      } catch (err) {
        // Overtaken by a snapshot from the leader, or by stop(): nothing is lost.
        if (err instanceof RaftError && (err.code === "RAFT_SNAPSHOT_OUT_OF_DATE" || err.code === "RAFT_COMPACTED" || err.code === "RAFT_STOPPED")) {
          this.log.debug({ index, err: describeError(err) }, "raft: local snapshot dropped");
          return;
        }
        this.fail(err);
      } finally {
        this.snapshotting = undefined;
      }
    })();
  }

  /**
   * The first index of the tail kept behind a snapshot at `index`. The tail lets a follower that
   * is a little behind catch up from entries rather than from the whole snapshot, so it is cut to
   * what followers lack: the leader keeps the entries its furthest-behind follower has not got
   * (a follower that is down counts as far behind), none when every follower has the snapshot's
   * index; at most compactKeepEntries entries within compactKeepBytes. A member that is not the
   * leader knows no follower's progress; it keeps compactKeepEntries entries within 8 MiB (or
   * compactKeepBytes if smaller), enough for the usual lag between followers should it be elected.
   * At a thousand nodes the entries behind a snapshot were most of a manager's raft memory
   * (a full tail is 128 MiB), though the followers hardly ever needed them.
   */
  private keptTailStart(index: number): number {
    const leader = this.state === StateType.Leader;
    const maxBytes = leader ? this.compactKeepBytes : Math.min(this.compactKeepBytes, FOLLOWER_KEEP_BYTES);
    let need = 0;
    if (leader) {
      need = index + 1;
      for (const [id, pr] of this.raw.status().progress) if (id !== this.opts.id) need = Math.min(need, pr.match + 1);
    }
    const floor = Math.max(this.mem.firstIndex(), index - this.compactKeepEntries + 1, need);
    if (floor > index) return index + 1;
    const tail = this.mem.entries(floor, index + 1, Number.MAX_SAFE_INTEGER);
    let bytes = 0;
    let start = index + 1;
    for (let i = tail.length - 1; i >= 0; i--) {
      bytes += tail[i]!.data.length;
      if (bytes > maxBytes) break;
      start = tail[i]!.index;
    }
    return start;
  }

  // ---- errors ----

  private notLeader(leader: NodeId): RaftError {
    const leaderAddress = leader === NONE ? undefined : this.addresses.get(leader);
    return new RaftError("RAFT_NOT_LEADER", leader === NONE ? "no leader known" : `not the leader; the leader is ${leader}`, { leader, leaderAddress }, true);
  }

  private mapError(err: unknown): Error {
    if (err instanceof RaftError && err.code === "RAFT_NOT_LEADER") {
      const leader = typeof err.meta["leader"] === "number" ? (err.meta["leader"] as number) : this.lead;
      return this.notLeader(leader);
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  private rejectAll(err: Error): void {
    const lists = [...this.proposals.values()];
    this.proposals.clear();
    for (const list of lists) for (const w of list) w.reject(err);
    const reads = [...(this.readRound?.waiters ?? []), ...this.readQueue, ...this.readsAwaitingApply];
    this.readRound?.timer.cancel();
    this.readRound = undefined;
    this.readQueue = [];
    this.readsAwaitingApply = [];
    for (const w of reads) w.reject(err);
    for (const finish of [...this.transfers]) finish(err);
  }

  /** Storage or state machine failed: the member cannot continue safely, so it stops. */
  private fail(err: unknown): void {
    this.log.error({ err: describeError(err) }, "raft: fatal error in the ready loop; stopping");
    const fatal = new RaftError("RAFT_STOPPED", `raft stopped after a fatal error: ${describeError(err)}`);
    this.fatal ??= fatal;
    this.rejectAll(fatal);
    void this.stop();
    const listeners = [...this.fatalListeners];
    this.fatalListeners.clear();
    for (const fn of listeners) {
      try {
        fn(fatal);
      } catch (e) {
        this.log.error({ err: describeError(e) }, "raft: a fatal-error listener threw");
      }
    }
  }
}

function stoppedError(): RaftError {
  return new RaftError("RAFT_STOPPED", "raft node is stopped");
}

function abortedError(what: string): RaftError {
  return new RaftError("RAFT_TIMEOUT", `${what} aborted`, {}, true);
}

function dropped(w: ProposalWaiter, e: Entry): RaftError {
  return new RaftError("RAFT_PROPOSAL_DROPPED", `proposal at ${w.index} (term ${w.term}) was replaced by an entry of term ${e.term}`, {
    index: w.index,
    term: w.term,
    replacedByTerm: e.term,
  });
}

