// Watching a process's event loop for blocks. A manager whose loop is held for longer than raft's
// election timeout loses its leadership; one held for longer than the nodes' heartbeat grace
// marks live nodes DOWN. The log line this drives says how long the loop was held and how much
// of that was garbage collection, so an operator can tell a busy manager from a starved heap.
import { PerformanceObserver, performance, type PerformanceEntry } from "node:perf_hooks";

export interface LoopBlock {
  /** How long the loop could not run timers beyond the watch's own interval, in ms. */
  ms: number;
  /** Garbage-collection pauses that began within the block: their total ms and count. */
  gcMs: number;
  gcPauses: number;
  /** The longest single pause among them, in ms. */
  longestGcMs: number;
}

export interface LoopWatchOptions {
  /** A block is reported when a timer fires this much later than due (default 500 ms). */
  thresholdMs?: number;
  /** How often the watch's timer is due (default 100 ms). */
  intervalMs?: number;
  onBlock(block: LoopBlock): void;
}

export interface LoopWatch {
  stop(): void;
  /** Blocks reported so far, and the longest of them in ms. */
  readonly blocks: number;
  readonly longestMs: number;
}

/** GC entries are kept this long: a block's report looks back at most this far. */
const GC_MEMORY_MS = 120_000;

/**
 * Reports each time the event loop was held for longer than `thresholdMs`. A block is reported
 * one interval after it ended, once the observer has delivered the GC entries of that time.
 */
export function watchEventLoop(opts: LoopWatchOptions): LoopWatch {
  const intervalMs = opts.intervalMs ?? 100;
  const thresholdMs = opts.thresholdMs ?? 500;
  let gcs: { start: number; ms: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceEntry[]) gcs.push({ start: e.startTime, ms: e.duration });
  });
  observer.observe({ entryTypes: ["gc"] });
  let last = performance.now();
  let pending: { from: number; to: number } | undefined;
  const state = { blocks: 0, longestMs: 0 };
  const timer = setInterval(() => {
    const now = performance.now();
    if (pending !== undefined) {
      const { from, to } = pending;
      pending = undefined;
      const within = gcs.filter((g) => g.start >= from && g.start <= to);
      const ms = to - from - intervalMs;
      state.blocks++;
      state.longestMs = Math.max(state.longestMs, ms);
      opts.onBlock({
        ms: Math.round(ms),
        gcMs: Math.round(within.reduce((a, g) => a + g.ms, 0)),
        gcPauses: within.length,
        longestGcMs: Math.round(within.reduce((a, g) => Math.max(a, g.ms), 0)),
      });
    }
    if (now - last - intervalMs > thresholdMs) pending = { from: last, to: now };
    last = now;
    if (gcs.length > 0 && gcs[0]!.start < now - GC_MEMORY_MS) gcs = gcs.filter((g) => g.start >= now - GC_MEMORY_MS);
  }, intervalMs);
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      observer.disconnect();
    },
    get blocks() {
      return state.blocks;
    },
    get longestMs() {
      return state.longestMs;
    },
  };
}
