// Commits a Plan: each change is its own transaction inside one store batch (so one pass is few
// raft entries), applied only if the tasks it was decided from are unchanged. A change that
// conflicts is skipped and reported; the caller decides again on fresh state. A task it creates is
// allocated in the same transaction when it can be (the allocator's pure transition, so it is born
// PENDING: one write instead of two for every task), after its service's endpoint when that needs
// no other service (standaloneEndpoint); the allocator's loop moves the others. Given the
// scheduler (a Placer), a task born PENDING is placed too, so it is born ASSIGNED: the tasks a
// plan creates are placed together, before they are staged, as one scheduling pass would place
// them; those it cannot place are born PENDING, for the scheduler's passes.
import { errorCode, type Logger } from "@shoal/common";
import { TaskState, type Batch, type MemoryStore, type NewObject, type Service, type Task, type WriteTx } from "@shoal/store";
import { standaloneEndpoint } from "../../allocator/core/endpoints.js";
import { allocateNewTask } from "../../allocator/core/tasks.js";
import type { TaskPlacement } from "../../scheduler/core/schedule.js";
import { needsScheduling } from "../../scheduler/core/state.js";
import { assignedTask, type Placer } from "../../scheduler/scheduler.js";
import { conflictError, CONFLICT_CODES } from "../errors.js";
import type { Plan, ServiceStatusChange, SlotRef, TaskChange } from "../core/plan.js";

export interface CommitResult {
  committed: TaskChange[];
  /** Services with a change that conflicted. */
  conflicted: Set<string>;
  /** Tasks staged born ASSIGNED (placed by the Placer). */
  placed: string[];
}

/** Placements decided for a plan's new tasks, by task id. */
type Placements = ReadonlyMap<string, TaskPlacement>;

function slotTasks(tx: WriteTx, ref: SlotRef): Task[] {
  const tasks =
    ref.slot > 0
      ? tx.find("task", { slot: { serviceId: ref.serviceId, slot: ref.slot } })
      : tx.find("task", { nodeId: ref.nodeId }).filter((t) => t.serviceId === ref.serviceId && t.slot === 0);
  return ref.jobIteration === undefined ? tasks : tasks.filter((t) => (t.jobIteration ?? 0) === ref.jobIteration);
}

/**
 * The service a new task is allocated from, its endpoint first written if the allocator's pure
 * decision needs no other service (standaloneEndpoint: no ingress ports), in this transaction.
 */
function serviceForNewTask(tx: WriteTx, serviceId: string): Service | undefined {
  const s = tx.get("service", serviceId);
  const endpoint = s === undefined ? undefined : standaloneEndpoint(s);
  if (s === undefined || endpoint === undefined) return s;
  tx.update("service", { ...s, endpoint });
  return tx.get("service", serviceId);
}

/**
 * What applyChange will create for `task`, read without writing: the service as serviceForNewTask
 * leaves it (the same pure decision), then the allocator's transition.
 */
function newTaskAsStaged(tx: WriteTx, task: NewObject<"task">): NewObject<"task"> {
  const s = tx.get("service", task.serviceId);
  const endpoint = s === undefined ? undefined : standaloneEndpoint(s);
  return allocateNewTask(task, s === undefined || endpoint === undefined ? s : { ...s, endpoint });
}

/**
 * Places, in one decision, the plan's new tasks that will be born PENDING. Read in a transaction of
 * the batch (it writes nothing), so over what the batch has staged so far.
 */
async function placeNewTasks(batch: Batch, plan: Plan, placer: Placer): Promise<Placements> {
  const pending = await batch.update((tx) => {
    const out: NewObject<"task">[] = [];
    for (const change of plan.changes) {
      for (const t of change.create) {
        const staged = newTaskAsStaged(tx, t);
        if (needsScheduling(staged)) out.push(staged);
      }
    }
    return out;
  });
  // Decided as of when the tasks were made (their creation time, the pass's clock).
  let nowMs = 0;
  for (const t of pending) nowMs = Math.max(nowMs, t.status.timestamp);
  return placer.place(pending, nowMs);
}

/**
 * Applies one change in `tx`. A new task with a placement is born ASSIGNED if it is born PENDING
 * (as placeNewTasks read it); its id goes in `placed`.
 */
export function applyChange(tx: WriteTx, change: TaskChange, placements?: Placements, placed?: string[]): void {
  for (const g of change.guard) {
    const cur = tx.get("task", g.id);
    if (cur === undefined || cur.meta.version.index !== g.version) throw conflictError(`task ${g.id}`, { taskId: g.id });
  }
  if (change.slot !== undefined) {
    // The slot must hold exactly what was read: no task was added to it meanwhile.
    const expected = new Set(change.guard.map((g) => g.id));
    const now = slotTasks(tx, change.slot);
    if (now.length !== expected.size || now.some((t) => !expected.has(t.id))) throw conflictError(`slot of service ${change.serviceId}`, { slot: change.slot });
  }
  for (const d of change.desired) {
    const cur = tx.get("task", d.taskId);
    if (cur === undefined) throw conflictError(`task ${d.taskId}`);
    tx.update("task", { ...cur, desiredState: d.desiredState });
  }
  for (const t of change.create) {
    const task = allocateNewTask(t, serviceForNewTask(tx, t.serviceId));
    const placement = placements?.get(t.id);
    if (placement === undefined || task.status.state !== TaskState.PENDING) {
      tx.create("task", task);
      continue;
    }
    tx.create("task", assignedTask(task, placement, task.status.timestamp));
    placed?.push(t.id);
  }
  for (const id of change.delete ?? []) tx.delete("task", id);
}

function applyServiceStatus(tx: WriteTx, s: ServiceStatusChange): void {
  const cur = tx.get("service", s.serviceId);
  if (cur === undefined || cur.meta.version.index !== s.version) throw conflictError(`service ${s.serviceId}`);
  tx.update("service", { ...cur, jobStatus: s.jobStatus });
}

export async function commitPlan(store: MemoryStore, plan: Plan, log: Logger, placer?: Placer): Promise<CommitResult> {
  if (plan.changes.length === 0 && plan.services.length === 0) return { committed: [], conflicted: new Set(), placed: [] };
  const result = await commitStaged(store, placer, (batch) => stagePlan(batch, plan, log, placer));
  logCommitted(result, log);
  return result;
}

/**
 * Runs `stage` in a store batch; if the batch fails (its entry did not commit, or was refused),
 * the placer forgets the placements it staged.
 */
export async function commitStaged(store: MemoryStore, placer: Placer | undefined, stage: (batch: Batch) => Promise<CommitResult>): Promise<CommitResult> {
  let placed: string[] = [];
  try {
    return await store.batch(async (batch) => {
      const result = await stage(batch);
      placed = result.placed;
      return result;
    });
  } catch (err) {
    placer?.forget(placed);
    throw err;
  }
}

/**
 * Stages a Plan's changes in a batch the caller holds (a pass that decides once it holds the store's
 * write lock, so what happened while it waited is in its plan); commitPlan's rules otherwise.
 */
export async function stagePlan(batch: Batch, plan: Plan, log: Logger, placer?: Placer): Promise<CommitResult> {
  if (placer === undefined) return stageChanges(batch, plan, log, undefined);
  const placements = await placeNewTasks(batch, plan, placer);
  if (placements.size === 0) return stageChanges(batch, plan, log, undefined);
  let result: CommitResult;
  try {
    result = await stageChanges(batch, plan, log, placements);
  } catch (err) {
    // The batch failed while staging: none of these may be written.
    placer.forget([...placements.keys()]);
    throw err;
  }
  if (result.placed.length < placements.size) {
    // Placements not staged (their change was skipped, or the task was not born PENDING after all).
    const used = new Set(result.placed);
    placer.forget([...placements.keys()].filter((id) => !used.has(id)));
  }
  return result;
}

async function stageChanges(batch: Batch, plan: Plan, log: Logger, placements: Placements | undefined): Promise<CommitResult> {
  const staged: TaskChange[] = [];
  const conflicted = new Set<string>();
  const placed: string[] = [];
  const skip = (err: unknown, serviceId: string, what: string): void => {
    if (!CONFLICT_CODES.has(errorCode(err) ?? "")) throw err;
    conflicted.add(serviceId);
    log.debug({ err, serviceId }, `${what} skipped: state changed since it was decided`);
  };
  for (const change of plan.changes) {
    const mine: string[] = [];
    try {
      await batch.update((tx) => applyChange(tx, change, placements, mine));
      staged.push(change);
      placed.push(...mine);
    } catch (err) {
      skip(err, change.serviceId, change.reason);
    }
  }
  for (const s of plan.services) {
    try {
      await batch.update((tx) => applyServiceStatus(tx, s));
    } catch (err) {
      skip(err, s.serviceId, "job status");
    }
  }
  return { committed: staged, conflicted, placed };
}

/** Logs what a committed plan changed (after its batch resolved: staged is not yet committed). */
export function logCommitted({ committed: staged, conflicted, placed }: CommitResult, log: Logger): void {
  for (const c of staged) {
    log.debug(
      {
        serviceId: c.serviceId,
        created: c.create.map((t) => t.id),
        desired: c.desired.map((d) => `${d.taskId}=${TaskState[d.desiredState]}`),
        deleted: c.delete,
      },
      c.reason,
    );
  }
  if (staged.length > 0 || conflicted.size > 0) {
    const count = (reason: string): number => staged.filter((c) => c.reason === reason).length;
    const reasons = Object.fromEntries([...new Set(staged.map((c) => c.reason))].map((r) => [r, count(r)]));
    // bornAssigned: new tasks placed as they were created (the scheduler logs no pass for them).
    log.info({ changes: staged.length, reasons, bornAssigned: placed.length, conflictedServices: [...conflicted] }, "orchestration changes committed");
  }
}
