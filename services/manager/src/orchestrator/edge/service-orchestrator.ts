// The edge of the service orchestrators (replicated, global, jobs): marks the services that events
// touch, reads each marked service with its tasks and all nodes, asks the mode's pure reconciler for
// a Plan, commits it and records the restarts it made. Leader-only. Must not decide anything itself.
import { systemRandom, type Random } from "@shoal/common";
import { generateId, type Kind, type Node, type ReadTx, type Service, type StoreEvent, type Task } from "@shoal/store";
import { serviceMode, type ServiceMode } from "../core/new-task.js";
import { changesOrchestration } from "../core/task-states.js";
import { emptyPlan, mergePlan, type Plan } from "../core/plan.js";
import { removeServiceTasks } from "../core/replicated.js";
import { RestartHistory } from "../core/restart.js";
import type { ReconcileContext } from "../core/slot-reconcile.js";
import { logCommitted, stagePlan } from "./commit.js";
import { ReconcileLoop, type LoopModules, type PassResult } from "./reconcile-loop.js";

export interface OrchestratorModules extends LoopModules {
  /** For task ids; default: the process's randomness. */
  random?: Random;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no options yet; kept for the (opts, modules) convention
export interface OrchestratorOptions {}

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
  private marked = new Set<string>();
  private all = true;
  // Services of ours deleted since the last pass: their tasks must go.
  private deleted = new Set<string>();

  protected constructor(
    private readonly mode: ModeReconciler,
    modules: OrchestratorModules,
  ) {
    super(mode.component, modules);
    this.random = modules.random ?? systemRandom;
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
        // Nodes decide eligibility (global) and strand tasks (all modes): every service may care.
        this.all = true;
        return true;
      default:
        return false;
    }
  }

  protected async pass(): Promise<PassResult> {
    // Decided once the batch holds the store's write lock: services and tasks marked while other
    // components were writing are in this plan, so a busy store gets fewer, fuller raft entries.
    let plan: Plan = emptyPlan();
    const result = await this.store.batch(async (batch) => {
      await this.settleEvents();
      const now = this.clock.now();
      plan = this.store.view((tx) => this.decideMarked(tx, now));
      return stagePlan(batch, plan, this.log);
    });
    logCommitted(result, this.log);
    for (const c of result.committed) if (c.restart !== undefined) this.restarts.record(c.restart.key, c.restart.specVersion, c.restart.atMs);
    const out: PassResult = { retry: result.conflicted.size > 0 };
    if (plan.wakeAtMs !== undefined) out.wakeAtMs = plan.wakeAtMs;
    return out;
  }

  private decideMarked(tx: ReadTx, now: number): Plan {
    const ids = this.all ? new Set(tx.find("service").filter((s) => this.owns(s)).map((s) => s.id)) : new Set<string>();
    for (const id of this.marked) ids.add(id);
    for (const id of this.deleted) ids.add(id);
    const deleted = this.deleted;
    this.all = false;
    this.marked = new Set();
    this.deleted = new Set();
    const nodes = new Map<string, Node>(tx.find("node").map((n) => [n.id, n]));
    const plan = emptyPlan();
    for (const id of [...ids].sort()) {
      const service = tx.get("service", id);
      if (service === undefined) {
        if (deleted.has(id)) mergePlan(plan, removeServiceTasks(id, tx.find("task", { serviceId: id })));
        continue;
      }
      // Task events mark their service for every orchestrator; only the owner reads on.
      if (!this.owns(service)) continue;
      const tasks = tx.find("task", { serviceId: id });
      if (service.pendingDelete === true) {
        mergePlan(plan, removeServiceTasks(id, tasks));
        continue;
      }
      const ctx: ReconcileContext = { service, nodes, now, restarts: this.restarts, newId: () => generateId(this.random) };
      mergePlan(plan, this.mode.decide(ctx, tasks));
    }
    return plan;
  }
}
