// One slot's task-level decisions, shared by every orchestrator: replace a wanted task that ended
// (under the restart policy) or whose node can no longer keep it, and start held-back replacements
// when due. Service-level decisions (how many slots, which node) belong to the mode's reconciler.
import { TaskState, type NewObject, type Node, type Service, type Task } from "@shoal/store";
import { newTask, runState } from "./new-task.js";
import { guardOf, type DesiredStateChange, type TaskChange } from "./plan.js";
import { RestartHistory, heldTaskStart, restartKey, restartPolicy, shouldRestart } from "./restart.js";
import { slotRefOf } from "./slots.js";
import { exitedByItself, isTerminal, isWanted } from "./task-states.js";

export interface ReconcileContext {
  service: Service;
  /** All nodes by id. */
  nodes: ReadonlyMap<string, Node>;
  now: number;
  restarts: RestartHistory;
  /** Ids for new tasks (injected: cores take no randomness of their own). */
  newId: () => string;
}

export interface SlotRules {
  /** May a task stay on this node (undefined: the node is gone)? */
  keepOn(node: Node | undefined): boolean;
  /** May this slot get a replacement now (global: only on an eligible node)? */
  canReplace: boolean;
  /** Jobs: a COMPLETE task finished the slot's work; it is kept, never restarted. */
  completesSlot: boolean;
}

export interface SlotOutcome {
  change?: TaskChange;
  /** The slot holds a wanted, unfinished task once the change commits. */
  live: boolean;
  /** Jobs: the slot's work is done. */
  done: boolean;
  /** The restart policy declined to replace the slot's task: the slot stays dead, but counted. */
  resting: boolean;
  wakeAtMs?: number;
}

/** Decides what one slot needs; `tasks` are the slot's tasks, oldest first. */
export function reconcileSlot(ctx: ReconcileContext, tasks: readonly Task[], rules: SlotRules): SlotOutcome {
  const wanted = tasks.filter(isWanted);
  if (rules.completesSlot && wanted.some((t) => t.status.state === TaskState.COMPLETE)) {
    return { live: false, done: true, resting: false };
  }
  const desired: DesiredStateChange[] = [];
  const keep: Task[] = [];
  let ended: { task: Task; byItself: boolean } | undefined;
  for (const t of wanted) {
    if (isTerminal(t)) {
      desired.push({ taskId: t.id, desiredState: TaskState.SHUTDOWN });
      ended = { task: t, byItself: true };
    } else if (t.nodeId !== "" && !rules.keepOn(ctx.nodes.get(t.nodeId))) {
      desired.push({ taskId: t.id, desiredState: TaskState.SHUTDOWN });
      ended ??= { task: t, byItself: false };
    } else {
      keep.push(t);
    }
  }
  let wakeAtMs: number | undefined;
  for (const t of keep) {
    if (t.desiredState !== TaskState.READY) continue;
    const verdict = heldTaskStart(t, tasks, ctx.nodes, ctx.now);
    if (verdict.due) desired.push({ taskId: t.id, desiredState: runState(ctx.service) });
    else wakeAtMs = wakeAtMs === undefined ? verdict.wakeAtMs : Math.min(wakeAtMs, verdict.wakeAtMs);
  }
  let create: NewObject<"task">[] | undefined;
  let resting = false;
  let reason = ended === undefined ? "start delayed task" : "shut down ended task";
  let restart: TaskChange["restart"];
  if (keep.length === 0 && ended !== undefined) {
    const old = ended.task;
    const where = { slot: old.slot, nodeId: old.slot > 0 ? "" : old.nodeId };
    if (!rules.canReplace) {
      reason = "node may not keep task";
    } else if (!ended.byItself) {
      // Losing the node is not the task's failure: replaced at once, whatever the restart policy.
      reason = "node lost or drained";
      create = [newTask(ctx.service, { id: ctx.newId(), ...where }, ctx.now)];
    } else if (shouldRestart(old, ctx.restarts, ctx.now)) {
      reason = "restart";
      const held = restartPolicy(ctx.service.spec.task).delayMs > 0;
      const desiredState = held ? TaskState.READY : runState(ctx.service);
      create = [newTask(ctx.service, { id: ctx.newId(), ...where, desiredState }, ctx.now)];
      restart = { key: restartKey(old), specVersion: ctx.service.meta.version.index, atMs: ctx.now };
      if (held) wakeAtMs = ctx.now + restartPolicy(ctx.service.spec.task).delayMs;
    } else {
      reason = "restart policy declined";
      resting = exitedByItself(old);
    }
  }
  const live = keep.length > 0 || create !== undefined;
  const outcome: SlotOutcome = { live, done: false, resting };
  if (wakeAtMs !== undefined) outcome.wakeAtMs = wakeAtMs;
  if (desired.length > 0 || create !== undefined) {
    const first = tasks[0]!;
    const change: TaskChange = {
      reason,
      serviceId: ctx.service.id,
      guard: tasks.map(guardOf),
      slot: slotRefOf(first),
      desired,
      create: create ?? [],
    };
    if (restart !== undefined) change.restart = restart;
    outcome.change = change;
  }
  return outcome;
}

/**
 * A slot without wanted tasks stays dead (but counted) when its last task ended by itself, the
 * policy declined a restart, and the service has not changed since that task was made; any other
 * dead slot may be refilled.
 */
export function isRestingSlot(service: Service, tasks: readonly Task[]): boolean {
  if (tasks.some(isWanted) || tasks.length === 0) return false;
  const latest = tasks[tasks.length - 1]!;
  return exitedByItself(latest) && (latest.specVersion ?? 0) >= service.meta.version.index;
}
