// The rolling updater's edge (leader-only): watches services, tasks and nodes, asks the pure core
// (core/decide.ts) what each touched service needs, and commits it — the update status first, then
// the slot replacements, each in its own guarded transaction (orchestrator's commitPlan). Owns the
// watch, the timers (on the injected Clock) and what it saw of task lives (when each new task
// started running, which the store does not keep); owns no decisions.
//
// Nothing that decides which slots to replace lives only here: a new leader's Updater reads the
// update status and the tasks and continues without losing or duplicating a slot. Only the
// failure window of tasks that ended before it was leader is judged conservatively (core/progress).
import { errorCode, systemRandom, type Random } from "@shoal/common";
import { generateId, TaskState, UpdateState, type Kind, type Node, type ReadTx, type Service, type StoreEvent, type Task } from "@shoal/store";
import { conflictError, CONFLICT_CODES } from "../orchestrator/errors.js";
import { earliest, type TaskChange } from "../orchestrator/core/plan.js";
import { isTaskDirty } from "../orchestrator/core/new-task.js";
import { changesOrchestration, isWanted } from "../orchestrator/core/task-states.js";
import { commitPlan } from "../orchestrator/edge/commit.js";
import type { Placer } from "../scheduler/scheduler.js";
import { ReconcileLoop, decideWithinBudget, type LoopModules, type PassResult } from "../orchestrator/edge/reconcile-loop.js";
import { decideUpdate, type UpdateDecision } from "./core/decide.js";
import type { TaskLife } from "./core/progress.js";
import { applyUpdateStatusChange, isUpdateActive, type UpdateStatusChange } from "./core/status.js";

export interface UpdaterOptions {
  /** Tasks read per pass at most (the services left over are decided in the next pass, a turn later). */
  passTaskBudget?: number;
}

const DEFAULT_PASS_TASK_BUDGET = 10_000;

export interface UpdaterModules extends LoopModules {
  /** For new task ids; default: the process's randomness. */
  random?: Random;
  /** The scheduler: replacement tasks it can place are born ASSIGNED (commit.ts). */
  placer?: Placer;
}

/** A wanted task on an older template: a service with no update under way starts one for it. */
function startsUpdate(service: Service, task: Task | undefined): boolean {
  return task !== undefined && isWanted(task) && isTaskDirty(service, task);
}

export class Updater extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["service", "task", "node"];
  private readonly random: Random;
  private readonly placer: Placer | undefined;
  private readonly passTaskBudget: number;
  private marked = new Set<string>();
  // Services marked only by their tasks' status progress or deletion: they matter only mid-update.
  private progressed = new Set<string>();
  // Tasks created or changed in a way the orchestrators care about, by service: outside an update
  // such a task matters only if it is wanted and runs an older template (a service with no update
  // under way starts one then). Checking those few tasks, not the whole service, keeps a scale-up
  // of thousands of tasks from deciding every service on every pass.
  private touched = new Map<string, Set<string>>();
  private all = true;
  // A node changed: only services in the middle of an update may care.
  private nodesChanged = false;
  // Invariant: holds only tasks seen alive, and forgets them when they are deleted. A task alive
  // when the watch began is recorded at its first event, from the event's old object.
  private readonly lives = new Map<string, TaskLife>();

  constructor(opts: UpdaterOptions, modules: UpdaterModules) {
    super("updater", modules);
    this.random = modules.random ?? systemRandom;
    this.placer = modules.placer;
    this.passTaskBudget = opts.passTaskBudget ?? DEFAULT_PASS_TASK_BUDGET;
  }

  protected markAll(): void {
    this.all = true;
  }

  protected observe(event: StoreEvent): boolean {
    // A node going down frees the old task a held replacement waits for.
    if (event.kind === "node") this.nodesChanged = true;
    else if (event.kind === "service") this.marked.add((event.object as Service).id);
    else if (event.kind === "task") {
      const task = event.object as Task;
      if (event.action === "delete") this.lives.delete(task.id);
      else {
        // A task's first event since the watch began: its old object is how it stood when this
        // leader (or a new watch) first looked, which is all a pass over every task at the start
        // would have recorded (at 100,000 tasks that pass held the event loop for 0.1-0.7 s).
        const old = event.oldObject as Task | undefined;
        if (old !== undefined && !this.lives.has(task.id)) this.see(old);
        this.see(task);
      }
      if (event.action === "delete" || (event.action === "update" && !changesOrchestration(event.oldObject as Task | undefined, task))) {
        this.progressed.add(task.serviceId);
      } else {
        let ids = this.touched.get(task.serviceId);
        if (ids === undefined) this.touched.set(task.serviceId, (ids = new Set()));
        ids.add(task.id);
      }
    } else return false;
    return true;
  }

  /** Remembers when a task started running: once it has ended, the store no longer says. */
  private see(task: Task): void {
    if (task.status.state > TaskState.RUNNING && !this.lives.has(task.id)) return;
    const life = this.lives.get(task.id) ?? {};
    if (task.status.state === TaskState.RUNNING && life.runningAtMs === undefined) life.runningAtMs = task.status.timestamp;
    this.lives.set(task.id, life);
  }

  protected async pass(): Promise<PassResult> {
    const now = this.clock.now();
    let more = false;
    const decisions = this.store.view((tx) => {
      const { decisions, left } = this.decideMarked(tx, now);
      // Over budget: the rest waits for the next pass, a turn later.
      for (const id of left) this.marked.add(id);
      more = left.length > 0;
      return decisions;
    });
    const changes: TaskChange[] = [];
    let retry = false;
    let wakeAtMs: number | undefined;
    for (const d of decisions) {
      wakeAtMs = earliest(wakeAtMs, d.wakeAtMs);
      if (d.status !== undefined && !(await this.writeStatus(d.status))) {
        // The service moved since it was read: its task changes were decided on stale state.
        retry = true;
        continue;
      }
      changes.push(...d.changes);
    }
    const result = await commitPlan(this.store, { changes, services: [] }, this.log, this.placer);
    const out: PassResult = { retry: retry || result.conflicted.size > 0, more };
    if (wakeAtMs !== undefined) out.wakeAtMs = wakeAtMs;
    return out;
  }

  private decideMarked(tx: ReadTx, now: number): { decisions: UpdateDecision[]; left: string[] } {
    const ids = new Set(this.all ? tx.find("service").map((s) => s.id) : this.marked);
    if (this.nodesChanged && !this.all) for (const s of tx.find("service")) if (isUpdateActive(s.updateStatus)) ids.add(s.id);
    // Status progress (a task reaching RUNNING) can only move an update that is under way; at
    // scale it is most task events, and deciding a whole service for each would dominate.
    for (const id of this.progressed) if (isUpdateActive(tx.get("service", id)?.updateStatus)) ids.add(id);
    for (const [id, taskIds] of this.touched) {
      if (ids.has(id)) continue;
      const service = tx.get("service", id);
      if (service === undefined) continue;
      if (isUpdateActive(service.updateStatus) || [...taskIds].some((t) => startsUpdate(service, tx.get("task", t)))) ids.add(id);
    }
    this.all = false;
    this.nodesChanged = false;
    this.marked = new Set();
    this.progressed = new Set();
    this.touched = new Map();
    if (ids.size === 0) return { decisions: [], left: [] };
    const nodes = new Map<string, Node>(tx.find("node").map((n) => [n.id, n]));
    const out: UpdateDecision[] = [];
    // A new leader decides every service: at 100,000 tasks that was 2.4 s in one piece on a
    // loaded manager, with no heartbeat read meanwhile.
    const left = decideWithinBudget([...ids].sort(), this.passTaskBudget, (id) => {
      const service = tx.get("service", id);
      if (service === undefined) return 0;
      const tasks = tx.find("task", { serviceId: id });
      const d = decideUpdate({ service, tasks, nodes, now, lives: this.lives, newId: () => generateId(this.random) });
      if (d.status !== undefined || d.changes.length > 0 || d.wakeAtMs !== undefined) out.push(d);
      return tasks.length;
    });
    return { decisions: out, left };
  }

  /** Writes an update status decided from service version `change.version`; false if it moved. */
  private async writeStatus(change: UpdateStatusChange): Promise<boolean> {
    try {
      await this.store.update((tx) => {
        const cur = tx.get("service", change.serviceId);
        if (cur === undefined || cur.meta.version.index !== change.version) throw conflictError(`service ${change.serviceId}`, { serviceId: change.serviceId });
        tx.update("service", applyUpdateStatusChange(cur, change));
      });
    } catch (err) {
      if (!CONFLICT_CODES.has(errorCode(err) ?? "")) throw err;
      this.log.debug({ serviceId: change.serviceId }, `${change.reason} skipped: service changed since it was decided`);
      return false;
    }
    const s = change.updateStatus;
    this.log.info({ serviceId: change.serviceId, state: UpdateState[s.state], message: s.message }, change.reason);
    return true;
  }
}
