// The job reconcilers. A job runs in iterations (service.jobStatus.jobIteration): a replicated job
// keeps up to maxConcurrent tasks running until totalCompletions slots have a COMPLETE task; a
// global job runs once on every eligible node. Failed tasks are restarted per the restart policy,
// in their slot. When the task template changes (an update, including ForceUpdate), the job runs
// again: the iteration is bumped and the old iteration's tasks are shut down.
import { TaskState, type Service, type Task } from "@shoal/store";
import { reconcilePerNode } from "./global.js";
import { isTaskDirty, newTask } from "./new-task.js";
import { emptyPlan, earliest, guardOf, mergePlan, type Plan } from "./plan.js";
import { reconcileSlot, type ReconcileContext } from "./slot-reconcile.js";
import { groupSlots, newSlotRef } from "./slots.js";
import { isNodeUnusable, isWanted } from "./task-states.js";

export function jobIteration(ctx: ReconcileContext): number {
  return ctx.service.jobStatus?.jobIteration ?? 0;
}

/**
 * The iteration bookkeeping shared by both job modes: returns the current iteration's tasks, or
 * undefined when the plan already decided to start a new iteration (decide the rest next pass).
 */
function splitIterations(ctx: ReconcileContext, tasks: readonly Task[], plan: Plan): Task[] | undefined {
  const iteration = jobIteration(ctx);
  const current = tasks.filter((t) => (t.jobIteration ?? 0) === iteration);
  for (const t of tasks) {
    if ((t.jobIteration ?? 0) === iteration || !isWanted(t)) continue;
    plan.changes.push({ reason: "old job iteration", serviceId: ctx.service.id, guard: [guardOf(t)], desired: [{ taskId: t.id, desiredState: TaskState.SHUTDOWN }], create: [] });
  }
  // A template change re-runs the job (swarm bumps the iteration on every update of a job).
  if (current.length > 0 && current.some((t) => isTaskDirty(ctx.service, t))) {
    plan.services.push({
      serviceId: ctx.service.id,
      version: ctx.service.meta.version.index,
      jobStatus: { jobIteration: iteration + 1, lastExecution: ctx.now },
    });
    return undefined;
  }
  return current;
}

export function reconcileReplicatedJob(ctx: ReconcileContext, tasks: readonly Task[]): Plan {
  const plan = emptyPlan();
  const current = splitIterations(ctx, tasks, plan);
  if (current === undefined) return plan;
  const spec = ctx.service.spec.replicatedJob ?? {};
  const maxConcurrent = Math.max(1, spec.maxConcurrent ?? 1);
  const total = spec.totalCompletions || maxConcurrent;

  const slots = new Map<number, Task[]>();
  for (const list of groupSlots(current.filter((t) => t.slot > 0)).values()) slots.set(list[0]!.slot, list);
  let running = 0;
  for (const list of slots.values()) {
    if (!list.some(isWanted)) continue;
    const out = reconcileSlot(ctx, list, { keepOn: (n) => !isNodeUnusable(n), canReplace: true, completesSlot: true });
    plan.wakeAtMs = earliest(plan.wakeAtMs, out.wakeAtMs);
    if (out.change !== undefined) plan.changes.push(out.change);
    if (out.live) running++;
  }
  // Every slot ever started in this iteration counts toward totalCompletions: done, running, or
  // given up on by the restart policy.
  let toStart = Math.min(maxConcurrent - running, total - slots.size);
  for (let slot = 1; toStart > 0; slot++) {
    if (slots.has(slot)) continue;
    toStart--;
    plan.changes.push({
      reason: "job run",
      serviceId: ctx.service.id,
      guard: [],
      slot: newSlotRef(ctx.service, { slot }),
      desired: [],
      create: [newTask(ctx.service, { id: ctx.newId(), slot }, ctx.now)],
    });
  }
  return plan;
}

export function reconcileGlobalJob(ctx: ReconcileContext, tasks: readonly Task[]): Plan {
  const plan = emptyPlan();
  const current = splitIterations(ctx, tasks, plan);
  if (current === undefined) return plan;
  return mergePlan(plan, reconcilePerNode(ctx, current, true));
}

/** True once a replicated job's current iteration has totalCompletions COMPLETE slots. */
export function jobComplete(service: Service, tasks: readonly Task[]): boolean {
  const spec = service.spec.replicatedJob;
  if (spec === undefined) return false;
  const total = spec.totalCompletions || Math.max(1, spec.maxConcurrent ?? 1);
  const iteration = service.jobStatus?.jobIteration ?? 0;
  const done = new Set(tasks.filter((t) => (t.jobIteration ?? 0) === iteration && t.status.state === TaskState.COMPLETE).map((t) => t.slot));
  return done.size >= total;
}
