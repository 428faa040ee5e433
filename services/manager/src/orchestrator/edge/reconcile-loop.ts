// The edge shared by every orchestrator component: a leader-only loop that watches the store,
// lets the component mark what the events touched, and runs one reconcile pass at a time until
// nothing is marked. Owns the watch, the serial passes, the wake-up timer (held-back decisions)
// and the retry timer; owns no decisions.
//
// Passes are level-triggered: a pass reads the current state and decides from it alone, so a
// missed or merged event costs at most a redundant pass, and a lost watch (overflow) is repaired by
// starting over from a fresh view.
import { describeError, nextTurn, systemClock, type Clock, type Logger, type TimerHandle } from "@shoal/common";
import type { Kind, MemoryStore, StoreEvent, Watch } from "@shoal/store";

/** After a pass failed (no quorum…), the next attempt comes this much later. */
export const RETRY_AFTER_MS = 1_000;

export interface LoopModules {
  store: MemoryStore;
  logger: Logger;
  clock?: Clock;
}

export interface PassResult {
  /** When a held-back decision falls due. */
  wakeAtMs?: number;
  /** Some decisions conflicted with other writers: decide again (after RETRY_AFTER_MS). */
  retry?: boolean;
  /** The pass bounded its work and left marks: run the next one at once (after a turn of the event loop). */
  more?: boolean;
}

/**
 * Decides `ids` in order until `budget` tasks were read (`decide` says how many it read; the first
 * id is always decided) and returns the ids left for the next pass.
 */
export function decideWithinBudget(ids: readonly string[], budget: number, decide: (id: string) => number): string[] {
  let read = 0;
  for (const [i, id] of ids.entries()) {
    if (read >= budget) return ids.slice(i);
    read += decide(id);
  }
  return [];
}

// Whether a component's pass already started in this turn of the event loop (reset by an
// immediate queued when it is set, which runs in the next turn's check phase).
let passThisTurn = false;

/**
 * Waits for a turn of the event loop in which no other component's pass has started. Each pass
 * reads up to a budget of tasks; the passes of half a dozen components run back to back in one
 * check phase otherwise, and on a new leader at 100,000 tasks that held the event loop (timers:
 * raft ticks, the dispatcher's sweeps) for seconds. One pass per turn lets timers and I/O run
 * between them.
 */
export async function passTurn(): Promise<void> {
  for (;;) {
    await nextTurn();
    if (!passThisTurn) break;
  }
  passThisTurn = true;
  setImmediate(() => {
    passThisTurn = false;
  });
}

export abstract class ReconcileLoop {
  protected readonly store: MemoryStore;
  protected readonly log: Logger;
  protected readonly clock: Clock;
  private watch: Watch | undefined;
  private stopped = true;
  private running: Promise<void> | undefined;
  private wanted = false;
  private wake: { atMs: number; timer: TimerHandle } | undefined;
  private retryTimer: TimerHandle | undefined;
  private consuming: Promise<void> | undefined;

  protected constructor(component: string, modules: LoopModules) {
    this.store = modules.store;
    this.log = modules.logger.child({ component });
    this.clock = modules.clock ?? systemClock;
  }

  /** The kinds whose events the component reacts to. */
  protected abstract readonly kinds: Kind[];
  /** Everything may have changed (start, lost watch, a timer): mark it all. */
  protected abstract markAll(): void;
  /** Marks what the event touched; false when it is irrelevant. */
  protected abstract observe(event: StoreEvent): boolean;
  /** Decides on what is marked (clearing the marks) and commits. */
  protected abstract pass(): Promise<PassResult>;

  /** Starts the loop (leader only). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.subscribe();
  }

  /** Stops the loop; resolves once the pass in flight (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    this.wake?.timer.cancel();
    this.wake = undefined;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    await this.running;
    await this.consuming;
  }

  /**
   * Lets every event already delivered mark its part (a pass that decides inside a store batch
   * calls this once it holds the write lock: what committed while it waited is then marked).
   */
  protected settleEvents(): Promise<void> {
    return nextTurn();
  }

  /** No pass is running or wanted and every delivered event has been seen. */
  isIdle(): boolean {
    return this.running === undefined && !this.wanted && (this.watch?.backlog ?? 0) === 0;
  }

  /** Resolves when the loop is idle across two event-loop turns (tests). */
  async whenIdle(): Promise<void> {
    for (;;) {
      await nextTurn();
      if (!this.isIdle()) continue;
      await nextTurn();
      if (this.isIdle()) return;
    }
  }

  private subscribe(): void {
    const { watch } = this.store.viewAndWatch({ kinds: this.kinds }, () => this.markAll());
    this.watch = watch;
    this.consuming = this.consume(watch);
    this.kick();
  }

  private async consume(watch: Watch): Promise<void> {
    try {
      for await (const event of watch) if (this.observe(event)) this.kick();
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: describeError(err) }, "watch lost; starting over from a fresh view");
      this.subscribe();
    }
  }

  private kick(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    while (this.wanted && !this.stopped) {
      // Let every event already delivered mark its part first, so that a burst of events (a
      // batch of thousands of task updates) costs one pass, not one pass per event; and let no
      // other component's pass run in the same turn.
      await passTurn();
      if (this.stopped) return;
      this.wanted = false;
      let result: PassResult;
      try {
        result = await this.pass();
      } catch (err) {
        this.log.error({ err: describeError(err) }, "reconcile pass failed; retrying");
        result = { retry: true };
      }
      if (this.stopped) return;
      if (result.wakeAtMs !== undefined) this.wakeAt(result.wakeAtMs);
      if (result.retry === true) this.retrySoon();
      if (result.more === true) this.wanted = true;
    }
  }

  private wakeAt(atMs: number): void {
    if (this.wake !== undefined && this.wake.atMs <= atMs) return;
    this.wake?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.wake = undefined;
      this.markAll();
      this.kick();
    }, Math.max(0, atMs - this.clock.now()));
    this.wake = { atMs, timer };
  }

  private retrySoon(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.markAll();
      this.kick();
    }, RETRY_AFTER_MS);
  }
}
