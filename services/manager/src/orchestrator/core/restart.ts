// The restart supervisor's decisions: whether a task that ended is replaced under its restart
// policy (condition, maxAttempts within a window), how long the replacement is held back, and when
// a held-back replacement may start. Restarts are counted per slot (replicated) or per node
// (global). Pure: the history is plain state that the edge records into after a commit.
//
// Held-back replacements follow swarm: the new task is created at once with desiredState READY (it
// occupies the slot, so no reconciler fills the slot twice, and it may be scheduled and prepared)
// and is moved to its run state when the delay has passed and the task it replaces has stopped.
// The due time is computed from the replacement's createdAt, so a new leader resumes it.
import { DEFAULT_RESTART_CONDITION, DEFAULT_RESTART_DELAY_NS, RestartCondition, TaskState, type Node, type Task, type TaskSpec } from "@shoal/store";
import { isNodeLost, isTerminal, isWanted } from "./task-states.js";

/** How long a held-back replacement waits for the task it replaces to stop (swarm: 1 minute). */
export const OLD_TASK_TIMEOUT_MS = 60_000;

export interface ResolvedRestartPolicy {
  condition: RestartCondition;
  delayMs: number;
  /** 0 = unlimited. */
  maxAttempts: number;
  /** 0 = attempts are counted since the spec changed. */
  windowMs: number;
}

const NS_PER_MS = 1_000_000;
const MAX_REMEMBERED_RESTARTS = 1_000;

export function restartPolicy(spec: TaskSpec): ResolvedRestartPolicy {
  const r = spec.restart ?? {};
  return {
    condition: r.condition ?? DEFAULT_RESTART_CONDITION,
    delayMs: (r.delayNs || DEFAULT_RESTART_DELAY_NS) / NS_PER_MS,
    maxAttempts: r.maxAttempts ?? 0,
    windowMs: (r.windowNs ?? 0) / NS_PER_MS,
  };
}

/** The restart-counting key of a task: its service and slot, or its service and node. */
export function restartKey(task: Pick<Task, "serviceId" | "slot" | "nodeId">): string {
  return `${task.serviceId}/${task.slot > 0 ? `#${task.slot}` : `@${task.nodeId}`}`;
}

interface SlotHistory {
  specVersion: number;
  // Invariant: ascending.
  atMs: number[];
}

/**
 * Restarts done per slot. Attempts of an older spec version do not count against a new one: an
 * update deserves a fresh budget (as swarm).
 */
export class RestartHistory {
  private readonly slots = new Map<string, SlotHistory>();

  /** Restarts of key at specVersion, within the window ending at now (all of them when windowMs is 0). */
  attempts(key: string, specVersion: number, windowMs: number, now: number): number {
    const h = this.slots.get(key);
    if (h === undefined || h.specVersion !== specVersion) return 0;
    if (windowMs <= 0) return h.atMs.length;
    return h.atMs.filter((t) => t > now - windowMs).length;
  }

  record(key: string, specVersion: number, atMs: number): void {
    let h = this.slots.get(key);
    if (h === undefined || h.specVersion !== specVersion) {
      h = { specVersion, atMs: [] };
      this.slots.set(key, h);
    }
    h.atMs.push(atMs);
    // Bounded: no sane maxAttempts comes near this, and a crash-looping slot must not grow forever.
    if (h.atMs.length > MAX_REMEMBERED_RESTARTS) h.atMs.splice(0, h.atMs.length - MAX_REMEMBERED_RESTARTS);
  }

  forgetService(serviceId: string): void {
    for (const key of [...this.slots.keys()]) if (key.startsWith(`${serviceId}/`)) this.slots.delete(key);
  }
}

/** The policy's verdict on a task that ended by itself: replace it? */
export function shouldRestart(task: Task, history: RestartHistory, now: number): boolean {
  const policy = restartPolicy(task.spec);
  if (policy.condition === RestartCondition.NONE) return false;
  if (policy.condition === RestartCondition.ON_FAILURE && task.status.state === TaskState.COMPLETE) return false;
  if (policy.maxAttempts === 0) return true;
  return history.attempts(restartKey(task), task.specVersion ?? 0, policy.windowMs, now) < policy.maxAttempts;
}

export type StartVerdict = { due: true } | { due: false; wakeAtMs: number };

/**
 * Whether a held-back (desiredState READY) task may start now: its restart delay has passed and the
 * tasks it replaces in its slot have stopped, their node is lost, or we waited OLD_TASK_TIMEOUT_MS.
 */
export function heldTaskStart(task: Task, slotTasks: readonly Task[], nodes: ReadonlyMap<string, Node>, now: number): StartVerdict {
  const startAt = task.meta.createdAt + restartPolicy(task.spec).delayMs;
  if (now < startAt) return { due: false, wakeAtMs: startAt };
  const giveUpAt = startAt + OLD_TASK_TIMEOUT_MS;
  const stillStopping = slotTasks.some(
    (t) => t.id !== task.id && !isWanted(t) && !isTerminal(t) && t.nodeId !== "" && !isNodeLost(nodes.get(t.nodeId)),
  );
  if (stillStopping && now < giveUpAt) return { due: false, wakeAtMs: giveUpAt };
  return { due: true };
}
