// Task assignments (leader only, DESIGN §5): every node's Assignments stream and its agent's status
// reports. One store watch on tasks feeds all streams (fanned out by nodeId), so 1,000 connected
// nodes cost one watch, not 1,000. A stream starts with the COMPLETE set of the node's tasks
// (nodeId = node, observed state ≥ ASSIGNED) and continues with INCREMENTAL changes, gathered for
// up to `batchWindowMs` (swarmkit waits 100 ms too) so that a node gets its share of a scheduling
// pass in one message rather than one per raft entry (each message costs the agent a turn of work,
// a local write and a status report); all streams end when leadership is lost or the shared watch
// fails, and agents resync with the new leader.
// Status reports (UpdateTaskStatus calls, or ReportTaskStatus streams: a message costs the leader
// a fraction of a call, and agents send about one report per task) only move a task's observed
// state forward, and only for the reporting node's own tasks; they are written in few store
// batches. It must not change desired state or schedule.
import * as grpc from "@grpc/grpc-js";
import { ShoalError, describeError, systemClock, type Clock, type Logger, type TimerHandle } from "@shoal/common";
import { StatusError, controlpb, serveCallStream } from "@shoal/proto";
import { TaskState, type StoreEvent, type Task, type TaskStatus } from "@shoal/store";
import type { ReplicatedStore } from "../replication/index.js";

export interface AssignmentsModules {
  rs: ReplicatedStore;
  logger: Logger;
  clock?: Clock;
}

export interface AssignmentsOptions {
  /**
   * How long changes gather before they go out as INCREMENTAL messages, from the first change
   * (default 100 ms). 0: as soon as the commits of a burst are routed.
   */
  batchWindowMs?: number;
  /**
   * Pacing under load: the INCREMENTAL messages per second that all streams together should stay
   * near (default 1,000; 0 turns pacing off). Each stream then waits at least (streams that sent a
   * message in the last second) / budget seconds after its last message, up to `maxPaceMs`, while
   * its changes gather. Below MIN_PACE_MS (about a hundred busy streams at the default) nothing
   * waits longer than the batch window.
   */
  messageBudgetPerSec?: number;
  /** The longest a stream's changes wait behind its last message (default 1,000 ms). */
  maxPaceMs?: number;
}

export const DEFAULT_ASSIGNMENT_BATCH_WINDOW_MS = 100;
export const DEFAULT_MESSAGE_BUDGET_PER_SEC = 1000;
export const DEFAULT_MAX_PACE_MS = 1000;
/** A pace shorter than this is not applied: the batch window already spaces messages that much. */
export const MIN_PACE_MS = 100;
/** Streams count as busy for the pace while they sent a message within this long. */
const PACE_BUCKET_MS = 1000;

/** What the INCREMENTAL messages carried since this manager started (metrics). */
export interface AssignmentStats {
  /** INCREMENTAL messages sent, to all streams. */
  messages: number;
  /** Task changes and removals those messages carried. */
  changes: number;
  /** The pace a stream that sent a message now waits behind it (0: not paced), ms. */
  paceMs: number;
  /** Status reports the agents sent (UpdateTaskStatus calls and ReportTaskStatus messages). */
  statusReports: number;
  /** Task status updates those reports carried. */
  statusUpdates: number;
}

export type AssignmentsErrorCode = "ASSIGNMENTS_STATUS_INVALID";
export class AssignmentsError extends ShoalError<{ code: AssignmentsErrorCode } & Record<string, unknown>> {}

/** One open Assignments stream. */
interface Subscriber {
  nodeId: string;
  /** Events at or below this raft index are already in the COMPLETE set. */
  fromIndex: number;
  sequence: number;
  /** Changes waiting for the next INCREMENTAL message: task, or undefined for removed. */
  pending: Map<string, Task | undefined>;
  /** When the last INCREMENTAL message went out (monotonic ms). */
  lastSentMs: number | undefined;
  /** Set while the stream's changes wait out its pace. */
  paceTimer: TimerHandle | undefined;
  send(msg: controlpb.IAssignmentsMessage): void;
  end(): void;
}

/** A stream waiting for its COMPLETE set (serve). */
interface Opening {
  nodeId: string;
  call: grpc.ServerWritableStream<controlpb.IAssignmentsRequest, controlpb.AssignmentsMessage>;
  /** The caller went away before it was opened. */
  gone: boolean;
}

/** How long streams are opened for in one turn of the event loop (serve). */
export const OPEN_BUDGET_MS = 10;
/** How long INCREMENTAL messages are built for in one turn of the event loop (flushAll). */
export const FLUSH_BUDGET_MS = 10;

/**
 * Work done in slices of at most `budgetMs` per turn of the event loop: the first item of a turn
 * always runs, and the next turn is booked for the rest. Between slices the loop reads its sockets
 * and fires its timers, raft's ticks among them: a leader that did a thousand nodes' work in one
 * stretch kept its heartbeats from its followers for the whole of it.
 */
class TurnSlices {
  private endsAt: number | undefined;
  private booked = false;

  constructor(
    private readonly clock: Clock,
    private readonly budgetMs: number,
    private readonly more: () => boolean,
    private readonly one: () => void,
  ) {}

  run(): void {
    if (this.booked) return;
    let fresh = false;
    if (this.endsAt === undefined) {
      fresh = true;
      this.endsAt = this.clock.monotonicMs() + this.budgetMs;
      // Runs in this turn's check phase, before a continuation booked below: that one starts afresh.
      setImmediate(() => {
        this.endsAt = undefined;
      });
    }
    while (this.more()) {
      if (!fresh && this.clock.monotonicMs() >= this.endsAt) {
        this.booked = true;
        setImmediate(() => {
          if (!this.booked) return;
          this.booked = false;
          this.run();
        });
        return;
      }
      fresh = false;
      this.one();
    }
  }

  /** Forgets a booked turn (the work it would have done is gone). */
  cancel(): void {
    this.booked = false;
  }
}

interface StatusBatch {
  nodeId: string;
  updates: { taskId: string; status: TaskStatus }[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

const decoder = new TextDecoder();

/** Whether a task belongs in a node's assignment set. */
function assignedTo(task: Task | undefined, nodeId: string): boolean {
  return task !== undefined && task.nodeId === nodeId && task.status.state >= TaskState.ASSIGNED;
}

/**
 * Whether the agent would see a change: anything but the observed status (which it reported
 * itself) and meta. Store updates copy the task and keep the unchanged fields' values, so a field
 * whose value is the same object is unchanged; only fields whose value was replaced are compared
 * by content (a status report, most updates here, compares nothing).
 */
function agentViewChanged(old: Task, task: Task): boolean {
  const before = old as unknown as Record<string, unknown>;
  const after = task as unknown as Record<string, unknown>;
  // Every key of either (one event per status report: no key list is built for it).
  for (const k in after) if (fieldChanged(k, before, after)) return true;
  for (const k in before) if (!(k in after) && fieldChanged(k, before, after)) return true;
  return false;
}

function fieldChanged(k: string, before: Record<string, unknown>, after: Record<string, unknown>): boolean {
  if (k === "status" || k === "meta") return false;
  const a = before[k];
  const b = after[k];
  return a !== b && JSON.stringify(a) !== JSON.stringify(b);
}

function encodeTask(task: Task): Uint8Array {
  // Buffer.from takes small strings from Node's pool: a third cheaper than TextEncoder here.
  return Buffer.from(JSON.stringify(task), "utf8");
}

/**
 * A round's reports with only the latest status of each task from each node (the furthest state;
 * the later report of equal ones): a task that went ACCEPTED … RUNNING between two rounds is one
 * write, not one per step. Intermediate states would be overwritten in the same entry anyway.
 */
export function latestStatuses(round: readonly Pick<StatusBatch, "nodeId" | "updates">[]): { nodeId: string; taskId: string; status: TaskStatus }[] {
  const latest = new Map<string, { nodeId: string; taskId: string; status: TaskStatus }>();
  for (const { nodeId, updates } of round) {
    for (const { taskId, status } of updates) {
      const key = `${nodeId}\0${taskId}`;
      const seen = latest.get(key);
      if (seen === undefined || status.state >= seen.status.state) latest.set(key, { nodeId, taskId, status });
    }
  }
  return [...latest.values()];
}

export class TaskAssignments {
  private readonly log: Logger;
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  /** Open ReportTaskStatus streams, ended with leadership. */
  private readonly statusStreams = new Set<{ end(): void }>();
  private watchAbort: AbortController | undefined;
  private statusQueue: StatusBatch[] = [];
  private flushing = false;
  private readonly clock: Clock;
  private readonly batchWindowMs: number;
  private readonly messageBudgetPerSec: number;
  private readonly maxPaceMs: number;
  /** Streams that sent in the current PACE_BUCKET_MS, and how many sent in the one before. */
  private sentThisBucket = new Set<Subscriber>();
  private sentLastBucket = 0;
  private bucketEndsMs = 0;
  private messagesSent = 0;
  private changesSent = 0;
  private statusReports = 0;
  private statusUpdates = 0;
  /** The pending flush of INCREMENTAL messages, while changes gather. */
  private flushTimer: TimerHandle | undefined;
  /** Streams waiting for their COMPLETE set, in arrival order. */
  private openings: Opening[] = [];
  private readonly opener: TurnSlices;
  /** Streams with changes to send, in the order of their first change. */
  private readonly dirty = new Set<Subscriber>();
  private readonly flusher: TurnSlices;

  constructor(
    private readonly modules: AssignmentsModules,
    opts: AssignmentsOptions = {},
  ) {
    this.log = modules.logger.child({ component: "assignments" });
    this.clock = modules.clock ?? systemClock;
    this.batchWindowMs = opts.batchWindowMs ?? DEFAULT_ASSIGNMENT_BATCH_WINDOW_MS;
    this.messageBudgetPerSec = opts.messageBudgetPerSec ?? DEFAULT_MESSAGE_BUDGET_PER_SEC;
    this.maxPaceMs = opts.maxPaceMs ?? DEFAULT_MAX_PACE_MS;
    this.opener = new TurnSlices(
      this.clock,
      OPEN_BUDGET_MS,
      () => this.openings.length > 0,
      () => {
        const o = this.openings.shift()!;
        if (!o.gone) this.open(o.nodeId, o.call);
      },
    );
    this.flusher = new TurnSlices(
      this.clock,
      FLUSH_BUDGET_MS,
      () => this.dirty.size > 0,
      () => {
        const sub = this.dirty.values().next().value!;
        this.dirty.delete(sub);
        this.flush(sub);
      },
    );
  }

  /** Called on gaining leadership: opens the shared task watch. */
  start(): void {
    if (this.watchAbort !== undefined) return;
    const ac = new AbortController();
    this.watchAbort = ac;
    const watch = this.modules.rs.store.watch({ kinds: ["task"], signal: ac.signal });
    void (async () => {
      for await (const ev of watch) {
        if (!this.route(ev as StoreEvent<"task">)) continue;
        if (this.batchWindowMs > 0) {
          this.flushTimer ??= this.clock.setTimeout(() => {
            this.flushTimer = undefined;
            this.flushAll();
          }, this.batchWindowMs);
        } else if (watch.backlog === 0) {
          // Coalesce: one INCREMENTAL message per stream per burst of commits.
          this.flushAll();
        }
      }
    })()
      .catch((err: unknown) => {
        if (!ac.signal.aborted) this.log.warn({ err: describeError(err) }, "assignments: task watch failed; ending streams so agents resync");
      })
      .finally(() => {
        if (this.watchAbort !== ac) return;
        // The watch ended without stop() (overflow, store closed): streams would miss changes.
        this.endAll();
        this.watchAbort = undefined;
        if (this.modules.rs.isLeader()) this.start();
      });
  }

  /** Called on losing leadership: ends every stream (agents reconnect to the new leader). */
  stop(): void {
    const ac = this.watchAbort;
    this.watchAbort = undefined;
    ac?.abort();
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.endAll();
  }

  /**
   * Serves one node's ReportTaskStatus stream. Each request is written as an UpdateTaskStatus call
   * would be, then acked with its sequence number; a refusal for good (not the node's task, a
   * malformed report) is acked with its error, so the agent drops that report and goes on. Any
   * other failure (leadership lost, no quorum) ends the stream with it: the agent resends what was
   * not acked on a new stream, to whichever manager leads then.
   */
  serveStatus(nodeId: string, call: grpc.ServerDuplexStream<controlpb.UpdateTaskStatusRequest, controlpb.TaskStatusAck>): void {
    const handle: { end(): void } = serveCallStream(
      call,
      async (req) => {
        const sequence = req.sequence;
        try {
          await this.updateTaskStatus(nodeId, req);
          return controlpb.TaskStatusAck.create({ sequence });
        } catch (err) {
          if (err instanceof ShoalError && !err.temporary) return controlpb.TaskStatusAck.create({ sequence, errorCode: err.code, errorMessage: err.message });
          throw err;
        }
      },
      { log: this.log, onClose: (): void => void this.statusStreams.delete(handle) },
    );
    this.statusStreams.add(handle);
  }

  /** Number of open streams (metrics, tests). */
  get streamCount(): number {
    let n = 0;
    for (const set of this.subscribers.values()) n += set.size;
    return n;
  }

  /**
   * Serves one node's stream: its COMPLETE set, then INCREMENTAL changes until it or leadership
   * ends. Streams are opened in arrival order for at most OPEN_BUDGET_MS of each turn of the event
   * loop; the rest wait for the next turn. After a leader change every node opens its stream at
   * once: a thousand COMPLETE sets of a hundred tasks each, encoded in one stretch, held a new
   * leader's event loop for seconds (raft ticks, heartbeats and the DOWN sweep all waited).
   */
  serve(nodeId: string, call: grpc.ServerWritableStream<controlpb.IAssignmentsRequest, controlpb.AssignmentsMessage>): void {
    // A stream may arrive before the leadership listener started us: the watch must exist first.
    this.start();
    const opening: Opening = { nodeId, call, gone: false };
    const gone = (): void => {
      opening.gone = true;
    };
    call.on("cancelled", gone);
    call.on("close", gone);
    call.on("error", gone);
    this.openings.push(opening);
    this.opener.run();
  }

  private open(nodeId: string, call: grpc.ServerWritableStream<controlpb.IAssignmentsRequest, controlpb.AssignmentsMessage>): void {
    const store = this.modules.rs.store;
    // The view and fromIndex are taken in one synchronous step: no commit falls between them.
    const tasks = store.view((tx) => tx.find("task", { nodeId })).filter((t) => assignedTo(t, nodeId));
    const sub: Subscriber = {
      nodeId,
      fromIndex: store.appliedIndex,
      sequence: 0,
      pending: new Map(),
      lastSentMs: undefined,
      paceTimer: undefined,
      send: (msg) => call.write(controlpb.AssignmentsMessage.create(msg)),
      end: () => call.end(),
    };
    let set = this.subscribers.get(nodeId);
    if (set === undefined) this.subscribers.set(nodeId, (set = new Set()));
    set.add(sub);
    const drop = (): void => this.remove(sub);
    call.on("cancelled", drop);
    call.on("close", drop);
    call.on("error", drop);
    sub.sequence = 1;
    sub.send({ type: controlpb.AssignmentsMessage.Type.COMPLETE, sequence: 1, tasks: tasks.map(encodeTask) });
    this.log.debug({ nodeId, tasks: tasks.length }, "assignments: stream opened");
  }

  /** Queues a node's status reports and resolves once they are written (or ignored as stale). */
  async updateTaskStatus(nodeId: string, req: controlpb.IUpdateTaskStatusRequest): Promise<void> {
    this.statusReports++;
    this.statusUpdates += req.updates?.length ?? 0;
    const updates: StatusBatch["updates"] = [];
    for (const u of req.updates ?? []) {
      const taskId = u.taskId ?? "";
      let status: TaskStatus;
      try {
        status = JSON.parse(decoder.decode(u.status ?? new Uint8Array())) as TaskStatus;
      } catch {
        throw new AssignmentsError({ code: "ASSIGNMENTS_STATUS_INVALID", taskId }, `task ${taskId}: the status is not valid JSON`);
      }
      if (taskId === "" || typeof status !== "object" || status === null || typeof status.state !== "number") {
        throw new AssignmentsError({ code: "ASSIGNMENTS_STATUS_INVALID", taskId }, `task ${taskId || "(no id)"}: a status update needs a task id and a state`);
      }
      if (status.state <= TaskState.ASSIGNED) {
        throw new AssignmentsError({ code: "ASSIGNMENTS_STATUS_INVALID", taskId }, `task ${taskId}: agents report states after ASSIGNED only (got ${TaskState[status.state] ?? status.state})`);
      }
      updates.push({ taskId, status });
    }
    const store = this.modules.rs.store;
    const foreign = store.view((tx) => updates.map((u) => tx.get("task", u.taskId)).find((t) => t !== undefined && t.nodeId !== nodeId));
    if (foreign !== undefined) {
      throw new StatusError(
        { code: "ASSIGNMENTS_PERMISSION_DENIED", grpcStatus: grpc.status.PERMISSION_DENIED },
        `permission denied: task ${foreign.id} is not assigned to node ${nodeId}`,
      );
    }
    if (updates.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.statusQueue.push({ nodeId, updates, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      // Reports of the same turn share the first round.
      setImmediate(() => void this.flushStatus());
    });
  }

  // Writes queued reports in store batches; a round takes what is queued once the batch holds the
  // store's write lock, so reports that arrived while other components were writing join it (fewer,
  // fuller raft entries) instead of waiting for a round of their own.
  private async flushStatus(): Promise<void> {
    while (this.statusQueue.length > 0) {
      let round: StatusBatch[] = [];
      try {
        await this.modules.rs.store.batch(async (batch) => {
          round = this.statusQueue.splice(0);
          for (const { nodeId, taskId, status } of latestStatuses(round)) {
            await batch.update((tx) => {
              const cur = tx.get("task", taskId);
              // Deleted, reassigned or stale (observed states only move forward): ignore.
              if (cur === undefined || cur.nodeId !== nodeId) return;
              if (status.state < cur.status.state) return;
              if (status.state === cur.status.state && JSON.stringify(status) === JSON.stringify(cur.status)) return;
              tx.update("task", { ...cur, status });
            });
          }
        });
        for (const item of round) item.resolve();
      } catch (err) {
        // Reports not yet taken stay queued for the next round.
        for (const item of round) item.reject(err);
      }
    }
    // Cleared in the same step as the empty-queue check, so no report can be left behind.
    this.flushing = false;
  }

  /** Queues the event's change on its nodes' streams; whether any stream got something to send. */
  private route(ev: StoreEvent<"task">): boolean {
    const task = ev.object;
    const old = ev.oldObject;
    // The task's node, and the node it left if it moved.
    const queued = this.routeTo(ev, task.nodeId);
    if (old === undefined || old.nodeId === "" || old.nodeId === task.nodeId) return queued;
    return this.routeTo(ev, old.nodeId) || queued;
  }

  /** Queues the event's change, if the node's agent sees one, on that node's streams. */
  private routeTo(ev: StoreEvent<"task">, nodeId: string): boolean {
    const set = nodeId === "" ? undefined : this.subscribers.get(nodeId);
    if (set === undefined) return false;
    const task = ev.object;
    const old = ev.oldObject;
    const now = ev.action !== "delete" && assignedTo(task, nodeId);
    const before = ev.action === "create" ? false : ev.action === "delete" ? assignedTo(task, nodeId) : assignedTo(old, nodeId);
    let change: "update" | "remove" | undefined;
    if (now && !before) change = "update";
    else if (!now && before) change = "remove";
    // The agent's own status reports come back as updates: don't echo them.
    else if (now && before && old !== undefined && agentViewChanged(old, task)) change = "update";
    if (change === undefined) return false;
    let queued = false;
    for (const sub of set) {
      if (ev.index <= sub.fromIndex) continue;
      sub.pending.set(task.id, change === "update" ? task : undefined);
      this.dirty.add(sub);
      queued = true;
    }
    return queued;
  }

  /**
   * Sends every stream its gathered changes, FLUSH_BUDGET_MS of them per turn of the event loop
   * (a scheduling pass changes a few thousand tasks; their JSON for a thousand streams took a
   * leader hundreds of milliseconds in one stretch). A stream whose turn comes later sends what
   * gathered until then in the same message.
   */
  private flushAll(): void {
    this.flusher.run();
  }

  private flush(sub: Subscriber): void {
    if (sub.pending.size === 0 || sub.paceTimer !== undefined) return;
    const now = this.clock.monotonicMs();
    this.rollBucket(now);
    const wait = this.paceWaitMs(sub, now);
    if (wait > 0) {
      sub.paceTimer = this.clock.setTimeout(() => {
        sub.paceTimer = undefined;
        // Still open (remove() cancels the timer, but a timer may already have been due).
        if (!this.subscribers.get(sub.nodeId)?.has(sub)) return;
        this.dirty.add(sub);
        this.flushAll();
      }, wait);
      return;
    }
    const tasks: Uint8Array[] = [];
    const removed: string[] = [];
    for (const [id, t] of sub.pending) {
      if (t === undefined) removed.push(id);
      else tasks.push(encodeTask(t));
    }
    sub.pending.clear();
    sub.sequence++;
    sub.send({ type: controlpb.AssignmentsMessage.Type.INCREMENTAL, sequence: sub.sequence, tasks, removedTaskIds: removed });
    sub.lastSentMs = now;
    this.sentThisBucket.add(sub);
    this.messagesSent++;
    this.changesSent += tasks.length + removed.length;
  }

  /** Counts since this manager started, and the pace now (metrics). */
  stats(): AssignmentStats {
    // Closes a bucket whose time is up, as a send would, so that a scrape after a quiet spell
    // reads 0 rather than the pace of the last busy second.
    this.rollBucket(this.clock.monotonicMs());
    return { messages: this.messagesSent, changes: this.changesSent, paceMs: this.currentPaceMs(), statusReports: this.statusReports, statusUpdates: this.statusUpdates };
  }

  /**
   * How much longer the stream's changes should wait, from the pace: when many nodes' assignments
   * change at once (a thousand nodes taking a hundred thousand tasks), a message per node per batch
   * window carried one task each, and its send, the agent's write and status report, and the
   * report's store round cost both sides more than the task itself. Spacing each busy stream's
   * messages so that all of them together stay near the budget makes each carry several tasks
   * (the orchestration benchmark: 2,400–2,900 → 3,050–3,880 tasks/s). A stream that sent nothing
   * for the pace sends at the end of the batch window as before, so a quiet node, and every node
   * of a cluster with fewer than about a hundred busy ones, sees no delay.
   */
  private paceWaitMs(sub: Subscriber, now: number): number {
    if (sub.lastSentMs === undefined) return 0;
    const pace = this.currentPaceMs();
    return pace === 0 ? 0 : Math.max(0, sub.lastSentMs + pace - now);
  }

  /** The pace from the streams busy in the last second; 0 below MIN_PACE_MS or with pacing off. */
  private currentPaceMs(): number {
    if (this.messageBudgetPerSec <= 0) return 0;
    const busy = Math.max(this.sentLastBucket, this.sentThisBucket.size);
    const pace = Math.min(this.maxPaceMs, (busy * 1000) / this.messageBudgetPerSec);
    return pace < MIN_PACE_MS ? 0 : pace;
  }

  private rollBucket(now: number): void {
    if (now < this.bucketEndsMs) return;
    // Every send rolls first, so if a whole bucket's time passed since this one ended, that
    // bucket saw no message at all.
    this.sentLastBucket = now >= this.bucketEndsMs + PACE_BUCKET_MS ? 0 : this.sentThisBucket.size;
    this.sentThisBucket = new Set();
    this.bucketEndsMs = now + PACE_BUCKET_MS;
  }

  private remove(sub: Subscriber): void {
    this.dirty.delete(sub);
    sub.paceTimer?.cancel();
    sub.paceTimer = undefined;
    this.sentThisBucket.delete(sub);
    const set = this.subscribers.get(sub.nodeId);
    if (set === undefined) return;
    set.delete(sub);
    if (set.size === 0) this.subscribers.delete(sub.nodeId);
  }

  private endAll(): void {
    const waiting = this.openings;
    this.openings = [];
    this.opener.cancel();
    this.dirty.clear();
    this.flusher.cancel();
    for (const o of waiting) {
      try {
        if (!o.gone) o.call.end();
      } catch {
        // Already closed by the peer.
      }
    }
    for (const s of [...this.statusStreams]) s.end();
    const all = [...this.subscribers.values()].flatMap((s) => [...s]);
    this.subscribers.clear();
    this.sentThisBucket = new Set();
    this.sentLastBucket = 0;
    for (const sub of all) {
      sub.paceTimer?.cancel();
      sub.paceTimer = undefined;
      try {
        sub.end();
      } catch {
        // Already closed by the peer.
      }
    }
  }
}
