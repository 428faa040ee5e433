// NEW → PENDING, the allocator's task transition (DESIGN §2): a task moves on once its service's
// endpoint is allocated, carrying that endpoint (published ports) with it. Pure.
import { copyObject, TaskState, type Service, type Task } from "@shoal/store";
import { sameData } from "../../orchestrator/core/new-task.js";
import { isWanted } from "../../orchestrator/core/task-states.js";
import { isEndpointAllocated } from "./endpoints.js";

export const PENDING_MESSAGE = "pending task scheduling";

/**
 * The task as PENDING, or undefined when it must wait: it is not NEW, no longer wanted (stopped
 * before it was allocated: the reaper's), its service is gone, or the service's endpoint is not
 * allocated yet. A task made for an older endpoint spec keeps its own (the updater replaces it).
 */
export function allocateTask(task: Task, service: Service | undefined, now: number): Task | undefined {
  if (task.status.state !== TaskState.NEW || !isWanted(task)) return undefined;
  if (service === undefined || !isEndpointAllocated(service)) return undefined;
  const out = copyObject(task);
  if (service.endpoint !== undefined && sameData(task.endpoint?.spec, service.spec.endpoint)) out.endpoint = copyObject(service.endpoint);
  out.status = { timestamp: now, state: TaskState.PENDING, message: PENDING_MESSAGE };
  return out;
}
