// Watch streams. Each watcher has its own bounded queue filled synchronously at commit time, in
// commit order; the store never waits for a watcher. A watcher that falls more than queueLimit
// events behind is closed with STORE_WATCH_OVERFLOW: it has lost its place and must start over
// from viewAndWatch (a snapshot plus a fresh watch), as swarmkit's watchers do.
import type { StoreEvent } from "./actions.js";
import { StoreError } from "./errors.js";
import type { Kind } from "./objects/kinds.js";

export interface WatchOptions {
  /** Only these kinds (all when omitted). */
  kinds?: Kind[];
  /** Only events for which this returns true. A filter that throws closes the watch with its error. */
  filter?: (event: StoreEvent) => boolean;
  /** Ends the watch: the iterator finishes (done) without an error. */
  signal?: AbortSignal;
  /** Events that may wait unread before the watch is closed; default from the store. */
  queueLimit?: number;
}

type Waiter = { resolve: (r: IteratorResult<StoreEvent>) => void; reject: (err: unknown) => void };

export class Watch implements AsyncIterableIterator<StoreEvent> {
  private queue: StoreEvent[] = [];
  private head = 0;
  private waiter: Waiter | undefined;
  private state: "open" | "done" | "failed" = "open";
  private failure: unknown;
  private readonly kinds: ReadonlySet<Kind> | undefined;
  private readonly onAbort = (): void => this.finish();

  constructor(
    private readonly opts: WatchOptions,
    private readonly queueLimit: number,
    private readonly onClose: (w: Watch) => void,
  ) {
    this.kinds = opts.kinds === undefined ? undefined : new Set(opts.kinds);
    if (opts.signal?.aborted) this.finish();
    else opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  get closed(): boolean {
    return this.state !== "open";
  }

  /** Number of events queued and not yet read. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  wants(kind: Kind): boolean {
    return this.state === "open" && (this.kinds === undefined || this.kinds.has(kind));
  }

  /** Called by the store at commit time; never blocks. */
  push(event: StoreEvent): void {
    if (this.state !== "open") return;
    try {
      if (this.opts.filter !== undefined && !this.opts.filter(event)) return;
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: event, done: false });
      return;
    }
    if (this.backlog >= this.queueLimit) {
      this.fail(
        new StoreError(
          { code: "STORE_WATCH_OVERFLOW", queueLimit: this.queueLimit },
          `watcher fell behind by more than ${this.queueLimit} events and was closed`,
        ),
      );
      return;
    }
    this.queue.push(event);
  }

  next(): Promise<IteratorResult<StoreEvent>> {
    if (this.state === "failed") {
      // The error is reported once; the iterator is finished after that.
      const err = this.failure;
      this.state = "done";
      this.failure = undefined;
      return Promise.reject(err);
    }
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.state === "done") return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<StoreEvent>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StoreEvent> {
    return this;
  }

  /** Ends the watch; unread events are dropped. */
  close(): void {
    this.finish();
  }

  /** Ends the watch with an error (the next read throws it). */
  fail(err: unknown): void {
    if (this.state !== "open") return;
    this.detach();
    this.queue = [];
    this.head = 0;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      this.state = "done";
      w.reject(err);
      return;
    }
    this.state = "failed";
    this.failure = err;
  }

  private finish(): void {
    if (this.state !== "open") return;
    this.detach();
    this.state = "done";
    this.queue = [];
    this.head = 0;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  private detach(): void {
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    this.onClose(this);
  }
}
