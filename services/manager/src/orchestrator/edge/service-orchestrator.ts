// The edge of the service orchestrators (replicated, global, jobs): marks the services that events
// touch, reads each marked service with its tasks and all nodes, asks the mode's pure reconciler for
// a Plan, commits it and records the restarts it made. Leader-only. Must not decide anything itself.
import { systemRandom, type Random } from "@shoal/common";
import { generateId, type Kind, type Node, type ReadTx, type Service, type StoreEvent, type Task } from "@shoal/store";
import { serviceMode, type ServiceMode } from "../core/new-task.js";
import { changesOrchestration } from "../core/task-states.js";
import { emptyPlan, mergePlan, type Plan, type TaskChange } from "../core/plan.js";
import { removeServiceTasks } from "../core/replicated.js";
import { RestartHistory } from "../core/restart.js";
import type { ReconcileContext } from "../core/slot-reconcile.js";
import type { Placer } from "../../scheduler/scheduler.js";
import { commitStaged, logCommitted, stagePlan } from "./commit.js";
import { ReconcileLoop, type LoopModules, type PassResult } from "./reconcile-loop.js";

export interface OrchestratorModules extends LoopModules {
  /** For task ids; default: the process's randomness. */
  random?: Random;
  /** The scheduler: new tasks it can place are born ASSIGNED (commit.ts). */
  placer?: Placer;
}

export interface OrchestratorOptions {
  /**
   * Tasks one pass reads or creates at most (the first service is always decided): marked services beyond it
   * wait for the next pass, so the event loop turns in between (heartbeats, raft). Default 10,000.
   */
  passTaskBudget?: number;
  /**
   * Tasks one pass creates for new slots or nodes at most (the first service always gets one):
   * the rest of a service's new tasks wait for the next pass. Default 2,000, the scheduler's batch.
   */
  passCreateBudget?: number;
}

const DEFAULT_PASS_TASK_BUDGET = 10_000;
const DEFAULT_PASS_CREATE_BUDGET = 2_000;

/** A change that only adds tasks (a new slot or node): leaving it to a later pass changes nothing else. */
function onlyCreates(c: TaskChange): boolean {
  return c.create.length > 0 && c.desired.length === 0 && (c.delete?.length ?? 0) === 0 && c.restart === undefined;
}

/** What distinguishes one service orchestrator from another: its modes and its pure reconciler. */
export interface ModeReconciler {
  component: string;
  modes: readonly ServiceMode[];
  decide(ctx: ReconcileContext, tasks: readonly Task[]): Plan;
}

export class ServiceOrchestrator extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["service", "task", "node"];
  /** Restarts per slot or node, for maxAttempts; lost on leader change, as swarm's. */
  readonly restarts = new RestartHistory();
  private readonly random: Random;
  private readonly placer: Placer | undefined;
  private marked = new Set<string>();
  private all = true;
  // Services of ours deleted since the last pass: their tasks must go.
  private deleted = new Set<string>();
  // Nodes that changed since the last pass: the services with tasks on them are decided.
  private touchedNodes = new Set<string>();
  // The last decision left marked services for the next pass (passTaskBudget).
  private deferred = false;

  private readonly passTaskBudget: number;
  private readonly passCreateBudget: number;

  protected constructor(
    private readonly mode: ModeReconciler,
    opts: OrchestratorOptions,
    modules: OrchestratorModules,
  ) {
    super(mode.component, modules);
    this.random = modules.random ?? systemRandom;
    this.placer = modules.placer;
    this.passTaskBudget = opts.passTaskBudget ?? DEFAULT_PASS_TASK_BUDGET;
    this.passCreateBudget = opts.passCreateBudget ?? DEFAULT_PASS_CREATE_BUDGET;
  }

  /** The service is this orchestrator's (one of its modes). */
  private owns(service: Service): boolean {
    const mode = serviceMode(service);
    return mode !== undefined && this.mode.modes.includes(mode);
  }

  protected markAll(): void {
    this.all = true;
  }

  protected observe(event: StoreEvent): boolean {
    switch (event.kind) {
      case "service": {
        const service = event.object as Service;
        if (!this.owns(service) && !(event.oldObject !== undefined && this.owns(event.oldObject as Service))) return false;
        this.marked.add(service.id);
        if (event.action === "delete") {
          this.deleted.add(service.id);
          this.restarts.forgetService(service.id);
        }
        return true;
      }
      case "task": {
        const task = event.object as Task;
        // Status progress (ASSIGNED → RUNNING) decides nothing here: don't reconcile for it.
        if (event.action === "update" && !changesOrchestration(event.oldObject as Task | undefined, task)) return false;
        this.marked.add(task.serviceId);
        return true;
      }
      case "node":
        // Nodes decide eligibility for per-node modes: every such service may care. Otherwise a
        // node strands (down, drained, removed) only the tasks it holds: at 1,000 nodes, deciding
        // every service for each node that went down made one pass read every task.
        if (this.mode.modes.some((m) => m === "global" || m === "global-job")) this.all = true;
        else this.touchedNodes.add((event.object as Node).id);
        return true;
      default:
        return false;
    }
  }

  protected async pass(): Promise<PassResult> {
    // Decided once the batch holds the store's write lock: services and tasks marked while other
    // components were writing are in this plan, so a busy store gets fewer, fuller raft entries.
    let plan: Plan = emptyPlan();
    const result = await commitStaged(this.store, this.placer, async (batch) => {
      await this.settleEvents();
      const now = this.clock.now();
      plan = this.store.view((tx) => this.decideMarked(tx, now));
      return stagePlan(batch, plan, this.log, this.placer);
    });
    logCommitted(result, this.log);
    for (const c of result.committed) if (c.restart !== undefined) this.restarts.record(c.restart.key, c.restart.specVersion, c.restart.atMs);
    const out: PassResult = { retry: result.conflicted.size > 0, more: this.deferred };
    if (plan.wakeAtMs !== undefined) out.wakeAtMs = plan.wakeAtMs;
    return out;
  }

  private decideMarked(tx: ReadTx, now: number): Plan {
    const ids = this.all ? new Set(tx.find("service").filter((s) => this.owns(s)).map((s) => s.id)) : new Set<string>();
    for (const id of this.marked) ids.add(id);
    for (const id of this.deleted) ids.add(id);
    for (const nodeId of this.touchedNodes) for (const t of tx.find("task", { nodeId })) ids.add(t.serviceId);
    const deleted = this.deleted;
    this.all = false;
    this.marked = new Set();
    this.deleted = new Set();
    this.touchedNodes = new Set();
    this.deferred = false;
    const nodes = new Map<string, Node>(tx.find("node").map((n) => [n.id, n]));
    const plan = emptyPlan();
    let read = 0;
    let created = 0;
    for (const id of [...ids].sort()) {
      if (read >= this.passTaskBudget || created >= this.passCreateBudget) {
        // Over budget: this service waits for the next pass, still marked.
        this.marked.add(id);
        if (deleted.has(id)) this.deleted.add(id);
        this.deferred = true;
        continue;
      }
      const service = tx.get("service", id);
      if (service === undefined) {
        if (deleted.has(id)) {
          const left = tx.find("task", { serviceId: id });
          read += left.length;
          mergePlan(plan, removeServiceTasks(id, left));
        }
        continue;
      }
      // Task events mark their service for every orchestrator; only the owner reads on.
      if (!this.owns(service)) continue;
      const tasks = tx.find("task", { serviceId: id });
      read += tasks.length;
      if (service.pendingDelete === true) {
        mergePlan(plan, removeServiceTasks(id, tasks));
        continue;
      }
      const ctx: ReconcileContext = { service, nodes, now, restarts: this.restarts, newId: () => generateId(this.random) };
      const decided = this.mode.decide(ctx, tasks);
      // New tasks are bounded apart from reads: 100 new services of 1,000 replicas made passes of
      // 8,000 creates, whose proposal, apply and watch events held the leader's event loop for
      // seconds. The creates left out are decided again in the next pass.
      const kept: TaskChange[] = [];
      for (const c of decided.changes) {
        if (onlyCreates(c)) {
          // The first new task of a pass always goes, so every pass makes progress.
          if (created > 0 && created + c.create.length > this.passCreateBudget) {
            this.marked.add(id);
            this.deferred = true;
            continue;
          }
          created += c.create.length;
        }
        kept.push(c);
        // New tasks cost like read ones too.
        read += c.create.length;
      }
      decided.changes = kept;
      mergePlan(plan, decided);
    }
    return plan;
  }
}
