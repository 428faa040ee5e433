// The constraint enforcer's decisions: when a node changes (drained, labels or role changed,
// resources shrank) the tasks it may no longer keep get desiredState SHUTDOWN; their orchestrator
// then replaces them elsewhere (or, for global services, not at all). Tasks already told to stop
// are left alone. Must not create tasks: replacing is the orchestrators'.
import { NodeAvailability, type Node, type Resources, type Task } from "@shoal/store";
import { placementAllows } from "./placement.js";
import { byAge, isLive } from "./task-states.js";

export interface Shed {
  task: Task;
  reason: string;
}

/** The live tasks on `node` that must leave it; `tasks` are the node's tasks. */
export function tasksToShed(node: Node, tasks: readonly Task[]): Shed[] {
  const live = tasks.filter((t) => t.nodeId === node.id && isLive(t)).sort(byAge);
  if (node.spec.availability === NodeAvailability.DRAIN) return live.map((task) => ({ task, reason: "node drained" }));
  const shed: Shed[] = [];
  const kept: Task[] = [];
  for (const task of live) {
    if (placementAllows(node, task.spec)) kept.push(task);
    else shed.push({ task, reason: "node no longer satisfies placement constraints" });
  }
  // Over-committed: keep the oldest tasks that fit and shed the newer ones.
  const capacity = node.description?.resources;
  if (capacity === undefined) return shed;
  const used = { nanoCpus: 0, memoryBytes: 0 };
  for (const task of kept) {
    const r: Resources = task.spec.resources?.reservations ?? {};
    const cpu = used.nanoCpus + (r.nanoCpus ?? 0);
    const mem = used.memoryBytes + (r.memoryBytes ?? 0);
    const fitsCpu = capacity.nanoCpus === undefined || cpu <= capacity.nanoCpus;
    const fitsMem = capacity.memoryBytes === undefined || mem <= capacity.memoryBytes;
    if (fitsCpu && fitsMem) {
      used.nanoCpus = cpu;
      used.memoryBytes = mem;
    } else {
      shed.push({ task, reason: "node resources are below the task's reservations" });
    }
  }
  return shed;
}
