// The rolling updater's decisions for one service (DESIGN §2, Docker's semantics): given the
// service, its tasks, the nodes and what the edge saw of task lives, decide the next step — start
// or finish the update, pause or roll back on failures, and which slots to replace now.
//
// Every decision is derived from the store (update status, startedAt, task specs and states), never
// from memory of earlier decisions, so a new leader continues exactly where the old one stopped.
// Replacing slots that run an older template is this module's alone: the orchestrators leave them.
//
//   stop-first:  the old tasks get desiredState SHUTDOWN and, in the same transaction, the new task
//                is created READY (held); it is moved to RUNNING once the old ones have stopped.
//   start-first: the new task is created RUNNING; the old ones get SHUTDOWN once it runs.
// `parallelism` slots are in flight at once; a slot stays in flight until its new task runs (or
// ended) and for `delay` after that. A new task that ends within `monitor` of starting counts as a
// failure; failed slots / slots updated so far above maxFailureRatio triggers the failure action.
import { TaskState, UpdateFailureAction, type Node, type Service, type Task, type UpdateStatus } from "@shoal/store";
import { newTask, serviceMode } from "../../orchestrator/core/new-task.js";
import { earliest, guardOf, type TaskChange } from "../../orchestrator/core/plan.js";
import { OLD_TASK_TIMEOUT_MS } from "../../orchestrator/core/restart.js";
import { slotRefOf } from "../../orchestrator/core/slots.js";
import { exitedByItself, isNodeLost, isTerminal, isWanted } from "../../orchestrator/core/task-states.js";
import { isStartFirst, updatePolicy, type ResolvedUpdateConfig } from "./config.js";
import { failedWithinMonitor, slotProgress, type SlotProgress, type TaskLives } from "./progress.js";
import {
  autoRollbackStatus,
  completedStatus,
  isRollingBack,
  isUpdateActive,
  isUpdatePaused,
  pausedStatus,
  startedStatus,
  type UpdateStatusChange,
} from "./status.js";

export interface UpdateInput {
  service: Service;
  /** All tasks of the service. */
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  now: number;
  lives: TaskLives;
  /** Ids for new tasks (the edge generates them). */
  newId: () => string;
}

export interface UpdateDecision {
  /** Task changes, each committed on its own if the slot is unchanged (orchestrator's commitPlan). */
  changes: TaskChange[];
  /** Written before the task changes; if it conflicts, they are dropped and the service decided again. */
  status?: UpdateStatusChange;
  /** Decide again at this time (a delay or monitor window ends, an old task is waited for). */
  wakeAtMs?: number;
}

/** Only long-running services roll; jobs re-run by iteration instead. */
export function isUpdatable(service: Service): boolean {
  const mode = serviceMode(service);
  return (mode === "replicated" || mode === "global") && service.pendingDelete !== true;
}

export function decideUpdate(input: UpdateInput): UpdateDecision {
  const { service, now } = input;
  const out: UpdateDecision = { changes: [] };
  if (!isUpdatable(service) || isUpdatePaused(service.updateStatus)) return out;
  const version = service.meta.version.index;
  let status: UpdateStatus;
  if (service.updateStatus !== undefined && isUpdateActive(service.updateStatus)) {
    status = service.updateStatus;
  } else {
    // A finished (or never started) update: a new one starts when some slot runs an old template.
    if (!slotProgress(service, input.tasks, now).some((s) => s.dirtyWanted.length > 0)) return out;
    status = startedStatus(now);
    out.status = { serviceId: service.id, version, updateStatus: status, reason: "update started" };
  }
  const rollback = isRollingBack(status);
  const policy = updatePolicy(service.spec, rollback);
  const slots = slotProgress(service, input.tasks, status.startedAt ?? 0);

  const failed = failureVerdict(slots, input, policy);
  if (failed !== undefined) {
    out.status =
      policy.failureAction === UpdateFailureAction.ROLLBACK && !rollback && service.previousSpec !== undefined
        ? { serviceId: service.id, version, updateStatus: autoRollbackStatus(failed, now), rollback: true, reason: "update failed: rolling back" }
        : { serviceId: service.id, version, updateStatus: pausedStatus(status, failed), reason: "update failed: paused" };
    return out;
  }

  for (const s of slots) {
    const step = advanceSlot(input, s);
    if (step.change !== undefined) out.changes.push(step.change);
    out.wakeAtMs = earliest(out.wakeAtMs, step.wakeAtMs);
  }
  startSlots(input, slots, policy, out);

  if (slots.some((s) => s.pending || s.unsettled)) return out;
  // Every slot runs the new template: watch the last new tasks for `monitor`, then it is done.
  const running = slots.flatMap((s) => s.attempts.filter((t) => t.status.state === TaskState.RUNNING && isWanted(t)));
  const monitorEndsAt = running.length === 0 ? now : Math.max(...running.map((t) => t.status.timestamp)) + policy.monitorMs;
  if (now < monitorEndsAt) {
    out.wakeAtMs = earliest(out.wakeAtMs, monitorEndsAt);
    return out;
  }
  out.status = { serviceId: service.id, version, updateStatus: completedStatus(status, now), reason: "update completed" };
  return out;
}

/**
 * Gives waiting slots their new tasks, as many as `parallelism` allows: a slot holds its place
 * while its replacement is unsettled and for `delay` after it settled (swarm's per-worker delay).
 */
function startSlots(input: UpdateInput, slots: readonly SlotProgress[], policy: ResolvedUpdateConfig, out: UpdateDecision): void {
  const limit = policy.parallelism > 0 ? policy.parallelism : Infinity;
  let inFlight = 0;
  let delayEndsAt: number | undefined;
  const waiting: SlotProgress[] = [];
  for (const s of slots) {
    const delayedUntil = s.settledAtMs === undefined ? undefined : s.settledAtMs + policy.delayMs;
    const delayed = delayedUntil !== undefined && delayedUntil > input.now;
    if (delayed) delayEndsAt = earliest(delayEndsAt, delayedUntil);
    if (s.unsettled || delayed) inFlight++;
    else if (s.pending) waiting.push(s);
  }
  const started = Math.min(waiting.length, Math.max(0, limit - inFlight));
  for (const s of waiting.slice(0, started)) out.changes.push(replaceSlot(input, s, policy));
  // Slots left waiting get their turn when a delay ends (or when a task event shows a slot settled).
  if (slots.filter((s) => s.pending).length > started) out.wakeAtMs = earliest(out.wakeAtMs, delayEndsAt);
}

/** The id of a task whose failure tips the failure ratio over the limit, if one does. */
function failureVerdict(slots: readonly SlotProgress[], input: UpdateInput, policy: ResolvedUpdateConfig): string | undefined {
  if (policy.failureAction === UpdateFailureAction.CONTINUE) return undefined;
  const attempted = slots.filter((s) => s.attempts.length > 0);
  let failedSlots = 0;
  let culprit: string | undefined;
  for (const s of attempted) {
    const f = s.attempts.find((t) => failedWithinMonitor(t, input.lives.get(t.id), policy.monitorMs));
    if (f === undefined) continue;
    failedSlots++;
    culprit ??= f.id;
  }
  if (culprit === undefined || failedSlots / attempted.length <= policy.maxFailureRatio) return undefined;
  return culprit;
}

/** The next step inside a slot already being replaced: start the held new task, or stop the old ones. */
function advanceSlot(input: UpdateInput, s: SlotProgress): { change?: TaskChange; wakeAtMs?: number } {
  const { service } = input;
  if (s.dirtyWanted.length > 0 && s.cleanWanted.some((t) => t.status.state === TaskState.RUNNING)) {
    // start-first: the new task runs, so the old ones may go.
    return { change: slotChange(service, s, "update: new task running, stopping old", s.dirtyWanted.map((t) => ({ taskId: t.id, desiredState: TaskState.SHUTDOWN })), []) };
  }
  const held = s.attempts.find((t) => t.desiredState === TaskState.READY && isWanted(t));
  if (held === undefined || !heldByUpdate(s, held)) return {};
  const stopping = s.tasks.some((t) => t.id !== held.id && !isWanted(t) && !isTerminal(t) && t.nodeId !== "" && !isNodeLost(input.nodes.get(t.nodeId)));
  const giveUpAt = held.meta.createdAt + OLD_TASK_TIMEOUT_MS;
  if (stopping && input.now < giveUpAt) return { wakeAtMs: giveUpAt };
  return { change: slotChange(service, s, "update: old task stopped, starting new", [{ taskId: held.id, desiredState: TaskState.RUNNING }], []) };
}

/**
 * The held task is the updater's stop-first replacement, not a restart held back by the restart
 * policy (those follow a task that ended by itself, and the orchestrator starts them after the
 * restart delay).
 */
function heldByUpdate(s: SlotProgress, held: Task): boolean {
  const before = s.tasks.filter((t) => t.id !== held.id && t.meta.createdAt <= held.meta.createdAt);
  const previous = before[before.length - 1];
  return previous === undefined || !exitedByItself(previous);
}

/** Gives a pending slot its new task (stop-first: and stops the old ones in the same transaction). */
function replaceSlot(input: UpdateInput, s: SlotProgress, policy: ResolvedUpdateConfig): TaskChange {
  const { service } = input;
  const first = s.tasks[0]!;
  const where = first.slot > 0 ? { slot: first.slot } : { nodeId: first.nodeId };
  if (isStartFirst(policy)) {
    return slotChange(service, s, "update: start-first replacement", [], [newTask(service, { id: input.newId(), ...where }, input.now)]);
  }
  const created = newTask(service, { id: input.newId(), ...where, desiredState: TaskState.READY }, input.now);
  const stop = s.dirtyWanted.map((t) => ({ taskId: t.id, desiredState: TaskState.SHUTDOWN }));
  return slotChange(service, s, "update: stop-first replacement", stop, [created]);
}

/** A change to one slot, valid only if the slot still holds exactly the tasks it was decided from. */
function slotChange(service: Service, s: SlotProgress, reason: string, desired: TaskChange["desired"], create: TaskChange["create"]): TaskChange {
  return { reason, serviceId: service.id, guard: s.tasks.map(guardOf), slot: slotRefOf(s.tasks[0]!), desired, create };
}
