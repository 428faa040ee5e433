// The log as Raft sees it: persisted entries (Storage) followed by the unstable tail, plus the
// committed and applied cursors. It decides nothing about roles; raft.ts drives it.

import { RaftError } from "./errors.js";
import type { Entry, Snapshot, Storage } from "./types.js";
import { Unstable } from "./unstable.js";
import { limitSize } from "./util.js";

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known committed on a quorum. Invariant: applied <= committed <= lastIndex(); never decreases. */
  committed: number;
  /** Highest index the driver has applied (reported through advance). Invariant: applied <= committed. */
  applied: number;
  /**
   * Highest committed index handed to the driver in a Ready that is not yet advanced.
   * Invariant: applied <= applying <= committed.
   */
  applying: number;

  constructor(storage: Storage) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index known to be on disk: the leader counts itself in a quorum only up to here. */
  lastStableIndex(): number {
    return Math.min(this.lastIndex(), this.unstable.offset - 1);
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term at i, or undefined when i is compacted or past the end. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err: unknown) {
      if (err instanceof RaftError && (err.code === "RAFT_COMPACTED" || err.code === "RAFT_UNAVAILABLE")) return undefined;
      throw err;
    }
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Is a log ending at (lastIndex, term) at least as up to date as ours (§5.4.1)? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * A follower's append: if our log has (index, logTerm), add ents (truncating a conflicting
   * suffix) and commit up to min(committed, last new index). Returns the last new index, or
   * undefined when the log does not match at index.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftError("RAFT_LOG_CORRUPT", `entry ${ci} conflicts with committed entry (committed ${this.committed})`, { index: ci });
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    // Entries past lastNew may be stale leftovers of an old leader: never commit beyond lastNew.
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends (truncating a conflicting unstable/stable suffix); returns the new last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new RaftError("RAFT_LOG_CORRUPT", `append after ${after} would overwrite committed ${this.committed}`, { index: after });
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry whose term differs from ours (or that we lack); 0 if none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term, with that term: where the leader should
   * probe next so a whole conflicting term is skipped in one round trip. Returns term 0 when
   * the answer is unknown (compacted).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = Math.min(index, this.lastIndex()); i >= 0; i--) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
    return [0, 0];
  }

  /** Entries from lo to the end, at most maxSizeBytes (but at least one). Throws RAFT_COMPACTED. */
  entries(lo: number, maxSizeBytes: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxSizeBytes);
  }

  /** Entries [lo, hi) across storage and unstable, size-limited. Throws RAFT_COMPACTED below firstIndex. */
  slice(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new RaftError("RAFT_COMPACTED", `entries from ${lo} are compacted (first index ${first})`, { lo });
    const last = this.lastIndex();
    if (hi > last + 1) throw new RaftError("RAFT_UNAVAILABLE", `slice [${lo}, ${hi}) is out of bounds (last ${last})`, { lo, hi });
    let ents: Entry[] = [];
    const off = this.unstable.offset;
    if (lo < off) {
      const stableHi = Math.min(hi, off);
      ents = this.storage.entries(lo, stableHi, maxSizeBytes);
      // Storage already cut at the size limit: do not continue into unstable.
      if (ents.length < stableHi - lo) return ents;
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSizeBytes);
  }

  /** Moves commit forward (never backward). */
  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    if (toCommit > this.lastIndex()) {
      throw new RaftError("RAFT_LOG_CORRUPT", `commit ${toCommit} is past the last index ${this.lastIndex()}`, { index: toCommit });
    }
    this.committed = toCommit;
  }

  /** Leader commit rule: only an entry of the current term is committed by counting (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0 || i <= this.applied) return;
    if (i > this.committed) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `applied ${i} is past committed ${this.committed}`, { index: i });
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  /** True while committed entries are out with the driver (between ready() and advance()). */
  isApplying(): boolean {
    return this.applying > this.applied;
  }

  /** Committed entries not yet applied; none while a snapshot is pending (it must be applied first). */
  nextCommittedEntries(maxSizeBytes: number): Entry[] {
    if (this.unstable.snapshot !== undefined) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, maxSizeBytes);
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstable.snapshot !== undefined) return false;
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  /** The newest snapshot: a pending incoming one, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }
}
