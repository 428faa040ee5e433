// An in-memory Storage: the snapshot, the hard state and the entries after the snapshot. The
// driver keeps one in front of the durable store (it appends what it persisted), and tests use it
// alone. It is plain data, so it lives in the pure core.

import { RaftError } from "./errors.js";
import {
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage,
  EMPTY_HARD_STATE,
  EntryType,
} from "./types.js";
import { cloneConfState, emptyConfState, limitSize } from "./util.js";

export class MemoryStorage implements Storage {
  hardState: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot;
  /**
   * ents[0] is a placeholder carrying the snapshot's index and term, so term(firstIndex-1) works.
   * Invariant: ents[i].index === ents[0].index + i; ents[0].index === snap.metadata.index.
   */
  private ents: Entry[];

  /** A new cluster: every initial member passes the same voters (a snapshot at index 0, term 0). */
  constructor(initial?: { confState?: ConfState }) {
    const cs = initial?.confState === undefined ? emptyConfState() : cloneConfState(initial.confState);
    this.snap = { metadata: { index: 0, term: 0, confState: cs }, data: new Uint8Array(0) };
    this.ents = [placeholder(0, 0)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new RaftError("RAFT_COMPACTED", `entries from ${lo} are compacted (first index ${offset + 1})`, { lo });
    if (hi > this.lastIndex() + 1) {
      throw new RaftError("RAFT_UNAVAILABLE", `entries up to ${hi - 1} are not available (last index ${this.lastIndex()})`, { hi });
    }
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSizeBytes);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new RaftError("RAFT_COMPACTED", `term of ${i} is compacted`, { index: i });
    if (i - offset >= this.ents.length) throw new RaftError("RAFT_UNAVAILABLE", `term of ${i} is not available`, { index: i });
    return this.ents[i - offset]!.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces everything with the snapshot. An equal index is accepted (a joiner's index-0 configuration). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index < this.snap.metadata.index) {
      throw new RaftError("RAFT_SNAPSHOT_OUT_OF_DATE", `snapshot ${snap.metadata.index} is older than ${this.snap.metadata.index}`, {
        index: snap.metadata.index,
      });
    }
    this.snap = snap;
    this.ents = [placeholder(snap.metadata.index, snap.metadata.term)];
  }

  /** Records a snapshot of the state machine at index (which must be in the log); does not compact. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError("RAFT_SNAPSHOT_OUT_OF_DATE", `snapshot ${index} is not newer than ${this.snap.metadata.index}`, { index });
    }
    if (index > this.lastIndex()) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `snapshot index ${index} is past the last index ${this.lastIndex()}`, { index });
    }
    this.snap = { metadata: { index, term: this.term(index), confState: cloneConfState(confState) }, data };
    return this.snap;
  }

  /**
   * Replaces the data of the snapshot at `index` (the driver drops a large one's bytes once they
   * are durable, and reads them back from disk to send them). False if the snapshot moved on.
   */
  replaceSnapshotData(index: number, data: Uint8Array): boolean {
    if (this.snap.metadata.index !== index) return false;
    this.snap = { metadata: this.snap.metadata, data };
    return true;
  }

  /** Drops entries up to and including index; the entry at index stays as the placeholder. */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) throw new RaftError("RAFT_COMPACTED", `already compacted to ${offset}`, { index });
    if (index > this.lastIndex()) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `compact ${index} is past the last index ${this.lastIndex()}`, { index });
    }
    const rest = this.ents.slice(index - offset + 1);
    this.ents = [placeholder(index, this.ents[index - offset]!.term), ...rest];
  }

  /** Appends entries, truncating any conflicting suffix; entries already compacted are skipped. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const at = ents[0]!.index - this.ents[0]!.index;
    if (at > this.ents.length) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `append at ${ents[0]!.index} leaves a gap after ${this.lastIndex()}`, {
        index: ents[0]!.index,
      });
    }
    if (at === this.ents.length) {
      for (const e of ents) this.ents.push(e);
    } else {
      this.ents = this.ents.slice(0, at).concat(ents);
    }
  }
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}
