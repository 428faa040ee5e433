// The not-yet-persisted tail of the log: entries (and possibly an incoming snapshot) that the next
// Ready hands to the driver and that advance() drops once the driver reports them persisted.
// It never reads storage; RaftLog combines the two.

import type { Entry, Snapshot } from "./types.js";

export class Unstable {
  /** An incoming snapshot not yet persisted. Invariant: if set, offset === snapshot.index + 1 at restore. */
  snapshot: Snapshot | undefined = undefined;
  /** Invariant: entries[i].index === offset + i. */
  entries: Entry[] = [];
  /** Index of the first unstable entry; everything below it is in storage (or the snapshot). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first log index if a pending snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  /** The last log index if the unstable part defines it. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  /** The term of index i if the unstable part knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /**
   * Entries up to (i, t) are persisted. Ignored when the entry at i was replaced meanwhile (a
   * different term): the replacement still has to be persisted.
   */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  /** Appends ents, dropping any unstable suffix they conflict with (ents are contiguous). */
  truncateAndAppend(ents: Entry[]): void {
    if (ents.length === 0) return;
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      // In place: a burst of proposals appends one at a time, and Ready copies what it hands out.
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces part of the persisted log too; storage truncates it when these are persisted.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** Entries [lo, hi); the caller checks bounds. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
