// Orchestration (DESIGN §2): pure decision cores in core/, leader-only store-watching edges in edge/.
// Exports are curated: the package index merges every component's names, so generic helpers
// (task-state predicates, plan plumbing) stay inside core/index.ts and edge/index.ts.
export { OrchestratorError, type OrchestratorErrorCode, type OrchestratorErrorMeta } from "./errors.js";
// Task creation and staleness: shared with the rolling updater.
export { newTask, taskName, isTaskDirty, serviceMode, specMode, isJob, runState, type NewTaskOptions, type ServiceMode } from "./core/new-task.js";
export { dirtySlots, groupSlots, slotId } from "./core/slots.js";
export type { Plan, TaskChange, TaskGuard, SlotRef, DesiredStateChange, RestartRecord, ServiceStatusChange } from "./core/plan.js";
export type { ReconcileContext } from "./core/slot-reconcile.js";
export { reconcileReplicated, removeServiceTasks } from "./core/replicated.js";
export { reconcilePerNode } from "./core/global.js";
export { reconcileReplicatedJob, reconcileGlobalJob, jobComplete } from "./core/jobs.js";
export {
  RestartHistory,
  restartPolicy,
  restartKey,
  shouldRestart,
  heldTaskStart,
  OLD_TASK_TIMEOUT_MS,
  type ResolvedRestartPolicy,
  type StartVerdict,
} from "./core/restart.js";
export { tasksToReap, servicesToDelete, retentionLimit, type ReaperInput } from "./core/reaper.js";
export { tasksToShed, type Shed } from "./core/constraint-enforcer.js";
export { placementAllows } from "./core/placement.js";
export { tasksToOrphan, ORPHAN_AFTER_MS } from "./core/orphans.js";
// Edges (leader-only): start() when this manager becomes leader, stop() when it steps down.
export { ReplicatedOrchestrator, GlobalOrchestrator, JobsOrchestrator } from "./edge/orchestrators.js";
export { ServiceOrchestrator, type OrchestratorModules, type OrchestratorOptions } from "./edge/service-orchestrator.js";
export { TaskReaper, type TaskReaperOptions } from "./edge/task-reaper.js";
export { ConstraintEnforcer, type ConstraintEnforcerOptions } from "./edge/constraint-enforcer.js";
export { Orchestration, type OrchestrationOptions } from "./edge/orchestration.js";
export { ReconcileLoop, type LoopModules, type PassResult } from "./edge/reconcile-loop.js";
