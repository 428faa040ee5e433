// Where an update stands, read from the store alone (so that a new leader picks up exactly where the
// old one was): for each slot of the service, whether it still runs the old template, has been
// given a new task in this update ("attempted": a clean task created since the update started),
// and whether that attempt has settled (the new task got to RUNNING, or ended). Pure.
import { TaskState, type Service, type Task } from "@shoal/store";
import { isTaskDirty } from "../../orchestrator/core/new-task.js";
import { groupSlots } from "../../orchestrator/core/slots.js";
import { exitedByItself, isWanted } from "../../orchestrator/core/task-states.js";

/** What the edge saw of a task's life that the store does not keep. */
export interface TaskLife {
  /** When the task was seen RUNNING (its status timestamp then); unset: never seen running. */
  runningAtMs?: number;
}

/** Observations by task id. A task missing here was never seen alive (e.g. by a new leader). */
export type TaskLives = ReadonlyMap<string, TaskLife>;

export interface SlotProgress {
  /** Every task of the slot, oldest first. */
  tasks: Task[];
  dirtyWanted: Task[];
  cleanWanted: Task[];
  /** Clean tasks created since the update started: this update's new tasks in the slot. */
  attempts: Task[];
  /** The slot still runs only the old template: it waits for its turn. */
  pending: boolean;
  /** The slot's replacement is under way: the new task has not got to RUNNING (or ended) yet, or old and new both run. */
  unsettled: boolean;
  /** When the first new task got to RUNNING (or ended); undefined while unsettled or not attempted. */
  settledAtMs?: number;
}

/** Every slot of the service with its progress, in a stable order (slot number, then node id). */
export function slotProgress(service: Service, tasks: readonly Task[], startedAtMs: number): SlotProgress[] {
  const out: SlotProgress[] = [];
  const groups = [...groupSlots(tasks.filter((t) => t.serviceId === service.id)).values()];
  groups.sort((a, b) => a[0]!.slot - b[0]!.slot || (a[0]!.nodeId < b[0]!.nodeId ? -1 : a[0]!.nodeId > b[0]!.nodeId ? 1 : 0));
  for (const list of groups) {
    const wanted = list.filter(isWanted);
    const dirtyWanted = wanted.filter((t) => isTaskDirty(service, t));
    const cleanWanted = wanted.filter((t) => !isTaskDirty(service, t));
    const attempts = list.filter((t) => !isTaskDirty(service, t) && t.meta.createdAt >= startedAtMs);
    const reached = attempts.filter((t) => t.status.state >= TaskState.RUNNING);
    const bothRun = dirtyWanted.length > 0 && cleanWanted.length > 0;
    const unsettled = bothRun || (attempts.length > 0 && reached.length === 0);
    const p: SlotProgress = { tasks: list, dirtyWanted, cleanWanted, attempts, pending: dirtyWanted.length > 0 && cleanWanted.length === 0, unsettled };
    if (!unsettled && reached.length > 0) p.settledAtMs = Math.min(...reached.map((t) => t.status.timestamp));
    out.push(p);
  }
  return out;
}

/**
 * A new task of this update that ended by itself (failed, rejected, or exited) within `monitorMs`
 * of starting to run. A task seen ending before it ever ran failed to start, and counts. A task
 * never seen alive (a new leader finds it ended) counts only if it ended within monitorMs of its
 * creation: a failure sure to be in the window — a spurious pause would be worse than a missed
 * failure, which a crash-looping task soon repeats in sight.
 */
export function failedWithinMonitor(task: Task, life: TaskLife | undefined, monitorMs: number): boolean {
  if (!exitedByItself(task)) return false;
  const endedAt = task.status.timestamp;
  if (life === undefined) return endedAt - task.meta.createdAt <= monitorMs;
  if (life.runningAtMs === undefined) return true;
  return endedAt - life.runningAtMs <= monitorMs;
}
