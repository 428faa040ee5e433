// Commits a Plan: each change is its own transaction inside one store batch (so one pass is few
// raft entries), applied only if the tasks it was decided from are unchanged. A change that
// conflicts is skipped and reported; the caller decides again on fresh state. A task it creates is
// allocated in the same transaction when it can be (the allocator's pure transition, so it is born
// PENDING: one write instead of two for every task), after its service's endpoint when that needs
// no other service (standaloneEndpoint); the allocator's loop moves the others.
import { errorCode, type Logger } from "@shoal/common";
import { TaskState, type Batch, type MemoryStore, type Service, type Task, type WriteTx } from "@shoal/store";
import { standaloneEndpoint } from "../../allocator/core/endpoints.js";
import { allocateNewTask } from "../../allocator/core/tasks.js";
import { conflictError, CONFLICT_CODES } from "../errors.js";
import type { Plan, ServiceStatusChange, SlotRef, TaskChange } from "../core/plan.js";

export interface CommitResult {
  committed: TaskChange[];
  /** Services with a change that conflicted. */
  conflicted: Set<string>;
}

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

export function applyChange(tx: WriteTx, change: TaskChange): void {
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
  for (const t of change.create) tx.create("task", allocateNewTask(t, serviceForNewTask(tx, t.serviceId)));
  for (const id of change.delete ?? []) tx.delete("task", id);
}

function applyServiceStatus(tx: WriteTx, s: ServiceStatusChange): void {
  const cur = tx.get("service", s.serviceId);
  if (cur === undefined || cur.meta.version.index !== s.version) throw conflictError(`service ${s.serviceId}`);
  tx.update("service", { ...cur, jobStatus: s.jobStatus });
}

export async function commitPlan(store: MemoryStore, plan: Plan, log: Logger): Promise<CommitResult> {
  if (plan.changes.length === 0 && plan.services.length === 0) return { committed: [], conflicted: new Set() };
  const result = await store.batch((batch) => stagePlan(batch, plan, log));
  logCommitted(result, log);
  return result;
}

/**
 * Stages a Plan's changes in a batch the caller holds (a pass that decides once it holds the store's
 * write lock, so what happened while it waited is in its plan); commitPlan's rules otherwise.
 */
export async function stagePlan(batch: Batch, plan: Plan, log: Logger): Promise<CommitResult> {
  const staged: TaskChange[] = [];
  const conflicted = new Set<string>();
  const skip = (err: unknown, serviceId: string, what: string): void => {
    if (!CONFLICT_CODES.has(errorCode(err) ?? "")) throw err;
    conflicted.add(serviceId);
    log.debug({ err, serviceId }, `${what} skipped: state changed since it was decided`);
  };
  for (const change of plan.changes) {
    try {
      await batch.update((tx) => applyChange(tx, change));
      staged.push(change);
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
  return { committed: staged, conflicted };
}

/** Logs what a committed plan changed (after its batch resolved: staged is not yet committed). */
export function logCommitted({ committed: staged, conflicted }: CommitResult, log: Logger): void {
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
    log.info({ changes: staged.length, reasons, conflictedServices: [...conflicted] }, "orchestration changes committed");
  }
}
