// NEW → PENDING, the allocator's task transition (DESIGN §2): a task moves on once its service's
// endpoint is allocated, carrying that endpoint (published ports) with it. Pure. The orchestrators'
// commit applies it to the tasks it creates, in the creating transaction (allocateNewTask): a task
// that can be allocated at once is born PENDING, one write instead of two; the others are created
// NEW and the allocator's loop moves them once it can.
import { TaskState, type NewObject, type Service, type Task } from "@shoal/store";
import { sameData } from "../../orchestrator/core/new-task.js";
import { isWanted } from "../../orchestrator/core/task-states.js";
import { isEndpointAllocated } from "./endpoints.js";

export const PENDING_MESSAGE = "pending task scheduling";

/**
 * The task as PENDING, or undefined when it must wait: it is not NEW, no longer wanted (stopped
 * before it was allocated: the reaper's), its service is gone, or the service's endpoint is not
 * allocated yet. A task made for an older endpoint spec keeps its own (the updater replaces it).
 * The copy is shallow: what it shares with the task is not changed.
 */
export function allocateTask<T extends Task | NewObject<"task">>(task: T, service: Service | undefined, now: number): T | undefined {
  if (task.status.state !== TaskState.NEW || !isWanted(task)) return undefined;
  if (service === undefined || !isEndpointAllocated(service)) return undefined;
  const out: T = { ...task, status: { timestamp: now, state: TaskState.PENDING, message: PENDING_MESSAGE } };
  if (service.endpoint !== undefined && sameData(task.endpoint?.spec, service.spec.endpoint)) out.endpoint = service.endpoint;
  return out;
}

/**
 * A task the orchestrators are creating, allocated at once if it can be (as PENDING, at its
 * creation time); otherwise as it is (NEW), for the allocator's loop.
 */
export function allocateNewTask(task: NewObject<"task">, service: Service | undefined): NewObject<"task"> {
  return allocateTask(task, service, task.status.timestamp) ?? task;
}
