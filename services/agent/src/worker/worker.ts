// The worker: reconciles the node's assignments (from the managers) with what the executor runs.
// It keeps every assigned task and its last status in a local level DB (the task under task/<id>,
// written when it is assigned or changed, its status under status/<id>, small, written on every
// step), so that after an agent restart it adopts the tasks still running instead of starting them
// again; it runs one TaskRunner per task and reports status changes in batches through onStatus.
// It must not talk to managers (the AssignmentsClient carries both directions) or decide
// placement or restarts.
import { join } from "node:path";
import { describeError, nextTurn, systemClock, type Clock, type Logger } from "@shoal/common";
import { TaskState, type Task, type TaskStatus } from "@shoal/store";
import { Level } from "level";
import type { Executor } from "../executor/index.js";
import { TaskRunner } from "./task-runner.js";

export interface WorkerOptions {
  /** The agent's state dir; the worker keeps its DB in <stateDir>/worker. */
  stateDir: string;
  nodeId: string;
}

export interface WorkerModules {
  logger: Logger;
  executor: Executor;
  clock?: Clock;
}

/** A set of assignments from the managers: the whole set, or the changes since the last one. */
export interface AssignmentSet {
  type: "complete" | "incremental";
  tasks: Task[];
  /** Task ids no longer assigned (incremental sets only; a complete set removes what it omits). */
  removed?: string[];
}

export interface TaskStatusUpdate {
  taskId: string;
  status: TaskStatus;
}

export type StatusListener = (updates: TaskStatusUpdate[]) => void;

/** A record under task/: the task (older versions wrote { task, status } there). */
type TaskRecord = Task | { task: Task; status: TaskStatus };
type Stored = TaskRecord | TaskStatus;

const TASK_PREFIX = "task/";
const STATUS_PREFIX = "status/";

/**
 * Whether two copies of a task assign the same thing: every field but the version (meta) and the
 * manager's copy of the status (the worker keeps its own, under status/). Fields holding the same
 * object are equal without being compared.
 */
function sameAssignment(a: Task, b: Task): boolean {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) {
    if (k === "meta" || k === "status") continue;
    if (ra[k] !== rb[k] && JSON.stringify(ra[k]) !== JSON.stringify(rb[k])) return false;
  }
  return true;
}

/** Where a worker with state directory `stateDir` keeps its local DB (a node that leaves removes it). */
export function workerDbDir(stateDir: string): string {
  return join(stateDir, "worker");
}

export class Worker {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly runners = new Map<string, TaskRunner>();
  private readonly listeners = new Set<StatusListener>();
  private pending = new Map<string, TaskStatus>();
  private flushScheduled = false;
  private db: Level<string, Stored> | undefined;
  /** DB writes in order (a later status of a task never lands before an earlier one). */
  private writes: Promise<void> = Promise.resolve();
  /** Records not yet written, by key (the latest wins; null deletes): one batch per turn. */
  private unwritten = new Map<string, Stored | null>();
  /**
   * Per task id, the latest task object that assigns what was last queued for writing (it may
   * differ in version and status): an unchanged task is not written again.
   */
  private readonly writtenTasks = new Map<string, Task>();
  /** Likewise the status object last queued for writing, per task id. */
  private readonly writtenStatuses = new Map<string, TaskStatus>();
  private writeScheduled = false;
  private started = false;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly opts: WorkerOptions,
    private readonly modules: WorkerModules,
  ) {
    this.log = modules.logger.child({ component: "worker", nodeId: opts.nodeId });
    this.clock = modules.clock ?? systemClock;
  }

  /** Opens the local DB and resumes (adopts) every task it holds. */
  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    const db = new Level<string, Stored>(workerDbDir(this.opts.stateDir), { valueEncoding: "json" });
    await db.open();
    this.db = db;
    this.started = true;
    const statuses = new Map<string, TaskStatus>();
    for await (const [key, status] of db.iterator({ gt: STATUS_PREFIX, lt: `${STATUS_PREFIX}\xff` })) {
      statuses.set(key.slice(STATUS_PREFIX.length), status as TaskStatus);
    }
    let adopted = 0;
    for await (const [key, rec] of db.iterator({ gt: TASK_PREFIX, lt: `${TASK_PREFIX}\xff` })) {
      const id = key.slice(TASK_PREFIX.length);
      const [task, status] = "task" in rec ? [rec.task, rec.status] : [rec as Task, (rec as Task).status];
      this.writtenTasks.set(id, task);
      const current = statuses.get(id) ?? status;
      this.writtenStatuses.set(id, current);
      this.runnerFor(task, current).run();
      adopted++;
    }
    if (adopted > 0) this.log.info({ tasks: adopted }, "worker: resumed the tasks of the previous run");
  }

  /** Stops driving tasks (they keep running in the runtime for the next start to adopt). */
  async stop(): Promise<void> {
    // A stop during start waits for it, so the DB it opens is closed too.
    await this.starting?.catch(() => undefined);
    this.starting = undefined;
    if (!this.started) return;
    this.started = false;
    await Promise.all([...this.runners.values()].map((r) => r.close()));
    this.runners.clear();
    await this.writes;
    await this.db?.close();
    this.db = undefined;
    this.writtenTasks.clear();
    this.writtenStatuses.clear();
  }

  /** Subscribes to batches of status changes; returns the unsubscribe function. */
  onStatus(cb: StatusListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** The task and its latest status, if the worker holds it. */
  get(taskId: string): { task: Task; status: TaskStatus } | undefined {
    return this.runners.get(taskId)?.current;
  }

  /** Reconciles with a set of assignments from the managers. */
  async applyAssignments(set: AssignmentSet): Promise<void> {
    if (!this.started) return;
    const seen = new Set<string>();
    for (const task of set.tasks) {
      if (task.nodeId !== "" && task.nodeId !== this.opts.nodeId) continue;
      seen.add(task.id);
      const runner = this.runners.get(task.id);
      if (runner === undefined) {
        // Our own reports may be ahead of what the managers send back: keep the later state.
        this.runnerFor(task, task.status).run();
        this.persist(task, task.status);
      } else {
        const held = runner.current.task;
        const same = held === task || sameAssignment(held, task);
        runner.update(task, !same);
        this.persist(task, runner.current.status, same ? held : undefined);
      }
    }
    const removed = set.type === "complete" ? [...this.runners.keys()].filter((id) => !seen.has(id)) : (set.removed ?? []);
    for (const id of removed) this.runners.get(id)?.remove();
    await this.writes;
  }

  private runnerFor(task: Task, status: TaskStatus): TaskRunner {
    const runner = new TaskRunner(task, status, {
      executor: this.modules.executor,
      logger: this.log,
      now: () => this.clock.now(),
      report: (t, s) => this.report(t, s),
      forget: (id) => this.forget(id),
    });
    this.runners.set(task.id, runner);
    return runner;
  }

  private report(task: Task, status: TaskStatus): void {
    this.log.debug({ taskId: task.id, state: TaskState[status.state] }, "worker: task state");
    this.persist(task, status);
    this.pending.set(task.id, status);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Changes of the same turn (many tasks, or several steps of one) go out as one batch.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.size === 0) return;
    const updates = [...this.pending].map(([taskId, status]) => ({ taskId, status }));
    this.pending = new Map();
    for (const cb of this.listeners) {
      try {
        cb(updates);
      } catch (err) {
        this.log.error({ err: describeError(err) }, "worker: status listener threw");
      }
    }
  }

  /**
   * Queues the task's record and its status for the next batch, each only if it changed. A
   * manager's complete set after a leader change repeats every task as a new object (with a newer
   * version and the manager's copy of the status): rewriting all of them made a burst of writes on
   * every reconnect, while nothing the worker keeps had changed.
   */
  private persist(task: Task, status: TaskStatus, sameAs?: Task): void {
    if (this.db === undefined) return;
    let queued = false;
    const written = this.writtenTasks.get(task.id);
    // sameAs: a copy the caller found to assign the same thing; if that copy is the one written,
    // the comparison need not be made again.
    if (written !== task && (written === undefined || (written !== sameAs && !sameAssignment(written, task)))) {
      this.writtenTasks.set(task.id, task);
      this.unwritten.set(`${TASK_PREFIX}${task.id}`, task);
      queued = true;
    } else if (written !== task) {
      // Assigns what is written: held from now on, so that the next copy compares by identity.
      this.writtenTasks.set(task.id, task);
    }
    if (this.writtenStatuses.get(task.id) !== status) {
      this.writtenStatuses.set(task.id, status);
      this.unwritten.set(`${STATUS_PREFIX}${task.id}`, status);
      queued = true;
    }
    if (queued) this.scheduleWrite();
  }

  private async forget(taskId: string): Promise<void> {
    this.runners.delete(taskId);
    this.pending.delete(taskId);
    if (this.db === undefined) return;
    this.writtenTasks.delete(taskId);
    this.writtenStatuses.delete(taskId);
    this.unwritten.set(`${TASK_PREFIX}${taskId}`, null);
    this.unwritten.set(`${STATUS_PREFIX}${taskId}`, null);
    this.scheduleWrite();
    await this.writes;
  }

  /**
   * Queues one batch for everything recorded in this turn of the event loop: a task passes through
   * several states in one turn and a node gets many tasks at once, and a put per step was a third
   * of a busy agent's CPU. Only each task's latest record is written.
   */
  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    this.writes = this.writes.then(nextTurn).then(() => this.writeUnwritten());
  }

  private async writeUnwritten(): Promise<void> {
    this.writeScheduled = false;
    const records = this.unwritten;
    this.unwritten = new Map();
    const db = this.db;
    if (db === undefined || records.size === 0) return;
    const ops = [...records].map(([key, rec]) => (rec === null ? { type: "del" as const, key } : { type: "put" as const, key, value: rec }));
    try {
      await db.batch(ops);
    } catch (err) {
      this.log.error({ tasks: records.size, err: describeError(err) }, "worker: could not persist task records");
    }
  }
}
