// All leader-only orchestration components together, started and stopped as one (the manager
// starts them when it becomes leader and stops them, in reverse order, when it steps down).
import type { OrchestratorModules } from "./service-orchestrator.js";
import { ConstraintEnforcer } from "./constraint-enforcer.js";
import { GlobalOrchestrator, JobsOrchestrator, ReplicatedOrchestrator } from "./orchestrators.js";
import type { ReconcileLoop } from "./reconcile-loop.js";
import { TaskReaper } from "./task-reaper.js";

export interface OrchestrationOptions {
  /** The service orchestrators', constraint enforcer's and task reaper's per-pass budget (passTaskBudget). */
  passTaskBudget?: number;
  /** The service orchestrators' bound on new tasks per pass (passCreateBudget). */
  passCreateBudget?: number;
}

export class Orchestration {
  readonly replicated: ReplicatedOrchestrator;
  readonly global: GlobalOrchestrator;
  readonly jobs: JobsOrchestrator;
  readonly constraintEnforcer: ConstraintEnforcer;
  readonly taskReaper: TaskReaper;
  private readonly parts: ReconcileLoop[];

  constructor(opts: OrchestrationOptions, modules: OrchestratorModules) {
    const budget = opts.passTaskBudget === undefined ? {} : { passTaskBudget: opts.passTaskBudget };
    const creates = opts.passCreateBudget === undefined ? budget : { ...budget, passCreateBudget: opts.passCreateBudget };
    this.replicated = new ReplicatedOrchestrator(creates, modules);
    this.global = new GlobalOrchestrator(creates, modules);
    this.jobs = new JobsOrchestrator(creates, modules);
    this.constraintEnforcer = new ConstraintEnforcer(budget, modules);
    this.taskReaper = new TaskReaper(budget, modules);
    this.parts = [this.replicated, this.global, this.jobs, this.constraintEnforcer, this.taskReaper];
  }

  start(): void {
    for (const p of this.parts) p.start();
  }

  async stop(): Promise<void> {
    for (const p of [...this.parts].reverse()) await p.stop();
  }

  /** Resolves when every component is idle at once (tests). */
  async whenIdle(): Promise<void> {
    for (let settled = false; !settled; ) {
      for (const p of this.parts) await p.whenIdle();
      settled = this.parts.every((p) => p.isIdle());
    }
  }
}
