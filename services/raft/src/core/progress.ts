// What the leader knows about one follower's log, and how it paces appends to it:
//   probe     - we do not know where the follower's log matches; send one append, then wait
//               for its answer (or a heartbeat answer) before the next;
//   replicate - it matches up to `match`; stream appends optimistically, up to the inflight window;
//   snapshot  - a snapshot is on its way; send nothing until reportSnapshot or an answer.

import type { ProgressStateName, ProgressStatus } from "./types.js";

/** A bounded FIFO of the last index of each append in flight (pipelining window). */
export class Inflights {
  /** Invariant: ascending; length <= size. */
  private readonly items: number[] = [];
  constructor(readonly size: number) {}

  add(lastIndex: number): void {
    this.items.push(lastIndex);
  }

  /** Frees every append whose last index is <= index (acknowledged by a cumulative answer). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.items.length && this.items[n]! <= index) n++;
    if (n > 0) this.items.splice(0, n);
  }

  /** Frees the oldest slot: a heartbeat answer proves the peer alive, so a lost append must not stall it forever. */
  freeFirstOne(): void {
    this.items.shift();
  }

  full(): boolean {
    return this.items.length >= this.size;
  }

  count(): number {
    return this.items.length;
  }

  reset(): void {
    this.items.length = 0;
  }
}

export class Progress {
  /** Highest index known replicated on the peer. Invariant: 0 <= match < next. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressStateName = "probe";
  /** Index of the snapshot in flight; meaningful only in state "snapshot". */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (leader's view); a new peer starts active. */
  recentActive = true;
  /** Probe only: an append was sent and we wait for its answer before sending another. */
  probeSent = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressStateName): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      // The snapshot may have arrived: probe right after it rather than from match.
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to n; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the append at `rejected`, with the follower's hint of where its log may match.
   * Returns false when the rejection is stale (answers an append we no longer care about).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Records that an append ending at lastIndex (with n entries) was sent. */
  sentEntries(n: number, lastIndex: number): void {
    if (this.state === "replicate") {
      if (n > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      recentActive: this.recentActive,
      isLearner: this.isLearner,
      pendingSnapshot: this.pendingSnapshot,
      inflight: this.inflights.count(),
    };
  }
}
