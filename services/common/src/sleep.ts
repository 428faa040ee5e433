import { ShoalError } from "./errors.js";

export class AbortedError extends ShoalError<{ code: "ABORTED" }> {
  constructor(reason?: unknown) {
    super({ code: "ABORTED" }, "operation aborted", { cause: reason });
  }
}

/** Sleeps ms milliseconds; rejects with AbortedError as soon as signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of each delay that is randomized, 0..1. */
  jitter?: number;
}

/** Exponential backoff with jitter; call next() for each failed attempt, reset() on success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const factor = this.opts.factor ?? 2;
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * factor ** this.attempt);
    this.attempt++;
    const jitter = this.opts.jitter ?? 0.2;
    return Math.round(base * (1 - jitter + jitter * 2 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Resolves on the next turn of the event loop, after pending I/O and timers: long work that awaits
 * it now and then lets heartbeats, raft ticks and RPCs through (a resolved promise would not).
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
