// The replicated reconciler: keeps `replicas` slots occupied. Missing slots get NEW tasks (lowest
// free numbers first, so history is reused), surplus slots are removed (tasks not yet running
// first, then those on the node with most tasks of the service, then the highest slot), and each
// slot's ended or stranded task is handled by reconcileSlot. It never touches a slot whose task runs
// an older template: that is the rolling updater's (see dirtySlots).
import { TaskState, type Task } from "@shoal/store";
import { newTask } from "./new-task.js";
import { emptyPlan, earliest, guardOf, type Plan, type TaskChange } from "./plan.js";
import { isRestingSlot, reconcileSlot, type ReconcileContext } from "./slot-reconcile.js";
import { groupSlots, newSlotRef, slotRefOf } from "./slots.js";
import { isNodeLost, isNodeUnusable, isWanted } from "./task-states.js";

/** Decisions for one replicated service; `tasks` are all of its tasks. */
export function reconcileReplicated(ctx: ReconcileContext, tasks: readonly Task[]): Plan {
  const { service } = ctx;
  const replicas = service.spec.replicated?.replicas ?? 0;
  const plan = emptyPlan();
  // Slot number -> its tasks. Tasks without a slot (slot 0) are not a replicated service's.
  const slots = new Map<number, Task[]>();
  for (const list of groupSlots(tasks.filter((t) => t.slot > 0)).values()) slots.set(list[0]!.slot, list);

  const occupied = new Set<number>();
  // Slots that scale-down may pick: they hold a wanted task and nothing else changes them this pass.
  const removable: number[] = [];
  for (const [slot, list] of slots) {
    if (isRestingSlot(service, list)) {
      occupied.add(slot);
      continue;
    }
    if (!list.some(isWanted)) continue;
    const out = reconcileSlot(ctx, list, { keepOn: (n) => !isNodeUnusable(n), canReplace: true, completesSlot: false });
    plan.wakeAtMs = earliest(plan.wakeAtMs, out.wakeAtMs);
    // A slot changed this pass is counted as it was; the next pass sees the outcome.
    if (out.live || out.resting || out.change !== undefined) occupied.add(slot);
    if (out.change !== undefined) plan.changes.push(out.change);
    else if (out.live) removable.push(slot);
  }

  if (occupied.size < replicas) {
    let slot = 0;
    for (let missing = replicas - occupied.size; missing > 0; missing--) {
      do slot++;
      while (occupied.has(slot));
      const history = slots.get(slot) ?? [];
      plan.changes.push({
        reason: "scale up",
        serviceId: service.id,
        guard: history.map(guardOf),
        slot: newSlotRef(service, { slot }),
        desired: [],
        create: [newTask(service, { id: ctx.newId(), slot }, ctx.now)],
      });
    }
  } else if (occupied.size > replicas) {
    plan.changes.push(...scaleDown(ctx, slots, removable, occupied.size - replicas));
  }
  return plan;
}

/**
 * Picks `excess` slots to remove, one at a time so that node loads update between picks: a task
 * not running yet (or stranded on a lost node) first, then the busiest node, then the highest slot.
 */
function scaleDown(ctx: ReconcileContext, slots: ReadonlyMap<number, Task[]>, candidates: number[], excess: number): TaskChange[] {
  const wanted = new Map(candidates.map((slot) => [slot, slots.get(slot)!.filter(isWanted)]));
  const live = (slot: number): Task[] => wanted.get(slot)!;
  const load = new Map<string, number>();
  for (const slot of candidates) for (const t of live(slot)) load.set(t.nodeId, (load.get(t.nodeId) ?? 0) + 1);
  const notRunning = (slot: number): boolean =>
    live(slot).every((t) => t.status.state < TaskState.RUNNING || isNodeLost(ctx.nodes.get(t.nodeId)));
  const nodeLoad = (slot: number): number => Math.max(...live(slot).map((t) => (t.nodeId === "" ? 0 : (load.get(t.nodeId) ?? 0))));
  const pool = [...candidates];
  const changes: TaskChange[] = [];
  while (excess-- > 0 && pool.length > 0) {
    pool.sort((a, b) => Number(notRunning(b)) - Number(notRunning(a)) || nodeLoad(b) - nodeLoad(a) || b - a);
    const slot = pool.shift()!;
    for (const t of live(slot)) load.set(t.nodeId, (load.get(t.nodeId) ?? 0) - 1);
    changes.push(removeSlot(ctx.service.id, slots.get(slot)!, "scale down"));
  }
  return changes;
}

/** Sets REMOVE on a slot's wanted tasks: the agent stops them and the reaper deletes them. */
function removeSlot(serviceId: string, tasks: readonly Task[], reason: string): TaskChange {
  const first = tasks[0]!;
  return {
    reason,
    serviceId,
    guard: tasks.map(guardOf),
    slot: slotRefOf(first),
    desired: tasks.filter(isWanted).map((t) => ({ taskId: t.id, desiredState: TaskState.REMOVE })),
    create: [],
  };
}

/**
 * The service was deleted (or is being deleted): every task that is not already REMOVE gets REMOVE,
 * so agents stop them and the reaper deletes them once they have stopped.
 */
export function removeServiceTasks(serviceId: string, tasks: readonly Task[]): Plan {
  const plan = emptyPlan();
  for (const t of tasks) {
    if (t.desiredState >= TaskState.REMOVE) continue;
    plan.changes.push({ reason: "service removed", serviceId, guard: [guardOf(t)], desired: [{ taskId: t.id, desiredState: TaskState.REMOVE }], create: [] });
  }
  return plan;
}
