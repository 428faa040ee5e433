// The three service orchestrators, one per family of modes (DESIGN §2): each is the shared edge
// with its mode's pure reconciler.
import { reconcilePerNode } from "../core/global.js";
import { reconcileGlobalJob, reconcileReplicatedJob } from "../core/jobs.js";
import { serviceMode } from "../core/new-task.js";
import { reconcileReplicated } from "../core/replicated.js";
import { ServiceOrchestrator, type ModeReconciler, type OrchestratorModules, type OrchestratorOptions } from "./service-orchestrator.js";

const REPLICATED: ModeReconciler = { component: "replicated-orchestrator", modes: ["replicated"], decide: reconcileReplicated };
const GLOBAL: ModeReconciler = { component: "global-orchestrator", modes: ["global"], decide: (ctx, tasks) => reconcilePerNode(ctx, tasks, false) };
const JOBS: ModeReconciler = {
  component: "jobs-orchestrator",
  modes: ["replicated-job", "global-job"],
  decide: (ctx, tasks) => (serviceMode(ctx.service) === "global-job" ? reconcileGlobalJob(ctx, tasks) : reconcileReplicatedJob(ctx, tasks)),
};

/** Keeps replicated services at their replica count, restarting and replacing tasks. */
export class ReplicatedOrchestrator extends ServiceOrchestrator {
  constructor(opts: OrchestratorOptions, modules: OrchestratorModules) {
    super(REPLICATED, opts, modules);
  }
}

/** Runs one task of each global service on every eligible node. */
export class GlobalOrchestrator extends ServiceOrchestrator {
  constructor(opts: OrchestratorOptions, modules: OrchestratorModules) {
    super(GLOBAL, opts, modules);
  }
}

/** Runs replicated and global jobs to completion, iteration by iteration. */
export class JobsOrchestrator extends ServiceOrchestrator {
  constructor(opts: OrchestratorOptions, modules: OrchestratorModules) {
    super(JOBS, opts, modules);
  }
}
