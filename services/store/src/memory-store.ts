// MemoryStore: the manager's object store. Owns the committed tables, the write path (transaction →
// proposal → apply), the follower path (applyStoreActions), watchers, snapshot and restore. It
// knows nothing of Raft: writes go through a Proposer, and without one they commit locally.
//
// Writes are serialized: one transaction, batch or group stages at a time, under the write lock,
// over the committed state and the writes still in flight (pipelining, below). apply.ts re-checks
// every write against the state it applies to, deterministically, for the entries-raced-us case.
//
// Pipelined writes. Where the proposer appends our entry to its log at once (the raft leader), the
// lock is let go as soon as the entry is appended, not when it commits: the next writer stages over
// the layers of the entries in flight (each the layer its writer staged, stacked over the tables),
// each object at the version (the entry's index) it will have once applied, so its updates name
// versions every replica will find.
// A round trip no longer caps the store's writes at one entry per round trip (ARCHITECTURE,
// Store). What keeps it correct:
// - An entry staged over one in flight says so (`after`, in the entry); a replica refuses it if
//   that one was refused, so nothing is built on a write that never happened. The recent refusals
//   are part of the state (and of snapshots), so every replica decides alike.
// - Entries staged over ones in flight are appended only by the leader of the term that appended
//   those (ProposeOptions.term), never forwarded: in that term its log keeps them where they are.
// - At most maxInFlight entries are in flight; a writer waits for room before it stages.
// - An entry's layer leaves the stack when the entry applies (the tables then hold what it wrote)
//   or its proposal fails, and the whole stack goes when this member stops leading
//   (leftLeadership). Elsewhere (a follower forwarding its writes) the lock is held until the
//   entry commits.
import { AbortedError, systemClock, type Clock } from "@shoal/common";
import type { LoggedAction, ProposeOptions, Proposer, StoreAction, StoreEvent } from "./actions.js";
import { applyActions, shareStored, type AppliedChange, type ApplyOutcome } from "./apply.js";
import { encodeStoreActions } from "./codec.js";
import { StoreError, invalid } from "./errors.js";
import { adopt, cloneDeep, expose } from "./freeze.js";
import { KINDS, UNIQUE_NAME_KINDS } from "./objects/kinds.js";
import { SNAPSHOT_FIELD, snapshotObjects, type StoreSnapshot } from "./snapshot.js";
import { Layer, Tables, type Reader, type StoredEntry } from "./tables.js";
import { ReadTxImpl, WriteTxImpl, checkId, checkName, type ReadTx, type WriteTx } from "./tx.js";
import { Watch, type WatchOptions } from "./watch.js";

export interface MemoryStoreOpts {
  /** Default per-watcher queue bound (events). */
  watchQueueLimit?: number;
  /** A batch proposes once it has staged this many actions. */
  maxBatchActions?: number;
  /** The most entries of this store's in flight at once (pipelined writes; 1: one at a time). */
  maxInFlight?: number;
}

export interface MemoryStoreModules {
  clock?: Clock;
  /** Omitted: commit locally with indexes appliedIndex + 1 (single node, tests). */
  proposer?: Proposer;
}

export interface WriteOptions {
  signal?: AbortSignal;
}

export interface UpdateOptions extends WriteOptions {
  /**
   * Group commit: the transaction may share its raft entry with other grouped updates that queued
   * while the store was writing (a thousand nodes joining at once are a few entries, not a thousand
   * round trips). Each runs on the state the ones before it staged, and fails alone if its callback
   * throws; but the entry is all or nothing, so if it cannot commit or is refused at apply, every
   * update in it gets that error. For independent small writes whose callers retry on error. The
   * signal is checked before the transaction runs, not while its entry commits.
   */
  group?: boolean;
}

interface GroupedUpdate {
  cb: (tx: WriteTx) => unknown;
  signal: AbortSignal | undefined;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

/** Groups many small transactions into few proposals (the scheduler's and dispatcher's writes). */
export interface Batch {
  /**
   * Runs one transaction on top of the batch's uncommitted changes. If it throws, only its own
   * changes are dropped (the error is rethrown). Resolves once its changes are staged, or proposed
   * and applied when they filled the batch.
   */
  update<R>(cb: (tx: WriteTx) => R): Promise<R>;
}

/**
 * What the store's write path has done since it was made (cumulative): its proposals, the actions
 * they carried, how long writers waited for their entries to commit and apply, and how long the
 * write lock was held. The lock held nearly all the time, most of it waiting for commits, is a
 * store whose writes are capped by the raft round trip (ARCHITECTURE, Store).
 */
export interface WriteStats {
  proposals: number;
  actions: number;
  commitWaitSeconds: number;
  lockHeldSeconds: number;
}

export interface ApplyResult {
  /** False when the entry was refused (deterministically, on every replica) or already applied. */
  applied: boolean;
  error?: StoreError;
}

// Refused entries remembered (and carried in snapshots): far more than can be in flight at once.
const REMEMBERED_REJECTIONS = 1024;

/** Where a staging layer stands: the newest entry in flight under it, and that entry's term. */
interface StagingBase {
  after: number;
  term: number;
}

/** A proposal made: whether it went into the log at once (so the lock may go), and its commit. */
interface Flight {
  pipelined: boolean;
  committed: Promise<void>;
}

function isPromiseLike(v: unknown): boolean {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

export class MemoryStore {
  private tables = new Tables();
  // Invariant: every entry of index <= appliedIndex has been applied (or skipped as not ours).
  private applied = 0;
  // Our entries in flight, ascending, appended in term `pipelineTerm`, each with the layer its
  // writer staged: inFlight[0]'s over the tables, each next one's over the one before.
  // Invariant: every entry in inFlight is above appliedIndex.
  private inFlight: { index: number; layer: Layer }[] = [];
  private pipelineTerm = 0;
  private roomWaiters: (() => void)[] = [];
  private readonly watchers = new Set<Watch>();
  private writeTail: Promise<void> = Promise.resolve();
  // Entries applied by the replication layer but refused: the waiting writer learns why here.
  private readonly rejections = new Map<number, StoreError>();
  private closed = false;
  private readonly clock: Clock;
  private readonly proposer: Proposer;
  private readonly watchQueueLimit: number;
  private readonly maxBatchActions: number;
  private readonly maxInFlight: number;
  /** Grouped updates waiting for the next group (UpdateOptions.group). */
  private grouped: GroupedUpdate[] = [];
  private groupsWriting = false;
  private readonly stats: WriteStats = { proposals: 0, actions: 0, commitWaitSeconds: 0, lockHeldSeconds: 0 };

  constructor(opts: MemoryStoreOpts = {}, modules: MemoryStoreModules = {}) {
    this.clock = modules.clock ?? systemClock;
    this.proposer = modules.proposer ?? { proposeValue: () => Promise.resolve({ index: this.applied + 1 }) };
    this.watchQueueLimit = opts.watchQueueLimit ?? 10_000;
    this.maxBatchActions = opts.maxBatchActions ?? 500;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  }

  /** The write path's cumulative statistics (a copy). */
  writeStats(): WriteStats {
    return { ...this.stats };
  }

  /** The raft index of the last applied entry (or restored snapshot). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Runs cb on a consistent, read-only view of the committed state. cb must be synchronous. */
  view<R>(cb: (tx: ReadTx) => R): R {
    const tx = new ReadTxImpl(this.tables);
    try {
      const result = cb(tx);
      if (isPromiseLike(result)) throw invalid("view callbacks must be synchronous");
      return result;
    } finally {
      tx.close();
    }
  }

  /**
   * Runs a write transaction: cb (synchronous) stages changes; if it throws, nothing happens.
   * It reads the committed state and, on the leader, the writes still in flight (pipelining, at
   * the top of this file). The changes are proposed and, once committed, applied with
   * meta.version.index = the entry's index; only then does the promise resolve. A rejected
   * proposal changes nothing. With `group`, it may share its entry with other grouped updates
   * (UpdateOptions.group).
   */
  async update<R>(cb: (tx: WriteTx) => R, opts: UpdateOptions = {}): Promise<R> {
    if (opts.group === true) return this.updateInGroup(cb, opts.signal);
    const release = await this.lockWrites(opts.signal);
    try {
      await this.roomInFlight(opts.signal);
      const base = this.stagingBase();
      const layer = new Layer(this.top());
      const { result, actions } = this.stage(layer, cb);
      if (actions.length > 0) {
        const flight = this.propose(actions, layer, base, opts.signal);
        if (flight.pipelined) release();
        await flight.committed;
      }
      return result;
    } finally {
      release();
    }
  }

  /**
   * Runs many transactions and proposes their changes together, at most maxBatchActions actions
   * per proposal, so that one raft entry carries many decisions. Holds the write lock while it
   * runs transactions and proposes; after each full proposal it lets writers that queued meanwhile
   * go first, so a batch of thousands of tasks does not hold up a single `update` (a service
   * create, a node update) for its whole length. Each transaction reads the state as it is when it
   * runs (writes in flight included). Resolves once all its proposals committed. If a proposal
   * fails, the batch rejects; changes of earlier proposals stay committed, and so may those of
   * later ones already in flight. If cb throws, changes not yet proposed are dropped (as
   * swarmkit's Batch does).
   */
  async batch<R>(cb: (batch: Batch) => Promise<R> | R, opts: WriteOptions = {}): Promise<R> {
    let release = await this.lockWrites(opts.signal);
    let layer!: Layer;
    let base!: StagingBase;
    let pending: StoreAction[] = [];
    let failed: unknown;
    let chain: Promise<unknown> = Promise.resolve();
    const commits: Promise<unknown>[] = [];
    const restage = async (): Promise<void> => {
      await this.roomInFlight(opts.signal);
      base = this.stagingBase();
      layer = new Layer(this.top());
    };
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const actions = pending;
      pending = [];
      let flight: Flight;
      try {
        flight = this.propose(actions, layer, base, opts.signal);
      } catch (err) {
        failed ??= err;
        throw err;
      }
      // Handled at once: an entry in flight may fail while the batch is still staging, and that
      // failure stops the batch (it is its answer once every entry settled).
      const committed = flight.committed.then(
        () => undefined,
        (err: unknown) => {
          failed ??= err;
          return err;
        },
      );
      commits.push(committed);
      if (!flight.pipelined) {
        const err = await committed;
        if (err !== undefined) throw err;
      }
    };
    const runOne = async <T>(txCb: (tx: WriteTx) => T): Promise<T> => {
      if (failed !== undefined) throw failed;
      const { result, actions } = this.stage(layer, txCb);
      pending.push(...actions);
      if (pending.length >= this.maxBatchActions) {
        await flush();
        // Writers that queued during the proposal go first; then the batch goes on.
        release();
        try {
          release = await this.lockWrites(opts.signal);
          await restage();
        } catch (err) {
          // Aborted while waiting: without the lock, nothing more of this batch may run.
          failed ??= err;
          throw err;
        }
      }
      return result;
    };
    const batch: Batch = {
      // Serialized: a transaction must read the state after the previous one's flush.
      update: <T>(txCb: (tx: WriteTx) => T): Promise<T> => {
        const p = chain.then(() => runOne(txCb));
        chain = p.catch(() => undefined);
        return p;
      },
    };
    try {
      await restage();
      const result = await cb(batch);
      await chain;
      if (failed !== undefined) throw failed;
      await flush();
      release();
      await Promise.all(commits);
      if (failed !== undefined) throw failed;
      return result;
    } finally {
      release();
      // Settled, every one, however the batch ends: when it answers, none of its entries is in flight.
      await Promise.all(commits);
    }
  }

  private updateInGroup<R>(cb: (tx: WriteTx) => R, signal: AbortSignal | undefined): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.grouped.push({ cb, signal, resolve: resolve as (v: unknown) => void, reject });
      if (this.groupsWriting) return;
      this.groupsWriting = true;
      void this.writeGroups();
    });
  }

  /**
   * Writes the queued grouped updates, one entry per group of at most maxBatchActions actions. A
   * group is formed once the write lock is ours, so updates that queued while others wrote (or
   * while the previous group's entry committed) all go in it.
   */
  private async writeGroups(): Promise<void> {
    try {
      while (this.grouped.length > 0) {
        const release = await this.lockWrites(undefined);
        const staged: { u: GroupedUpdate; result: unknown }[] = [];
        const resolveAll = (): void => staged.forEach(({ u, result }) => u.resolve(result));
        const rejectAll = (err: unknown): void => staged.forEach(({ u }) => u.reject(err));
        try {
          await this.roomInFlight(undefined);
          const base = this.stagingBase();
          const layer = new Layer(this.top());
          const actions: StoreAction[] = [];
          while (this.grouped.length > 0 && actions.length < this.maxBatchActions) {
            const u = this.grouped.shift()!;
            const staging = this.stageGrouped(u, layer);
            if (staging === undefined) continue;
            actions.push(...staging.actions);
            staged.push({ u, result: staging.result });
          }
          if (actions.length > 0) {
            const flight = this.propose(actions, layer, base, undefined);
            if (flight.pipelined) {
              // The next group may form while this one commits.
              flight.committed.then(resolveAll, rejectAll);
              continue;
            }
            await flight.committed;
          }
          resolveAll();
        } catch (err) {
          rejectAll(err);
        } finally {
          release();
        }
      }
    } finally {
      this.groupsWriting = false;
    }
  }

  /** Runs one grouped update over the group's layer; undefined (and the update rejected) if it failed. */
  private stageGrouped(u: GroupedUpdate, layer: Layer): { actions: StoreAction[]; result: unknown } | undefined {
    if (u.signal?.aborted) {
      u.reject(new AbortedError(u.signal.reason));
      return undefined;
    }
    try {
      return this.stage(layer, u.cb);
    } catch (err) {
      u.reject(err);
      return undefined;
    }
  }

  /**
   * Runs one transaction on top of `parent` (an update's, batch's or group's uncommitted changes)
   * and, if its callback returns, merges its changes into `parent`; if it throws, they are dropped.
   */
  private stage<T>(parent: Layer, cb: (tx: WriteTx) => T): { result: T; actions: StoreAction[] } {
    const txLayer = new Layer(parent);
    const tx = new WriteTxImpl(txLayer, this.clock);
    let result: T;
    try {
      result = cb(tx);
      if (isPromiseLike(result)) throw invalid("update callbacks must be synchronous");
    } finally {
      tx.close();
    }
    txLayer.mergeInto(parent);
    return { result, actions: tx.actions };
  }

  /**
   * The raft entry bytes for actions this store staged (a Proposer's proposal): each update of an
   * object that is committed here at the version its writer read goes as a patch (codec.ts); any
   * other goes whole, so the bytes are right whenever this is called.
   */
  encodeActions(actions: readonly StoreAction[], after = 0): Uint8Array {
    // An object written by an entry in flight is at that entry's index on every replica that
    // applies this one (which comes later), so it is a base too.
    const top = this.top();
    return encodeStoreActions(actions, (kind, id) => top.getEntry(kind, id)?.obj, after);
  }

  /**
   * Applies a committed entry's actions (followers, log replay, and the leader's own apply path).
   * Deterministic. An index at or below appliedIndex is skipped (already applied). A refused entry
   * (a conflict no replica can apply, or staged `after` an entry that was refused) changes nothing
   * but still advances appliedIndex.
   */
  applyStoreActions(actions: readonly LoggedAction[], index: number, opts: { owned?: boolean; after?: number } = {}): ApplyResult {
    if (index <= this.applied) return { applied: false };
    // The store freezes what it stores: it copies the caller's objects first, unless the caller
    // hands them over (`owned`: freshly decoded for this call, held by no one else).
    return this.applyCommitted(opts.owned === true ? (actions as LoggedAction[]) : cloneDeep(actions as LoggedAction[]), index, opts.after ?? 0);
  }

  /** Events after the current state, in commit order, until closed, aborted or overflowed. */
  watch(opts: WatchOptions = {}): Watch {
    if (this.closed) throw new StoreError({ code: "STORE_CLOSED" }, "store is closed");
    const w = new Watch(opts, opts.queueLimit ?? this.watchQueueLimit, (x) => this.watchers.delete(x));
    if (!w.closed) this.watchers.add(w);
    return w;
  }

  /**
   * A consistent view and a watch that starts exactly after it: no gap, no duplicate. `index` is
   * the applied index the view reflects; every event on the watch has a higher one.
   */
  viewAndWatch<R>(opts: WatchOptions, cb: (tx: ReadTx) => R): { result: R; watch: Watch; index: number } {
    // Both happen in one synchronous step, so no entry can be applied between them.
    const watch = this.watch(opts);
    try {
      return { result: this.view(cb), watch, index: this.applied };
    } catch (err) {
      watch.close();
      throw err;
    }
  }

  /** The committed state as plain objects (copies where they hold bytes). */
  snapshot(): StoreSnapshot {
    const s: Record<string, unknown> = { index: this.applied };
    for (const kind of KINDS) s[SNAPSHOT_FIELD[kind]] = [...this.tables.table(kind).entries.values()].map((e) => expose(e));
    if (this.rejections.size > 0) s["refused"] = [...this.rejections.keys()];
    return s as unknown as StoreSnapshot;
  }

  /**
   * Replaces the whole state with a snapshot (a follower catching up). Watchers see the difference
   * as create/update/delete events at the snapshot's index.
   */
  restore(snapshot: StoreSnapshot): void {
    const fresh = new Tables();
    for (const kind of KINDS) {
      const table = fresh.table(kind);
      for (const obj of cloneDeep(snapshotObjects(snapshot, kind))) {
        checkId(kind, obj);
        if (table.entries.has(obj.id)) throw invalid(`snapshot has ${kind} ${obj.id} twice`);
        if (UNIQUE_NAME_KINDS.has(kind)) checkName(fresh, kind, obj);
        shareStored(fresh, kind, obj, undefined);
        table.put(adopt(obj));
      }
    }
    const changes: AppliedChange[] = [];
    for (const kind of KINDS) {
      const before = this.tables.table(kind).entries;
      const after = fresh.table(kind).entries;
      for (const [id, entry] of before) if (!after.has(id)) changes.push({ kind, action: "delete", entry });
      for (const [id, entry] of after) {
        const old = before.get(id);
        if (old === undefined) changes.push({ kind, action: "create", entry });
        else if (old.obj.meta.version.index !== entry.obj.meta.version.index) changes.push({ kind, action: "update", entry, oldEntry: old });
      }
    }
    this.tables = fresh;
    this.applied = snapshot.index;
    this.rejections.clear();
    for (const index of snapshot.refused ?? []) this.rejections.set(index, refusedEarlier(index));
    // Whatever was in flight is in the snapshot or lost; its proposals settle on their own.
    this.dropInFlight();
    this.publish(changes, snapshot.index);
  }

  /**
   * This member no longer leads (the replication layer says so at once). Its entries in flight
   * may still commit or be replaced by a newer leader's; either way no write may be staged over
   * them any more: from now on writes stage over what this member applied, as every member's
   * reads do. Their proposals settle on their own, as before. Kept, the stack made a partitioned
   * ex-leader stage over its own uncommitted writes (say, its dispatcher's DOWN marks): every write
   * through it failed "update out of sequence" until those proposals timed out.
   */
  leftLeadership(): void {
    this.dropInFlight();
  }

  /** No write stages over the entries in flight any more (writers waiting for room go on). */
  private dropInFlight(): void {
    this.inFlight = [];
    this.wakeRoom();
  }

  /** Ends every watch (they finish without error); later watch() calls fail. */
  close(): void {
    this.closed = true;
    for (const w of [...this.watchers]) w.close();
  }

  private async lockWrites(signal: AbortSignal | undefined): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.writeTail;
    this.writeTail = before.then(() => mine);
    await before;
    if (signal?.aborted) {
      release();
      throw new AbortedError(signal.reason);
    }
    const heldFrom = this.clock.monotonicMs();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.stats.lockHeldSeconds += (this.clock.monotonicMs() - heldFrom) / 1000;
      release();
    };
  }

  /** Where a staging layer made now stands (called under the write lock, before staging). */
  private stagingBase(): StagingBase {
    return { after: this.inFlight.at(-1)?.index ?? 0, term: this.pipelineTerm };
  }

  /** The state a writer stages over: the tables and the writes in flight. */
  private top(): Reader {
    return this.inFlight.at(-1)?.layer ?? this.tables;
  }

  /** Resolves once fewer than maxInFlight entries of ours are in flight (called under the lock). */
  private async roomInFlight(signal: AbortSignal | undefined): Promise<void> {
    while (this.inFlight.length >= this.maxInFlight) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal?.addEventListener("abort", onAbort, { once: true });
        this.roomWaiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
    if (signal?.aborted) throw new AbortedError(signal.reason);
  }

  private wakeRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Proposes staged actions (synchronously: the proposer encodes them against the state they were
   * staged over, and a leader appends them, before this returns). If the entry went into the log at
   * once, its layer joins the stack of those in flight, and the caller may let the lock go.
   */
  private propose(actions: StoreAction[], staged: Layer, base: StagingBase, signal: AbortSignal | undefined): Flight {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    this.stats.proposals++;
    this.stats.actions += actions.length;
    const from = this.clock.monotonicMs();
    let appended: { index: number; term: number } | undefined;
    const opts: ProposeOptions = { onAppended: (at) => (appended = at) };
    if (signal !== undefined) opts.signal = signal;
    if (base.after > 0) {
      opts.after = base.after;
      opts.term = base.term;
    }
    const proposed = this.proposer.proposeValue(actions, opts);
    const at = appended;
    const pipelined = at !== undefined && at.index > this.applied;
    if (pipelined) {
      if (this.inFlight.length === 0) this.pipelineTerm = at.term;
      // Entries below it may have landed while it was staged: it now reads through what is left.
      staged.rebase(this.top());
      staged.setVersions(at.index);
      this.inFlight.push({ index: at.index, layer: staged });
    }
    const committed = (async (): Promise<void> => {
      let index: number;
      try {
        ({ index } = await proposed);
      } finally {
        this.stats.commitWaitSeconds += (this.clock.monotonicMs() - from) / 1000;
        if (at !== undefined) this.landed(at.index);
      }
      if (index <= this.applied) {
        // The replication layer applied our entry itself; learn whether it was refused.
        const refused = this.rejections.get(index);
        if (refused !== undefined) throw refused;
        return;
      }
      const result = this.applyCommitted(actions, index, base.after);
      if (result.error !== undefined) throw result.error;
    })();
    return { pipelined, committed };
  }

  /**
   * An entry of ours left flight (applied, refused, or its proposal failed): its layer leaves the
   * stack. A writer still staging over it reads through it to what was below (and its entry, staged
   * `after` this one, is refused wherever this one was).
   */
  private landed(index: number): void {
    const i = this.inFlight.findIndex((f) => f.index === index);
    if (i < 0) return;
    this.inFlight.splice(i, 1);
    this.inFlight[i]?.layer.rebase(this.inFlight[i - 1]?.layer ?? this.tables);
    this.wakeRoom();
  }

  private applyCommitted(actions: LoggedAction[], index: number, after: number): ApplyResult {
    const outcome: ApplyOutcome =
      after > 0 && this.rejections.has(after) ? { ok: false, error: stagedOverRefused(after) } : applyActions(this.tables, actions, index);
    this.applied = index;
    // Our entries up to here are in the tables now (or refused): reads go there.
    while (this.inFlight.length > 0 && this.inFlight[0]!.index <= index) this.landed(this.inFlight[0]!.index);
    if (!outcome.ok) {
      this.rejections.set(index, outcome.error);
      if (this.rejections.size > REMEMBERED_REJECTIONS) this.rejections.delete(this.rejections.keys().next().value!);
      return { applied: false, error: outcome.error };
    }
    this.publish(outcome.changes, index);
    return { applied: true };
  }

  private publish(changes: AppliedChange[], index: number): void {
    if (this.watchers.size === 0) return;
    // A watcher may close itself (overflow, throwing filter) while we deliver.
    const watchers = [...this.watchers];
    for (const c of changes) {
      // One event for every watcher: it is frozen, and so are the objects it carries, unless they
      // hold bytes, which a reader gets as its own copy (expose): then each watcher gets its own.
      // An event per watcher was about 6 % of what a busy leader's young generation kept alive.
      const own = c.entry.hasBytes || c.oldEntry?.hasBytes === true;
      let shared: StoreEvent | undefined;
      for (const w of watchers) {
        if (!w.wants(c.kind)) continue;
        w.push(own ? toEvent(c, index) : (shared ??= Object.freeze(toEvent(c, index))));
      }
    }
  }
}

function stagedOverRefused(after: number): StoreError {
  return new StoreError({ code: "STORE_VERSION_CONFLICT", after }, `update out of sequence: staged over entry ${after}, which was refused`);
}

/** A refusal known only from a snapshot (the entry's own error is not kept there). */
function refusedEarlier(index: number): StoreError {
  return new StoreError({ code: "STORE_VERSION_CONFLICT", index }, `update out of sequence: entry ${index} was refused`);
}

function toEvent(c: AppliedChange, index: number): StoreEvent {
  const object = expose(c.entry);
  if (c.oldEntry === undefined) return { kind: c.kind, action: c.action, object, index };
  return { kind: c.kind, action: c.action, object, oldObject: expose(c.oldEntry as StoredEntry), index };
}

