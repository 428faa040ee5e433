// ReplicatedStore: one manager's object store replicated by Raft. Owns the wiring between a RaftNode
// and a MemoryStore: the StateMachine (committed entries -> store.applyStoreActions, snapshots ->
// store.snapshot/restore), the store's Proposer (store actions -> raft proposal, resolved after the
// entry applied, in log order), the commit deadline that turns a lost quorum into a prompt
// MANAGER_NO_QUORUM, the follower's forwarding seam, linearizable reads and leadership events.
// It must not make Raft decisions (the core does) nor validate objects (the store does).
//
// Batching: the store serializes staging, so concurrent store.update() calls are one entry each
// unless they ask for group commit ({ group: true }: the CA's join and renewal writes, API node
// updates); many transactions share an entry through store.batch() (bounded by the store's
// maxBatchActions), and the raft driver persists every entry that queued during a Ready with one
// fsync. On the leader the store pipelines: its proposal tells it where raft appended the entry
// (onAppended), and the next write stages over it while it commits; such a write is proposed only
// in the same term (ProposeOptions.term) and never forwarded.
//
// Recovery from lost quorum: `raft.forceNewCluster` (shoald --force-new-cluster) restarts this
// member as a one-member cluster. The raft driver does the rewrite before the core starts (see
// @shoal/raft's force-new-cluster.ts): it keeps the snapshot and every entry this member knows
// committed, drops its uncommitted tail, and appends committed conf changes that make it the only
// voter and retire every other member's ID; members.json keeps only our address. The store is then
// restored and replayed as on any restart, so every acknowledged write this member had applied is
// there. Nothing here differs for it: the entries are ordinary, and a later start without the flag
// replays the same log. The operator must be sure the other managers are gone for good.
import { AbortedError, ShoalError, linkSignals, sleep, systemClock, type Clock, type Logger, type Random } from "@shoal/common";
import {
  NONE,
  RaftError,
  RaftNode,
  type Entry,
  type NodeId,
  type RaftNodeOptions,
  type RaftProposeOptions,
  type RaftTransport,
  type StateMachine,
} from "@shoal/raft";
import { RemoteError } from "@shoal/proto";
import {
  MemoryStore,
  NodeRole,
  decodeSnapshot,
  decodeStoreEntry,
  encodeSnapshotParts,
  type MemoryStoreOpts,
  type ProposeOptions,
  type Proposer,
  type ReadTx,
  type StoreAction,
  type StoreEntry,
} from "@shoal/store";
import { ManagerError, leaderUnreachableError, noLeaderError, noQuorumError, notLeaderError, removedManagerError, stoppedError } from "./errors.js";

/** True when a forwarded write surely never reached the leader (the connection was refused). */
function neverSent(err: unknown): boolean {
  if (!(err instanceof RemoteError)) return false;
  return err.meta.grpcStatus === 14 && /No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(err.message);
}

/**
 * Sends a follower's write to the leader (the control API will implement it over gRPC) and resolves
 * with the log index of the committed entry.
 */
export interface LeaderForwarder {
  propose(actions: StoreAction[], opts: { leader: NodeId; leaderAddress: string | undefined; signal?: AbortSignal }): Promise<{ index: number }>;
}

export interface ReplicatedStoreOptions {
  /** The raft member's options (id, dataDir, listen, peers, ticks …). */
  raft: RaftNodeOptions;
  store?: MemoryStoreOpts;
  /** A write that has not committed by then fails with MANAGER_NO_QUORUM (default 2 election timeouts). */
  commitTimeoutMs?: number;
}

export interface ReplicatedStoreModules {
  logger: Logger;
  clock?: Clock;
  random?: Random;
  transport?: RaftTransport;
  /** Omitted: a write on a follower fails with MANAGER_NOT_LEADER naming the leader. */
  forwarder?: LeaderForwarder;
}

export type LeadershipListener = (isLeader: boolean, term: number) => void;

interface ApplyWaiter {
  index: number;
  resolve: () => void;
}

/** Applies committed raft entries to the store; entries are store actions, snapshots store snapshots. */
class StoreStateMachine implements StateMachine {
  private waiters: ApplyWaiter[] = [];
  /**
   * The actions behind this member's own proposals, by the entry bytes proposed. The raft log
   * hands the leader back the very same bytes when the entry commits, so it applies the actions
   * it already holds instead of decoding what it encoded a moment ago. They are the store's
   * private, frozen objects (what a transaction staged), so they can be handed over as owned.
   * A miss (an entry proposed elsewhere, or read back from disk) decodes as before.
   */
  private readonly proposed = new WeakMap<Uint8Array, StoreEntry>();

  constructor(private readonly store: MemoryStore) {}

  /** Encodes actions for a proposal of ours and remembers them for apply(). */
  encodeOwn(actions: StoreAction[], after = 0): Uint8Array {
    const data = this.store.encodeActions(actions, after);
    this.proposed.set(data, { actions, after });
    return data;
  }

  apply(entry: Entry): void {
    const own = this.proposed.get(entry.data);
    if (own !== undefined) this.proposed.delete(entry.data);
    const { actions, after } = own ?? decodeStoreEntry(entry.data);
    // A refused entry (a conflict every replica refuses alike) is remembered by the store, which
    // hands its error to the waiting writer; it is not a failure of the state machine.
    this.store.applyStoreActions(actions, entry.index, { owned: true, after });
    this.wake();
  }

  snapshot(): Promise<Uint8Array[]> {
    // The state is captured now (frozen objects); encoding it takes seconds for a large cluster
    // and runs in slices so that this manager keeps answering heartbeats and raft meanwhile. The
    // parts are joined once, into raft's snapshot envelope.
    return encodeSnapshotParts(this.store.snapshot());
  }

  restore(data: Uint8Array): void {
    this.store.restore(decodeSnapshot(data));
    this.wake();
  }

  /** Resolves once the store applied `index` (a forwarded write's entry reached this replica). */
  waitApplied(index: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.store.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new AbortedError(signal?.reason));
      };
      const waiter: ApplyWaiter = {
        index,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      // An abort that came first (the commit deadline) fires no event: act on it now.
      if (signal?.aborted) onAbort();
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const at = this.store.appliedIndex;
    const ready = this.waiters.filter((w) => w.index <= at);
    this.waiters = this.waiters.filter((w) => w.index > at);
    for (const w of ready) w.resolve();
  }
}

/**
 * How long after it starts a member waits for a leader before an API read says there is none. A
 * member that restarts knows the leader only once the leader's stream to it has reconnected and a
 * heartbeat came through, which can take longer than the two election timeouts a read waits
 * otherwise; "no leader, bring the lost managers back" would be the wrong thing to tell an
 * operator who has just restarted a manager.
 */
const STARTUP_LEADER_WAIT_MS = 5_000;

/**
 * How long an API read on a follower waits, at least, for the leader to confirm that its store is
 * current (a read barrier) before it says it could not. A member back from a partition hears the
 * leader's heartbeats before its own stream to the leader is out of its reconnect backoff (up to
 * 2 s); a read request lost meanwhile is asked again after half an election timeout.
 */
const READ_CONFIRM_WAIT_MS = 5_000;

export class ReplicatedStore implements Proposer {
  readonly store: MemoryStore;
  private raftNode: RaftNode | undefined;
  private readonly sm: StoreStateMachine;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly commitTimeoutMs: number;
  private readonly listeners = new Set<LeadershipListener>();
  /** Raft leadership (isLeader). */
  private leader = false;
  /** Leadership as told to the listeners: from when this leader's store caught up (signalOnceCaughtUp). */
  private signalled = false;
  private stopped = false;
  private readonly startedAtMs: number;

  private constructor(
    private readonly opts: ReplicatedStoreOptions,
    private readonly modules: ReplicatedStoreModules,
  ) {
    this.log = modules.logger.child({ component: "replication" });
    this.clock = modules.clock ?? systemClock;
    this.startedAtMs = this.clock.monotonicMs();
    const electionMs = (opts.raft.tickMs ?? 100) * (opts.raft.electionTicks ?? 10);
    this.commitTimeoutMs = opts.commitTimeoutMs ?? electionMs * 2;
    const storeModules = modules.clock === undefined ? { proposer: this } : { proposer: this, clock: modules.clock };
    this.store = new MemoryStore(opts.store ?? {}, storeModules);
    this.sm = new StoreStateMachine(this.store);
  }

  /** Opens the member's raft state (restoring the store from snapshot + log) and joins the group. */
  static async start(opts: ReplicatedStoreOptions, modules: ReplicatedStoreModules): Promise<ReplicatedStore> {
    const rs = new ReplicatedStore(opts, modules);
    const raftModules: Parameters<typeof RaftNode.start>[1] = { stateMachine: rs.sm, logger: modules.logger };
    if (modules.clock !== undefined) raftModules.clock = modules.clock;
    if (modules.random !== undefined) raftModules.random = modules.random;
    if (modules.transport !== undefined) raftModules.transport = modules.transport;
    const node = await RaftNode.start(opts.raft, raftModules);
    rs.raftNode = node;
    node.onLeaderChange((lead, term) => rs.onLeaderChange(lead, term));
    return rs;
  }

  get raft(): RaftNode {
    if (this.raftNode === undefined) throw new ManagerError({ code: "MANAGER_STOPPED" }, "replicated store not started");
    return this.raftNode;
  }

  get id(): NodeId {
    return this.opts.raft.id;
  }

  /** Raft leadership: this member leads its term (its store may still be catching up: leads()). */
  isLeader(): boolean {
    return this.leader;
  }

  /** Leadership as onLeadershipChange tells it: leading, and caught up with the committed log. */
  leads(): boolean {
    return this.signalled;
  }

  /** The leader as this member knows it (id 0: none). */
  leaderInfo(): { id: NodeId; address: string | undefined } {
    const st = this.raft.status();
    return { id: st.lead, address: st.lead === NONE ? undefined : st.addresses[st.lead] };
  }

  /**
   * Resolves once this member knows a leader (itself or another), or after maxMs: a caller that
   * can only be redirected to the leader waits out a short election here instead of failing and
   * coming back.
   */
  leaderKnown(maxMs: number): Promise<void> {
    if (this.stopped || this.leaderInfo().id !== NONE) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        timer.cancel();
        unsubscribe();
        resolve();
      };
      const timer = this.clock.setTimeout(done, maxMs);
      const unsubscribe = this.raft.onLeaderChange((lead) => {
        if (lead !== NONE) done();
      });
    });
  }

  /**
   * Resolves when this member may answer a read of cluster state from its store: it knows a leader
   * (waiting out an election of up to two election timeouts, a split vote included; in the first
   * seconds after the member started, until STARTUP_LEADER_WAIT_MS), and, unless it is that leader
   * and caught up, the leader has confirmed that the store holds every write acknowledged before
   * the call (a read barrier, retried for at least READ_CONFIRM_WAIT_MS). Else rejects MANAGER_NO_LEADER or
   * MANAGER_LEADER_UNREACHABLE (MANAGER_REMOVED on a member whose id was retired, MANAGER_STOPPED
   * once stopped). With wait false it waits for neither and only needs a known leader.
   *
   * A member that knows no leader may hold a stale store (the others moved on, or are gone), and
   * answering from it would show lost managers as reachable and lost nodes as ready. A follower
   * that knows one may still be far behind it (back from a partition, or restarted: it hears the
   * leader's heartbeat before the entries it missed), or a moment behind a write another manager
   * just acknowledged; the barrier costs a round trip to the leader and gives what Docker's
   * managers give by forwarding reads to theirs.
   */
  async leaderForRead(opts: { wait?: boolean } = {}): Promise<void> {
    if (this.stopped) throw stoppedError();
    const removed = this.removedError();
    if (removed !== undefined) throw removed;
    const wait = opts.wait !== false;
    const { tickMs, electionTicks } = this.raft.ticks();
    const boundMs = Math.max(2 * electionTicks * tickMs, STARTUP_LEADER_WAIT_MS - (this.clock.monotonicMs() - this.startedAtMs));
    const until = this.clock.monotonicMs() + boundMs;
    if (this.leaderInfo().id === NONE && wait) await this.leaderKnown(boundMs);
    if (this.leaderInfo().id === NONE) {
      const { reachable, members } = this.votersInHearing();
      throw noLeaderError(reachable, members);
    }
    if (!wait || this.signalled) return;
    await this.currentForRead(Math.max(until, this.clock.monotonicMs() + READ_CONFIRM_WAIT_MS));
  }

  /** A read barrier, retried until `until` (monotonic ms) while this member follows a leader. */
  private async currentForRead(until: number): Promise<void> {
    const started = this.clock.monotonicMs();
    const tickMs = this.raft.ticks().tickMs;
    for (;;) {
      const left = until - this.clock.monotonicMs();
      const ac = new AbortController();
      const timer = this.clock.setTimeout(() => ac.abort(), Math.max(left, 1));
      try {
        await this.raft.readBarrier({ signal: ac.signal });
        return;
      } catch (err) {
        if (this.stopped) throw stoppedError();
        const removed = this.removedError();
        if (removed !== undefined) throw removed;
        if (!(err instanceof RaftError)) throw err;
        // Raft stopped on a fatal error: nothing will confirm anything any more.
        if (err.code === "RAFT_STOPPED") throw stoppedError();
      } finally {
        timer.cancel();
      }
      const remaining = until - this.clock.monotonicMs();
      if (remaining <= 0) break;
      // Leadership moved, or the request was lost on the way: wait for a leader, then ask again.
      if (this.leaderInfo().id === NONE) await this.leaderKnown(remaining);
      else await sleep(Math.min(tickMs, remaining));
    }
    const lead = this.leaderInfo();
    if (lead.id === NONE) {
      const { reachable, members } = this.votersInHearing();
      throw noLeaderError(reachable, members);
    }
    throw leaderUnreachableError(lead.id, lead.address, Math.round(this.clock.monotonicMs() - started));
  }

  /**
   * Called when this member gains (true) or loses (false) leadership, so leader-only components
   * start and stop. Gaining is told once the store has applied everything committed before this
   * term (signalOnceCaughtUp); losing at once, and only after a gain was told. A proposal pending
   * when leadership is lost settles by what the log decides: resolved if its entry still commits,
   * rejected RAFT_PROPOSAL_DROPPED if a newer term replaced it.
   */
  onLeadershipChange(fn: LeadershipListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called once if raft stops for good on an error (RaftNode.onFatal): this replica is out. */
  onFatal(fn: (err: Error) => void): () => void {
    return this.raft.onFatal(fn);
  }

  /**
   * The store's Proposer: one raft entry per call; resolves after the entry was applied here. A
   * leader's own append is reported through opts.onAppended before this returns.
   */
  async proposeValue(actions: StoreAction[], opts: ProposeOptions = {}): Promise<{ index: number }> {
    if (this.stopped) throw stoppedError();
    // A removed member's store is frozen: a write staged over it, even if the leader took it,
    // would never be applied here to resolve.
    const removed = this.removedError();
    if (removed !== undefined) throw removed;
    opts.signal?.throwIfAborted();
    const deadline = new AbortController();
    const timer = this.clock.setTimeout(() => deadline.abort(new Error("commit deadline")), this.commitTimeoutMs);
    // Not AbortSignal.any: on Node 20 it leaks a little on every call given a long-lived signal.
    const link = linkSignals(opts.signal, deadline.signal);
    const signal = link.signal;
    const after = opts.after ?? 0;
    try {
      const raftOpts: RaftProposeOptions = { signal };
      if (opts.onAppended !== undefined) raftOpts.onAppended = opts.onAppended;
      if (after > 0 && opts.term !== undefined) raftOpts.term = opts.term;
      const { index } = await this.raft.propose(this.sm.encodeOwn(actions, after), raftOpts);
      return { index };
    } catch (err) {
      // Staged over entries in flight in this leader's log: nowhere else can it go.
      if (after > 0 && err instanceof RaftError && err.code === "RAFT_NOT_LEADER") throw this.lostPipeline();
      const out = await this.translate(err, actions, signal, deadline.signal, opts.signal);
      if ("forwarded" in out) return { index: out.forwarded };
      throw out.error;
    } finally {
      timer.cancel();
      link.unlink();
    }
  }

  /** A read that reflects every write acknowledged before it was called (ReadIndex), on any member. */
  async linearizableView<R>(fn: (tx: ReadTx) => R, opts: { signal?: AbortSignal } = {}): Promise<R> {
    try {
      await this.raft.readBarrier(opts);
    } catch (err) {
      if (err instanceof RaftError && err.code === "RAFT_NOT_LEADER" && err.meta["leader"] === NONE) throw this.noQuorum(err);
      if (err instanceof RaftError && err.code === "RAFT_TIMEOUT" && !(opts.signal?.aborted ?? false)) throw this.noQuorum(err);
      throw err;
    }
    return this.store.view(fn);
  }

  /** Stops raft (pending writes reject), then ends the store's watches. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.listeners.clear();
    await this.raftNode?.stop();
    this.store.close();
  }

  private async translate(
    err: unknown,
    actions: StoreAction[],
    signal: AbortSignal,
    deadline: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ forwarded: number } | { error: unknown }> {
    if (callerSignal?.aborted) return { error: err };
    const refusal = this.raftRefusal(err);
    if (refusal !== undefined) return { error: refusal };
    if (err instanceof RaftError && err.code === "RAFT_NOT_LEADER") {
      const leader = typeof err.meta["leader"] === "number" ? err.meta["leader"] : NONE;
      const leaderAddress = typeof err.meta["leaderAddress"] === "string" ? err.meta["leaderAddress"] : undefined;
      if (leader !== NONE) return this.forward(actions, leader, leaderAddress, signal, deadline, callerSignal);
      // No leader at all: an election is running, or there is no quorum to hold one. Wait for one
      // until the commit deadline rather than failing a write in the middle of a failover.
      for (;;) {
        try {
          await sleep(50, signal);
        } catch {
          return { error: callerSignal?.aborted ? err : this.noQuorum(err) };
        }
        const now = this.leaderInfo();
        if (now.id !== NONE) return this.forward(actions, now.id, now.address, signal, deadline, callerSignal);
      }
    }
    if (deadline.aborted && err instanceof RaftError && err.code === "RAFT_TIMEOUT") return { error: this.noQuorum(err, err.meta["outcomeUnknown"] === true) };
    return { error: err };
  }

  /**
   * Sends a follower's write to the leader. A leader that cannot be reached at all (the connection
   * was refused: the write never left) is retried until the commit deadline, following leadership
   * changes, so a dead leader ends in MANAGER_NO_QUORUM or a new leader's answer rather than a
   * transport error. A failure after the request may have reached the leader is not retried (it
   * could commit twice); at the deadline it is MANAGER_NO_QUORUM with outcomeUnknown.
   */
  private async forward(
    actions: StoreAction[],
    leader: NodeId,
    leaderAddress: string | undefined,
    signal: AbortSignal,
    deadline: AbortSignal,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ forwarded: number } | { error: unknown }> {
    const forwarder = this.modules.forwarder;
    for (;;) {
      if (leader !== this.id && forwarder === undefined) return { error: notLeaderError(leader, leaderAddress) };
      try {
        const { index } =
          leader === this.id || forwarder === undefined ? await this.raft.propose(this.sm.encodeOwn(actions), { signal }) : await forwarder.propose(actions, { leader, leaderAddress, signal });
        // The store's contract: resolve only once every entry up to ours has been applied here.
        await this.sm.waitApplied(index, signal);
        return { forwarded: index };
      } catch (fwdErr) {
        if (callerSignal?.aborted) return { error: fwdErr };
        const refusal = this.raftRefusal(fwdErr);
        if (refusal !== undefined) return { error: refusal };
        const unsent = neverSent(fwdErr);
        // Our own deadline cancelled the forwarded call: that is a commit that did not happen in
        // time (outcome unknown), not an error of the leader's to pass on.
        // So is our own proposal's abort (leadership came here meanwhile), and a committed write
        // this member had not applied by then (waitApplied's abort).
        if (deadline.aborted) {
          const cancelledByDeadline =
            (fwdErr instanceof RemoteError && fwdErr.meta["grpcStatus"] === 1) || fwdErr instanceof AbortedError || (fwdErr instanceof RaftError && fwdErr.code === "RAFT_TIMEOUT");
          return { error: fwdErr instanceof ShoalError && !fwdErr.temporary && !cancelledByDeadline ? fwdErr : this.noQuorum(fwdErr, !unsent) };
        }
        if (!unsent) return { error: fwdErr instanceof ShoalError && !fwdErr.temporary ? fwdErr : this.noQuorum(fwdErr, true) };
        try {
          await sleep(100, signal);
        } catch {
          return { error: this.noQuorum(fwdErr) };
        }
        const now = this.leaderInfo();
        if (now.id === NONE) return { error: this.noQuorum(fwdErr) };
        leader = now.id;
        leaderAddress = now.address;
      }
    }
  }

  /**
   * MANAGER_REMOVED once this member knows its raft id was removed. A demotion removes the member
   * before it clears the node's manager status, and the leader stops sending to a member it
   * removed, so a demoted member mostly learns of it from a member that refuses its messages,
   * with its own node still showing its raft id and the worker role it was given.
   */
  private removedError(): ManagerError | undefined {
    const by = this.raft.removedBy();
    if (by === NONE) return undefined;
    const self = this.store.view((tx) => tx.find("node").find((n) => n.managerStatus?.raftId === this.id));
    return removedManagerError(by, this.id, self?.spec.desiredRole === NodeRole.WORKER);
  }

  /** A write staged over this member's entries in flight, after it stopped leading their term. */
  private lostPipeline(): ManagerError {
    const lead = this.leaderInfo();
    if (lead.id !== this.id) return notLeaderError(lead.id, lead.address);
    return new ManagerError({ code: "MANAGER_NOT_LEADER", leader: lead.id }, "leadership changed while the write was prepared; try again", { temporary: true });
  }

  /**
   * What a client is told for a raft outcome that is a refusal, not an internal error: a dropped
   * or snapshot-covered proposal (droppedWrite), or raft stopped under the write (shutdown,
   * demotion, or a fatal error that onFatal reports): ask another manager, as for a write that
   * arrives after the stop. Undefined for anything else.
   */
  private raftRefusal(err: unknown): ManagerError | undefined {
    if (isDropped(err)) return this.droppedWrite(err);
    if (err instanceof RaftError && err.code === "RAFT_STOPPED") return this.removedError() ?? stoppedError();
    return undefined;
  }

  /**
   * The write's entry was replaced by a newer leader's (RAFT_PROPOSAL_DROPPED): it is certainly not
   * applied anywhere, so the caller may simply try again; or a snapshot covered its index before it
   * applied here (RAFT_UNAVAILABLE): outcome unknown, check before retrying. Refusals, not internal
   * errors.
   */
  private droppedWrite(cause: RaftError): ManagerError {
    const lead = this.leaderInfo();
    const where = lead.id === NONE ? "no leader is known yet" : lead.id === this.id ? "this manager leads now" : `the leader is now ${lead.id}${lead.address === undefined ? "" : ` at ${lead.address}`}`;
    // RAFT_UNAVAILABLE: this member caught up from a snapshot that covers the entry's index, so
    // whether the entry there is ours is not known here.
    const unknown = cause.code === "RAFT_UNAVAILABLE";
    const what = unknown
      ? "leadership changed while this write was in flight and this manager caught up from a snapshot: the write may or may not have applied"
      : "leadership changed before this write committed, and it was not applied";
    return new ManagerError(
      { code: "MANAGER_NOT_LEADER", leader: lead.id, leaderAddress: lead.address, dropped: !unknown, outcomeUnknown: unknown },
      `${what} (${where}); ${unknown ? "check before retrying" : "try again"}`,
      { temporary: true, cause },
    );
  }

  private noQuorum(cause: unknown, outcomeUnknown = false): ManagerError {
    const removed = this.removedError();
    if (removed !== undefined) return removed;
    const { reachable, members } = this.votersInHearing();
    this.log.warn({ reachable, members }, "replication: write could not commit");
    return noQuorumError(reachable, members, cause, outcomeUnknown);
  }

  /**
   * The voters, and those heard from within an election timeout (the driver's view; the core's
   * recentActive flags are cleared at every check-quorum round and would undercount right after one).
   */
  private votersInHearing(): { reachable: number; members: number } {
    const voters = this.raft.memberStatus().filter((m) => m.voter);
    return { reachable: voters.filter((m) => m.recentActive).length, members: voters.length };
  }

  private onLeaderChange(lead: NodeId, term: number): void {
    const now = lead === this.opts.raft.id;
    if (now === this.leader) return;
    this.leader = now;
    this.log.info({ term, leader: now }, now ? "replication: became leader" : "replication: lost leadership");
    if (now) {
      void this.signalOnceCaughtUp(term);
      return;
    }
    // Before any listener: no write may stage over this leadership's entries in flight any more.
    this.store.leftLeadership();
    if (!this.signalled) return;
    this.signalled = false;
    this.notify(false, term);
  }

  /**
   * Tells the listeners (the leader's components: orchestrators, scheduler, allocator, dispatcher)
   * that this member leads only once its store has applied every entry committed before its term:
   * a read barrier, which the core answers after the term's first entry commits. A new leader may
   * hold entries that an old leader committed (and acknowledged) which it has not yet learned are
   * committed; components started on that store would act on a state without them (an allocator
   * could hand out an address an old entry already took). Writes need not wait: the log orders them.
   */
  private async signalOnceCaughtUp(term: number): Promise<void> {
    const leading = (): boolean => !this.stopped && this.leader && this.raft.status().term === term;
    for (let attempt = 0; ; attempt++) {
      if (!leading()) return;
      try {
        await this.raft.readBarrier();
        break;
      } catch (err) {
        if (!leading() || (err instanceof RaftError && err.code === "RAFT_STOPPED")) return;
        // No quorum answered within the barrier's timeout: check quorum will end this term, or a
        // later round succeeds.
        if (attempt === 0) this.log.warn({ err, term }, "replication: leading, but not yet caught up with the committed log; leader components wait");
        await sleep(this.raft.ticks().tickMs);
      }
    }
    if (!leading() || this.signalled) return;
    this.signalled = true;
    this.log.info({ term, applied: this.store.appliedIndex }, "replication: caught up with the committed log; starting leader components");
    this.notify(true, term);
  }

  private notify(leader: boolean, term: number): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(leader, term);
      } catch (err) {
        this.log.error({ err }, "replication: leadership listener threw");
      }
    }
  }
}

/**
 * A proposal whose entry a newer leader's replaced (never applied), or whose index a snapshot from
 * the leader covered before it applied here (outcome unknown).
 */
function isDropped(err: unknown): err is RaftError {
  if (!(err instanceof RaftError)) return false;
  // (The core's own RAFT_PROPOSAL_DROPPED, e.g. during a leadership transfer, is already temporary
  // and says why; only the driver's "replaced by an entry of term N" is meant here.)
  return (err.code === "RAFT_PROPOSAL_DROPPED" && err.meta["replacedByTerm"] !== undefined) || (err.code === "RAFT_UNAVAILABLE" && err.meta["outcomeUnknown"] === true);
}
