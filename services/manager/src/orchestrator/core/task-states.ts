// What a task's states mean to the orchestrators: which tasks still count for their slot, which
// have ended, and which nodes can no longer keep a task. Pure predicates; they decide nothing.
import { NodeAvailability, NodeState, TaskState, hasTaskRuntime, type Node, type Task } from "@shoal/store";

/** The task stopped (or was never going to run): its observed state is past RUNNING. */
export function isTerminal(task: Task): boolean {
  return task.status.state > TaskState.RUNNING;
}

/**
 * The task is (still) wanted: desiredState READY, RUNNING or, for jobs, COMPLETE. A task whose
 * desired state moved past that (SHUTDOWN, REMOVE) is history, whatever it is doing.
 */
export function isWanted(task: Pick<Task, "desiredState">): boolean {
  return task.desiredState <= TaskState.COMPLETE;
}

/** Wanted and not ended: the task occupies its slot. */
export function isLive(task: Task): boolean {
  return isWanted(task) && !isTerminal(task);
}

/**
 * The task ended on its own (exited, failed, or the node refused it) rather than being stopped by a
 * manager: only such an end is governed by the restart policy.
 */
export function exitedByItself(task: Task): boolean {
  const s = task.status.state;
  return s === TaskState.COMPLETE || s === TaskState.FAILED || s === TaskState.REJECTED;
}

/** The node is gone or down: its tasks will not report again, so they must run elsewhere. */
export function isNodeLost(node: Node | undefined): boolean {
  return node === undefined || node.status.state === NodeState.DOWN;
}

/** The node may not keep tasks: lost, or drained by the operator. */
export function isNodeUnusable(node: Node | undefined): boolean {
  return isNodeLost(node) || node!.spec.availability === NodeAvailability.DRAIN;
}

/**
 * The node may be given new tasks (placement aside): READY and ACTIVE (PAUSE keeps, never gains),
 * with a task runtime to run them (hasTaskRuntime).
 */
export function acceptsNewTasks(node: Node): boolean {
  return node.status.state === NodeState.READY && node.spec.availability === NodeAvailability.ACTIVE && hasTaskRuntime(node);
}

/** Oldest first: creation time, then id so that equal times still order deterministically. */
export function byAge(a: Task, b: Task): number {
  return a.meta.createdAt - b.meta.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Whether an update of a task can change any orchestrator's or the reaper's decision: what they
 * read of a task is its desired state, its node, whether it ended (and how: COMPLETE for jobs) and
 * whether it reached a node. An agent's progress from ASSIGNED to RUNNING changes none of these,
 * and at scale it is most of the task events: reconciling a service for each would cost a pass
 * over its tasks per status report. A create or delete always matters.
 */
export function changesOrchestration(old: Task | undefined, task: Task): boolean {
  if (old === undefined) return true;
  const reachedNode = (t: Task): boolean => t.status.state >= TaskState.ASSIGNED;
  return (
    old.desiredState !== task.desiredState ||
    old.nodeId !== task.nodeId ||
    old.slot !== task.slot ||
    isTerminal(old) !== isTerminal(task) ||
    (isTerminal(task) && old.status.state !== task.status.state) ||
    reachedNode(old) !== reachedNode(task)
  );
}

/**
 * Whether an update of a task can give the reaper work: only a task that stopped (ended, or never
 * reached a node) or left its slot's wanted set can be deleted, so only a new desired state or an
 * end matters. A task being placed on a node (the scheduler's thousands of writes) cannot.
 */
export function changesReaping(old: Task | undefined, task: Task): boolean {
  return old === undefined || old.desiredState !== task.desiredState || isTerminal(old) !== isTerminal(task);
}

/**
 * Whether a node's change can make tasks reapable: the reaper reads nodes only to tell whether a
 * task's node is lost (DOWN or gone). A re-registration, a new address or label does not; after an
 * election every node re-registers, and each burst of those made the reaper read every task.
 */
export function nodeChangesReaping(old: Node | undefined, node: Node | undefined): boolean {
  return old === undefined || node === undefined || isNodeLost(old) !== isNodeLost(node);
}
