// What the store replicates, and the one thing it knows about replication: a Proposer. The store
// never imports Raft; the manager wires a Raft-backed Proposer in, tests use none or LocalProposer.
import type { Kind, ObjectOf, StoreObject } from "./objects/kinds.js";

export type StoreActionType = "create" | "update" | "delete";

/**
 * One change. `object` is complete, timestamps included (taken from the leader's clock when the
 * transaction ran), so that every replica applies it identically; its meta.version.index is the
 * version the writer read (0 for creates) and is replaced on apply by the entry's raft index.
 */
export interface StoreAction {
  action: StoreActionType;
  kind: Kind;
  object: StoreObject;
}

/**
 * An update as the raft log may carry it (patch.ts): the version the writer read, the top-level
 * fields that differ from it (`set`, meta aside) or are gone (`unset`), the writer's updatedAt,
 * and the writer's key order when rebuilding in the read object's order would not give it.
 * Replicas apply it as the complete update it stands for; one whose object is not at `read`
 * refuses it as a version conflict, as it would the update. Only the codec makes patches.
 */
export interface StorePatch {
  action: "patch";
  kind: Kind;
  id: string;
  read: number;
  updatedAt?: number;
  set: Record<string, unknown>;
  unset?: string[];
  keys?: string[];
}

/** What a raft entry holds: actions, some updates possibly as patches. */
export type LoggedAction = StoreAction | StorePatch;

export interface ProposeOptions {
  signal?: AbortSignal;
  /**
   * Pipelining (MemoryStore, "Pipelined writes"). The index of the entry of this store's that the
   * actions were staged over while it was in flight, 0 or absent for none: it goes in the entry
   * (codec.ts), and every replica refuses the entry if that one was refused.
   */
  after?: number;
  /**
   * With `after`: append only as the leader of this term, and never forward: the entry `after`
   * names is in this leader's log of that term, and in no other member's for sure.
   */
  term?: number;
  /**
   * Called before proposeValue returns if the entry went into this member's raft log at once (a
   * leader's own proposal), with where. The store then lets the next write stage over it.
   */
  onAppended?: (at: { index: number; term: number }) => void;
}

/**
 * Replicates store changes. Contract with the store:
 * - resolve with the log index of the committed entry holding `actions`, and only once every entry
 *   before it has been applied to the store (through MemoryStore.applyStoreActions);
 * - the entry itself may be applied by the replication layer through applyStoreActions before the
 *   promise resolves, or left to the store, which applies it when the promise resolves;
 * - reject if the changes may not be committed (not leader, no quorum, aborted): the store then
 *   changes nothing;
 * - `actions` hold the store's private, frozen objects (what a transaction staged): the proposer
 *   must not change them, and may hand them back to applyStoreActions as `owned`;
 * - encode `opts.after` in the entry (MemoryStore.encodeActions does) and pass it back to
 *   applyStoreActions; honour `opts.term`, and call `opts.onAppended` only for an entry appended
 *   to this member's log before proposeValue returned.
 */
export interface Proposer {
  proposeValue(actions: StoreAction[], opts?: ProposeOptions): Promise<{ index: number }>;
}

/** A proposer without replication: increasing indexes, and a record of every proposal (tests). */
export class LocalProposer implements Proposer {
  readonly proposals: StoreAction[][] = [];
  private nextIndex: number;

  constructor(firstIndex = 1) {
    this.nextIndex = firstIndex;
  }

  proposeValue(actions: StoreAction[], opts: ProposeOptions = {}): Promise<{ index: number }> {
    opts.signal?.throwIfAborted();
    this.proposals.push(actions);
    return Promise.resolve({ index: this.nextIndex++ });
  }
}

/**
 * A change as watchers see it, delivered after commit, in commit order. It is frozen and may be
 * the very object other watchers got: read it, never change it.
 */
export interface StoreEvent<K extends Kind = Kind> {
  readonly kind: K;
  readonly action: StoreActionType;
  /** The object after the change; for deletes, the object as it was when deleted. */
  readonly object: ObjectOf<K>;
  /** The object before an update. */
  readonly oldObject?: ObjectOf<K>;
  /** Raft index of the entry that made the change (the object's new meta.version.index). */
  readonly index: number;
}
