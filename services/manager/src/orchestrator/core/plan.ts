// What a reconciler decides, as data: the edge commits each change in its own transaction and
// only if the tasks it was decided from are unchanged (optimistic, like the store's versions).
import type { JobStatus, NewObject, TaskState } from "@shoal/store";

/** A task as it was read when the change was decided. */
export interface TaskGuard {
  id: string;
  version: number;
}

/** The slot a change fills: it must still hold exactly the guarded tasks when the change commits. */
export interface SlotRef {
  serviceId: string;
  /** > 0 for replicated slots. */
  slot: number;
  /** Global slots (slot 0) are identified by their node. */
  nodeId: string;
  /** Jobs: only this iteration's tasks belong to the slot. */
  jobIteration?: number;
}

export interface DesiredStateChange {
  taskId: string;
  desiredState: TaskState;
}

/** A restart the restart history must remember once the change committed. */
export interface RestartRecord {
  key: string;
  specVersion: number;
  atMs: number;
}

export interface TaskChange {
  /** Why, for the log: "scale down", "restart", "node down" … */
  reason: string;
  serviceId: string;
  guard: TaskGuard[];
  slot?: SlotRef;
  desired: DesiredStateChange[];
  create: NewObject<"task">[];
  delete?: string[];
  restart?: RestartRecord;
}

export interface ServiceStatusChange {
  serviceId: string;
  version: number;
  jobStatus: JobStatus;
}

export interface Plan {
  changes: TaskChange[];
  services: ServiceStatusChange[];
  /** The earliest time at which a held-back decision (a restart delay) falls due. */
  wakeAtMs?: number;
}

export function emptyPlan(): Plan {
  return { changes: [], services: [] };
}

export function guardOf(task: { id: string; meta: { version: { index: number } } }): TaskGuard {
  return { id: task.id, version: task.meta.version.index };
}

export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** Appends another plan's decisions to plan. */
export function mergePlan(plan: Plan, other: Plan): Plan {
  plan.changes.push(...other.changes);
  plan.services.push(...other.services);
  plan.wakeAtMs = earliest(plan.wakeAtMs, other.wakeAtMs);
  return plan;
}
