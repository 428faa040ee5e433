// When the tasks of a down node are given up on (swarm semantics). The orchestrators replace a
// down node's tasks at once (desiredState SHUTDOWN plus a new task elsewhere), but the old tasks
// keep their last reported status: nobody can observe them. After ORPHAN_AFTER_MS of the node
// being down, their status becomes ORPHANED. That status write belongs to the dispatcher (it
// reports for agents that cannot), which owns node liveness; this is its pure decision.
import { NodeState, TaskState, type Node, type Task } from "@shoal/store";

export const ORPHAN_AFTER_MS = 24 * 60 * 60 * 1000;

/** The tasks of `node` to mark ORPHANED, given since when it has been down. */
export function tasksToOrphan(node: Node, tasks: readonly Task[], downSinceMs: number, now: number): Task[] {
  if (node.status.state !== NodeState.DOWN || now - downSinceMs < ORPHAN_AFTER_MS) return [];
  return tasks.filter((t) => t.nodeId === node.id && t.status.state >= TaskState.ASSIGNED && t.status.state <= TaskState.RUNNING);
}
