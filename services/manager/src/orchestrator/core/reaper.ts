// The task reaper's decisions: which tasks (and pendingDelete services) to delete from the store. Keeps at most
// `retentionLimit` old tasks per slot (per node for global services), besides the slot's current
// task, deleting the oldest first; deletes a REMOVE task, or any task of a deleted service, as soon
// as it has stopped. "Stopped": its state is terminal, it never reached a node, or its node is
// down or gone (it will not report again; the agent drops a deleted task if the node comes back).
import { DEFAULT_TASK_HISTORY_RETENTION_LIMIT, TaskState, type Cluster, type Node, type Service, type Task } from "@shoal/store";
import { groupSlots } from "./slots.js";
import { isNodeLost, isTerminal } from "./task-states.js";

export interface ReaperInput {
  tasks: readonly Task[];
  services: ReadonlyMap<string, Service>;
  nodes: ReadonlyMap<string, Node>;
  retentionLimit: number;
}

export function retentionLimit(cluster: Cluster | undefined): number {
  const limit = cluster?.spec.orchestration?.taskHistoryRetentionLimit;
  return limit === undefined || limit < 0 ? DEFAULT_TASK_HISTORY_RETENTION_LIMIT : limit;
}

export function hasStopped(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  if (isTerminal(task)) return true;
  if (task.nodeId === "") return task.status.state < TaskState.ASSIGNED;
  return isNodeLost(nodes.get(task.nodeId));
}

function isServiceAlive(service: Service | undefined): boolean {
  return service !== undefined && service.pendingDelete !== true;
}

/**
 * Services marked pendingDelete whose tasks are all gone: the service object itself can go now
 * (the API marks, the orchestrator stops the tasks, the reaper deletes them and then the service).
 */
export function servicesToDelete(services: ReadonlyMap<string, Service>, tasks: readonly Task[]): Service[] {
  const withTasks = new Set(tasks.map((t) => t.serviceId));
  return [...services.values()].filter((s) => s.pendingDelete === true && !withTasks.has(s.id));
}

/** The tasks to delete, oldest first. */
export function tasksToReap(input: ReaperInput): Task[] {
  const doomed: Task[] = [];
  const history: Task[] = [];
  for (const t of input.tasks) {
    if (!hasStopped(t, input.nodes)) continue;
    if (t.desiredState === TaskState.REMOVE || !isServiceAlive(input.services.get(t.serviceId))) doomed.push(t);
    // Desired COMPLETE is a job's result, not history: reaping it would make the job run again.
    else if (t.desiredState > TaskState.COMPLETE) history.push(t);
  }
  const byService = new Map<string, Task[]>();
  for (const t of history) {
    let list = byService.get(t.serviceId);
    if (list === undefined) byService.set(t.serviceId, (list = []));
    list.push(t);
  }
  for (const tasks of byService.values()) {
    for (const slot of groupSlots(tasks).values()) {
      const excess = slot.length - input.retentionLimit;
      if (excess > 0) doomed.push(...slot.slice(0, excess));
    }
  }
  return doomed;
}
