// Scheduler: the leader-only edge of the scheduler (DESIGN §2). Owns the PENDING → ASSIGNED
// transition and the "no suitable node" reason (status err) of tasks it cannot place; must not write any
// other field or transition (the orchestrators own desired state, the agent everything after).
// The components that create tasks take its decision inline through it (Placer: born ASSIGNED).
//
// It keeps a SchedulerState in step with the store through one watch (viewAndWatch at start, so no
// event is missed), collects tasks that need a node, and every tickMs runs scheduleBatch over them
// and commits the decisions in one store batch, deciding once that batch holds the store's write
// lock (tasks that became pending while others wrote join the pass: fewer, fuller raft entries).
// Tasks it could not place stay pending and are
// tried again when something that could help happens: a node changes, a task frees resources, a
// service changes. A decision that conflicts with a newer version of its task is skipped; the newer
// version decides whether the task is tried again.
import { Counter, Gauge, Histogram, describeError, nextTurn, systemClock, type Clock, type Logger, type Registry, type TimerHandle } from "@shoal/common";
import { TaskState, type Batch, type MemoryStore, type NewObject, type Node, type StoreEvent, type Task, type Watch } from "@shoal/store";
import { scheduleBatch, type BatchDecision, type TaskPlacement } from "./core/schedule.js";
import { SchedulerState, needsScheduling, type SchedulerStateOpts } from "./core/state.js";

export const ASSIGNED_MESSAGE = "scheduler assigned task to node";

/**
 * Placement taken inline by a component that creates tasks (the orchestrators' and the updater's
 * commit): a task that is PENDING when created is born ASSIGNED, one raft write instead of two
 * for every task (as the allocator's transition is taken inline, commit.ts). The scheduler decides,
 * on its own view of the cluster; what it cannot place is created PENDING and left to its passes.
 */
export interface Placer {
  /**
   * Decides nodes for these PENDING tasks, about to be created, and books them in the scheduler's
   * view as it books its own decisions before they commit. Leaves out those it cannot place, and
   * places none while it is not running or still building its view.
   */
  place(tasks: readonly NewObject<"task">[], nowMs: number): ReadonlyMap<string, TaskPlacement>;
  /**
   * These placements may not have been written (their change was skipped, or the entry did not
   * commit): the scheduler's view takes each task as the store holds it (or drops it). A task
   * whose entry commits later still arrives through the watch.
   */
  forget(taskIds: readonly string[]): void;
}

/** The task, placed: on the node, ASSIGNED, at `nowMs` (what a scheduling pass writes). */
export function assignedTask<T extends Task | NewObject<"task">>(task: T, placement: TaskPlacement, nowMs: number): T {
  // A fresh status but for what the allocator recorded (ports): the "no suitable node" of an
  // earlier pass goes.
  const { err: _unschedulable, ...kept } = task.status;
  const next: T = { ...task, nodeId: placement.nodeId, status: { ...kept, state: TaskState.ASSIGNED, message: ASSIGNED_MESSAGE, timestamp: nowMs } };
  if (placement.genericResources !== undefined) next.assignedGenericResources = placement.genericResources;
  return next;
}

export interface SchedulerOpts extends SchedulerStateOpts {
  /**
   * At most this many tasks are decided (and committed) per pass; the rest wait for the next.
   * Deciding is synchronous: 2,000 tasks on 1,000 nodes take about 20 ms on an idle core (five
   * times that on a starved one), and staging their commit more; a manager short of CPU must
   * still answer heartbeats and raft between passes (default 2,000).
   */
  batchMaxTasks?: number;
  /** Events are gathered this long before a pass, so that a burst of new tasks is one batch. */
  tickMs?: number;
  /** After a failed commit (no quorum…), every pending task is tried again this much later. */
  retryMs?: number;
  /**
   * Events the watch may queue before it overflows (and the scheduler starts over from a full
   * view). Large by default: one pass's own commits are batchMaxTasks events.
   */
  watchQueueLimit?: number;
}

export interface SchedulerModules {
  store: MemoryStore;
  logger: Logger;
  clock?: Clock;
  /** Registers shoal_scheduler_* metrics here when given. */
  metrics?: Registry;
}

interface SchedulerMetrics {
  assigned: Counter;
  passSeconds: Histogram;
}

// A component may be built again (a new leadership term) on the same registry: reuse its metrics.
function metric<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

// Which Scheduler a registry's pending-tasks gauge reads: the latest one built on it.
const pendingSources = new WeakMap<Registry, () => number>();

function registerMetrics(registry: Registry, pending: () => number): SchedulerMetrics {
  const registers = [registry];
  pendingSources.set(registry, pending);
  metric(
    registry,
    "shoal_scheduler_pending_tasks",
    () =>
      new Gauge({
        name: "shoal_scheduler_pending_tasks",
        help: "Tasks waiting for a node",
        registers,
        collect() {
          this.set(pendingSources.get(registry)?.() ?? 0);
        },
      }),
  );
  return {
    assigned: metric(registry, "shoal_scheduler_assigned_tasks_total", () => new Counter({ name: "shoal_scheduler_assigned_tasks_total", help: "Tasks assigned to a node", registers })),
    passSeconds: metric(
      registry,
      "shoal_scheduler_pass_seconds",
      () => new Histogram({ name: "shoal_scheduler_pass_seconds", help: "Time to decide and commit one scheduling pass", registers, buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10] }),
    ),
  };
}

const DEFAULT_BATCH_MAX_TASKS = 2_000;
const DEFAULT_TICK_MS = 50;
const DEFAULT_RETRY_MS = 1_000;
const DEFAULT_WATCH_QUEUE_LIMIT = 200_000;
/**
 * Tasks taken into the state per event-loop turn while it is built: a new leader of a cluster of
 * 100,000 tasks spent seconds on it in one go, and its followers, hearing no heartbeat meanwhile,
 * elected another.
 */
const BUILD_SLICE_TASKS = 2_000;

/** Task fields placement depends on changed in a way that may free room for pending tasks. */
function freesRoom(old: Task | undefined, task: Task | undefined): boolean {
  if (old === undefined || old.nodeId === "") return false;
  if (task === undefined) return true;
  return task.nodeId !== old.nodeId || task.status.state > TaskState.RUNNING || task.desiredState > old.desiredState;
}

/** The node changed in something placement reads (not just its heartbeat status message). */
function nodeChanged(old: Node | undefined, node: Node): boolean {
  if (old === undefined) return true;
  const relevant = (n: Node): string => JSON.stringify([n.spec, n.status.state, n.description, n.role]);
  return relevant(old) !== relevant(node);
}

export class Scheduler implements Placer {
  private readonly store: MemoryStore;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly batchMaxTasks: number;
  private readonly tickMs: number;
  private readonly retryMs: number;
  private state: SchedulerState;
  /** Every task that needs a node, at its latest version. */
  private readonly pending = new Map<string, Task>();
  /** Pending tasks the next pass tries: new ones, or all of them after a change that may help. */
  private fresh = new Set<string>();
  private retryAll = false;
  private stopped = true;
  private watch: Watch | undefined;
  private consuming: Promise<void> | undefined;
  /** The state is being built from a fresh view (no pass may run until it is). */
  private building = false;
  private running: Promise<void> | undefined;
  private tick: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private readonly metrics: SchedulerMetrics | undefined;

  constructor(
    private readonly opts: SchedulerOpts,
    modules: SchedulerModules,
  ) {
    this.store = modules.store;
    this.log = modules.logger.child({ component: "scheduler" });
    this.clock = modules.clock ?? systemClock;
    this.batchMaxTasks = opts.batchMaxTasks ?? DEFAULT_BATCH_MAX_TASKS;
    this.tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
    this.retryMs = opts.retryMs ?? DEFAULT_RETRY_MS;
    this.state = new SchedulerState(opts);
    this.metrics = modules.metrics === undefined ? undefined : registerMetrics(modules.metrics, () => this.pending.size);
  }

  /** Starts scheduling (leader only). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.subscribe();
  }

  /** Stops; resolves once the pass in flight (if any) has committed or failed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    this.tick?.cancel();
    this.tick = undefined;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    await this.running;
    await this.consuming;
  }

  /** Nothing to do until something changes: no pass running or due, every event seen (tests). */
  isIdle(): boolean {
    return !this.building && this.running === undefined && this.tick === undefined && (this.watch?.backlog ?? 0) === 0 && this.fresh.size === 0 && !this.retryAll;
  }

  /** Tasks waiting for a node (placed or not yet tried). */
  get pendingCount(): number {
    return this.pending.size;
  }

  place(tasks: readonly NewObject<"task">[], nowMs: number): ReadonlyMap<string, TaskPlacement> {
    const out = new Map<string, TaskPlacement>();
    if (this.stopped || this.building || tasks.length === 0) return out;
    // The decision reads no task's meta (a task being created has none yet).
    const decision = scheduleBatch(this.state, tasks as readonly Task[], nowMs);
    for (const a of decision.assignments) out.set(a.taskId, a);
    return out;
  }

  forget(taskIds: readonly string[]): void {
    if (taskIds.length === 0 || this.stopped) return;
    this.store.view((tx) => {
      for (const id of taskIds) {
        const cur = tx.get("task", id);
        if (cur === undefined) this.state.removeTask(id);
        else this.state.setTask(cur);
      }
    });
  }

  private subscribe(): void {
    const { result, watch } = this.store.viewAndWatch({ kinds: ["node", "task", "service"], queueLimit: this.opts.watchQueueLimit ?? DEFAULT_WATCH_QUEUE_LIMIT }, (tx) => ({
      nodes: tx.find("node"),
      tasks: tx.find("task"),
    }));
    this.watch = watch;
    this.building = true;
    this.consuming = this.build(result.nodes, result.tasks, watch).then((built) => (built ? this.consume(watch) : undefined));
  }

  /**
   * Builds the state from a view, a slice of tasks per turn (the watch holds what commits
   * meanwhile, to be observed once the state is whole); false when stopped or resubscribed first.
   */
  private async build(nodes: Node[], tasks: Task[], watch: Watch): Promise<boolean> {
    const state = new SchedulerState(this.opts);
    try {
      for (let i = 0; i < tasks.length; i++) {
        state.setTask(tasks[i]!);
        if ((i + 1) % BUILD_SLICE_TASKS === 0) {
          await nextTurn();
          if (this.stopped || this.watch !== watch) return false;
        }
      }
      for (const n of nodes) state.setNode(n);
    } finally {
      if (this.watch === watch) this.building = false;
    }
    this.state = state;
    this.pending.clear();
    this.fresh.clear();
    for (const t of tasks) if (needsScheduling(t)) this.pending.set(t.id, t);
    this.retryAll = this.pending.size > 0;
    this.kick();
    return true;
  }

  private async consume(watch: Watch): Promise<void> {
    try {
      for await (const event of watch) this.observe(event);
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: describeError(err) }, "watch lost; starting over from a fresh view");
      this.subscribe();
    }
  }

  private observe(ev: StoreEvent): void {
    switch (ev.kind) {
      case "node": {
        const node = ev.object as Node;
        if (ev.action === "delete") {
          this.state.removeNode(node.id);
          return;
        }
        this.state.setNode(node);
        if (nodeChanged(ev.oldObject as Node | undefined, node)) this.wantRetry();
        return;
      }
      case "task": {
        const task = ev.object as Task;
        const old = ev.oldObject as Task | undefined;
        if (ev.action === "delete") {
          this.state.removeTask(task.id);
          this.unpend(task.id);
          if (freesRoom(task, undefined)) this.wantRetry();
          return;
        }
        this.state.setTask(task);
        // Born ASSIGNED: placed inline by the component that created it (Placer).
        if (ev.action === "create" && task.status.state === TaskState.ASSIGNED && task.status.message === ASSIGNED_MESSAGE) this.metrics?.assigned.inc();
        if (needsScheduling(task)) {
          if (!this.pending.has(task.id)) this.fresh.add(task.id);
          this.pending.set(task.id, task);
          this.kick();
        } else {
          this.unpend(task.id);
        }
        if (freesRoom(old, task)) this.wantRetry();
        return;
      }
      case "service":
        if (ev.action === "update") this.wantRetry();
        return;
      default:
        return;
    }
  }

  private unpend(taskId: string): void {
    this.pending.delete(taskId);
    this.fresh.delete(taskId);
  }

  private wantRetry(): void {
    if (this.pending.size === 0) return;
    this.retryAll = true;
    this.kick();
  }

  /** A pass after tickMs, unless one is due or running (which kicks again when it ends). */
  private kick(): void {
    if (this.stopped || this.tick !== undefined || this.running !== undefined) return;
    if (this.fresh.size === 0 && !this.retryAll) return;
    this.tick = this.clock.setTimeout(() => {
      this.tick = undefined;
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.kick();
      });
    }, this.tickMs);
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    let tasks: Task[] = [];
    let decision: BatchDecision = { assignments: [], unschedulable: [] };
    // Timed from when the pass holds the store's lock: waiting for it is not deciding or committing.
    let startedMs = 0;
    try {
      // Decided once the batch holds the store's write lock: tasks that became pending while other
      // components were writing join this pass, so a busy store gets fewer, fuller raft entries.
      const skipped = await this.store.batch(async (batch) => {
        await nextTurn();
        startedMs = this.clock.monotonicMs();
        tasks = this.takeFresh();
        if (tasks.length === 0 || this.stopped) return 0;
        const now = this.clock.now();
        decision = scheduleBatch(this.state, tasks, now);
        return this.commit(batch, tasks, decision, now);
      });
      if (tasks.length === 0) return;
      const ms = this.clock.monotonicMs() - startedMs;
      const assigned = decision.assignments.length - skipped;
      this.metrics?.assigned.inc(assigned);
      this.metrics?.passSeconds.observe(ms / 1000);
      this.log.info({ assigned, unschedulable: decision.unschedulable.length, skipped, ms }, "scheduling pass committed");
    } catch (err) {
      this.log.warn({ err: describeError(err), tasks: tasks.length }, "scheduling pass failed to commit; retrying");
      // Not tried again at once: the store is likely to refuse again (lost leadership, no quorum).
      this.resync(tasks, false);
      this.retryLater();
    }
  }

  /** The pending tasks this pass tries (all of them after a change that may help), at most batchMaxTasks. */
  private takeFresh(): Task[] {
    if (this.retryAll) {
      this.fresh = new Set([...this.fresh, ...this.pending.keys()]);
      this.retryAll = false;
    }
    const tasks: Task[] = [];
    for (const id of this.fresh) {
      if (tasks.length >= this.batchMaxTasks) break;
      this.fresh.delete(id);
      const t = this.pending.get(id);
      if (t !== undefined) tasks.push(t);
    }
    return tasks;
  }

  /** Stages the decisions in the batch, each task in its own transaction; returns how many were skipped. */
  private async commit(batch: Batch, tasks: Task[], decision: BatchDecision, now: number): Promise<number> {
    const read = new Map(tasks.map((t) => [t.id, t]));
    // The version a decision was made from must still be the stored one.
    const current = (tx: { get(kind: "task", id: string): Task | undefined }, id: string): Task | undefined => {
      const cur = tx.get("task", id);
      return cur !== undefined && cur.meta.version.index === read.get(id)!.meta.version.index ? cur : undefined;
    };
    const skipped: Task[] = [];
    for (const a of decision.assignments) {
      const done = await batch.update((tx) => {
        const cur = current(tx, a.taskId);
        if (cur === undefined) return false;
        tx.update("task", assignedTask(cur, a, now));
        return true;
      });
      if (done) {
        this.unpend(a.taskId);
        this.log.debug({ taskId: a.taskId, nodeId: a.nodeId }, "task assigned");
      } else skipped.push(read.get(a.taskId)!);
    }
    for (const u of decision.unschedulable) {
      await batch.update((tx) => {
        const cur = current(tx, u.taskId);
        // Why it waits goes in the status's err, as swarmkit does, so that `service ps` (its ERROR
        // column) and the progress view show it. Only a changed reason is worth a write.
        if (cur === undefined || cur.status.err === u.message) return;
        tx.update("task", { ...cur, status: { ...cur.status, err: u.message } });
      });
    }
    // Read inside the batch's lock: nothing else has written these tasks since.
    this.resync(skipped, true);
    return skipped.length;
  }

  /**
   * Replaces the optimistic placements of these tasks with what the store holds now; those still
   * needing a node are tried in the next pass if tryAgain.
   */
  private resync(tasks: Task[], tryAgain: boolean): void {
    if (tasks.length === 0) return;
    this.store.view((tx) => {
      for (const t of tasks) {
        const cur = tx.get("task", t.id);
        if (cur === undefined) {
          this.state.removeTask(t.id);
          this.unpend(t.id);
          continue;
        }
        this.state.setTask(cur);
        if (needsScheduling(cur)) {
          this.pending.set(cur.id, cur);
          if (tryAgain) this.fresh.add(cur.id);
        } else this.unpend(cur.id);
      }
    });
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAll = true;
      this.kick();
    }, this.retryMs);
  }
}
