// What the driver applies committed entries to. Declared here, where it is consumed; the manager's
// store and the test KV implement it.
import type { Entry } from "../core/types.js";

/** A state machine's snapshot: its bytes, or the parts that make them when joined. */
export type SnapshotData = Uint8Array | readonly Uint8Array[];

export interface StateMachine {
  /**
   * Committed normal entries with data, in index order, exactly once per process life after
   * restore. Empty entries (a new leader's no-op) are not passed. A returned promise is awaited
   * before the next entry; return nothing to stay on the fast path.
   */
  apply(entry: Entry): void | Promise<void>;
  /**
   * The state at the last applied index. Called synchronously at that index: the state must be
   * captured before it returns. A returned promise may finish encoding it later, in the
   * background, while the driver goes on applying entries. An array is the data in parts, to be
   * joined (the driver copies them into its envelope, so a large state is not joined twice).
   */
  snapshot(): SnapshotData | Promise<SnapshotData>;
  /** Replaces the whole state with a snapshot's data. */
  restore(data: Uint8Array): void | Promise<void>;
}
