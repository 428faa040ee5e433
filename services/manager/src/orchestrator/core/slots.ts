// Slots: the unit a service's tasks are counted, restarted and updated by. A replicated slot is a
// number (1..replicas); a global slot is a node. A slot's tasks are its current task and its history.
import type { Service, Task } from "@shoal/store";
import { isTaskDirty, newTaskIteration } from "./new-task.js";
import type { SlotRef } from "./plan.js";
import { byAge, isWanted } from "./task-states.js";

/** A slot's identity within its service: "#3" for slot 3, "@node1" for the slot of node1. */
export function slotId(task: Pick<Task, "slot" | "nodeId">): string {
  return task.slot > 0 ? `#${task.slot}` : `@${task.nodeId}`;
}

export function slotRefOf(task: Pick<Task, "serviceId" | "slot" | "nodeId" | "jobIteration">): SlotRef {
  const ref: SlotRef = { serviceId: task.serviceId, slot: task.slot, nodeId: task.slot > 0 ? "" : task.nodeId };
  if (task.jobIteration !== undefined) ref.jobIteration = task.jobIteration;
  return ref;
}

/** The slot a new task of the service will fill (jobs: in the current iteration). */
export function newSlotRef(service: Service, where: { slot?: number; nodeId?: string }): SlotRef {
  const slot = where.slot ?? 0;
  return slotRefOf({ serviceId: service.id, slot, nodeId: slot > 0 ? "" : (where.nodeId ?? ""), jobIteration: newTaskIteration(service) });
}

/** One service's tasks by slot, each slot's tasks oldest first. */
export function groupSlots(tasks: readonly Task[]): Map<string, Task[]> {
  const slots = new Map<string, Task[]>();
  for (const t of tasks) {
    const id = slotId(t);
    let list = slots.get(id);
    if (list === undefined) slots.set(id, (list = []));
    list.push(t);
  }
  for (const list of slots.values()) list.sort(byAge);
  return slots;
}

/**
 * The slots the rolling updater must replace: those whose wanted tasks (desiredState up to
 * RUNNING/COMPLETE) run an older template. Each entry is that slot's wanted tasks, oldest first.
 * Slots without a wanted task are not the updater's: the orchestrator refills them with the current
 * template.
 */
export function dirtySlots(service: Service, tasks: readonly Task[]): Task[][] {
  const out: Task[][] = [];
  for (const list of groupSlots(tasks.filter((t) => t.serviceId === service.id)).values()) {
    const wanted = list.filter(isWanted);
    if (wanted.some((t) => isTaskDirty(service, t))) out.push(wanted);
  }
  return out;
}
