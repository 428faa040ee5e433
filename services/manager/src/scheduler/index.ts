// The scheduler (DESIGN §2: PENDING → ASSIGNED): the pure placement core and its store-driven edge.
// Exports are curated: the package index merges every component's names.
export {
  parseConstraint,
  parseConstraints,
  matchesConstraint,
  matchesConstraints,
  unmetConstraint,
  nodeFieldValue,
  parseSpreadDescriptor,
  type Constraint,
  type ConstraintOperator,
  type NodeField,
} from "./core/constraints.js";
export { SchedulerError, type SchedulerErrorCode, type SchedulerErrorMeta } from "./core/errors.js";
export { SchedulerState, needsScheduling, DEFAULT_FAILURE_WINDOW_MS, type SchedulerStateOpts } from "./core/state.js";
export { NodeInfo, type TaskUsage } from "./core/node-info.js";
export { scheduleBatch, type BatchDecision, type TaskPlacement, type UnschedulableTask } from "./core/schedule.js";
export { Scheduler, ASSIGNED_MESSAGE, assignedTask, type Placer, type SchedulerOpts, type SchedulerModules } from "./scheduler.js";
