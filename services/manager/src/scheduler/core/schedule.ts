// scheduleBatch: the scheduler's decision function. Pending tasks in, assignments and
// "no suitable node (…)" messages out. Tasks that ask for the same things (service, reservations,
// placement, host ports) are placed as one group, so spreading holds within a batch:
//
//   feasibility  every node runs the filter pipeline once per group; failures are tallied
//   spread       feasible nodes hang in a tree, one level per spread preference, branches keyed
//                by label value (nodes without the label form their own branch); each task goes
//                down the branch holding the fewest tasks of the service, as swarm's preferences do
//   score        within a branch: nodes where the service failed recently last, then fewest tasks
//                of the service, then fewest tasks overall, then node id (deterministic)
//
// Branches and nodes sit in indexed heaps, so a placement costs O(levels · log n). Decisions are
// applied to `state` as they are made (later tasks and batches see them); the edge corrects the
// state with the store's version of any task whose assignment did not commit.
import type { GenericResource, Task } from "@shoal/store";
import { nodeFieldValue } from "./constraints.js";
import { capacityRejectionOf, readyFilter, rejectionOf, RejectionTally } from "./filters.js";
import { IndexedHeap, type HeapItem } from "./heap.js";
import type { NodeInfo } from "./node-info.js";
import { RequirementsCache, type Requirements } from "./requirements.js";
import type { SchedulerState } from "./state.js";

export interface TaskPlacement {
  taskId: string;
  nodeId: string;
  /** Generic resources claimed on the node (named ones by name), for task.assignedGenericResources. */
  genericResources?: GenericResource[];
}

export interface UnschedulableTask {
  taskId: string;
  message: string;
}

export interface BatchDecision {
  assignments: TaskPlacement[];
  unschedulable: UnschedulableTask[];
}

interface Candidate extends HeapItem {
  readonly info: NodeInfo;
  readonly leaf: Branch;
  /** The service failed on this node recently: it goes last. */
  readonly demoted: boolean;
  serviceTasks: number;
  totalTasks: number;
}

function candidateLess(a: Candidate, b: Candidate): boolean {
  if (a.demoted !== b.demoted) return b.demoted;
  if (a.serviceTasks !== b.serviceTasks) return a.serviceTasks < b.serviceTasks;
  if (a.totalTasks !== b.totalTasks) return a.totalTasks < b.totalTasks;
  return a.info.id < b.info.id;
}

function branchLess(a: Branch, b: Branch): boolean {
  if (a.serviceTasks !== b.serviceTasks) return a.serviceTasks < b.serviceTasks;
  return a.value < b.value;
}

/** A spread branch: every node whose label at each level so far has these values. */
class Branch implements HeapItem {
  heapIndex = -1;
  /** Tasks of the service on every ready node below, feasible or not (what spreading balances). */
  serviceTasks = 0;
  readonly children = new Map<string, Branch>();
  /** Internal branches: children that still have a feasible node. */
  readonly open = new IndexedHeap<Branch>(branchLess);
  /** Leaves: feasible nodes, best first. */
  readonly nodes = new IndexedHeap<Candidate>(candidateLess);

  constructor(
    readonly value: string,
    readonly parent: Branch | undefined,
    readonly leaf: boolean,
  ) {}

  get feasible(): boolean {
    return this.leaf ? this.nodes.size > 0 : this.open.size > 0;
  }

  child(value: string, leaf: boolean): Branch {
    let c = this.children.get(value);
    if (c === undefined) this.children.set(value, (c = new Branch(value, this, leaf)));
    return c;
  }

  /** Fills the open heaps bottom-up once every node is in place. */
  seal(): void {
    for (const c of this.children.values()) {
      c.seal();
      if (c.feasible) this.open.push(c);
    }
  }

  best(): Candidate | undefined {
    if (this.leaf) return this.nodes.peek();
    return this.open.peek()?.best();
  }
}

/** One group's placement: the spread tree over ready nodes, feasible ones as candidates. */
class GroupPlacement {
  readonly root: Branch;
  readonly rejections = new RejectionTally();

  constructor(
    private readonly req: Requirements,
    private readonly state: SchedulerState,
    nowMs: number,
  ) {
    const levels = req.spread.length;
    this.root = new Branch("", undefined, levels === 0);
    for (const info of state.nodes.values()) {
      const notReady = readyFilter.check(req, info);
      if (notReady !== undefined) {
        this.rejections.add(notReady);
        continue;
      }
      const serviceTasks = info.tasksOfService(req.serviceId);
      let b = this.root;
      b.serviceTasks += serviceTasks;
      for (let level = 0; level < levels; level++) {
        b = b.child(nodeFieldValue(info.node, req.spread[level]!), level === levels - 1);
        b.serviceTasks += serviceTasks;
      }
      const r = rejectionOf(req, info);
      if (r !== undefined) {
        this.rejections.add(r);
        continue;
      }
      b.nodes.push({
        heapIndex: -1,
        info,
        leaf: b,
        demoted: state.failedRecently(info.id, req.serviceId, nowMs),
        serviceTasks,
        totalTasks: info.activeTasks,
      });
    }
    this.root.seal();
  }

  /** Places one task on the best node; undefined when no node can take it any more. */
  place(task: Task): TaskPlacement | undefined {
    const c = this.root.best();
    if (c === undefined) return undefined;
    const placement = placementOf(task.id, c.info.id, this.state.assign(task, c.info.id, this.req.reservation, this.req.hostPorts));
    c.serviceTasks = c.info.tasksOfService(this.req.serviceId);
    c.totalTasks = c.info.activeTasks;
    const leaf = c.leaf;
    if (capacityRejectionOf(this.req, c.info) !== undefined) leaf.nodes.remove(c);
    else leaf.nodes.update(c);
    // A still-wanted task counts towards its branches; a task assigned with desired state past
    // COMPLETE would not, but those are never scheduled.
    for (let b: Branch | undefined = leaf; b !== undefined; b = b.parent) {
      b.serviceTasks++;
      const parent = b.parent;
      if (parent === undefined) break;
      if (b.heapIndex < 0) continue;
      if (b.feasible) parent.open.update(b);
      else parent.open.remove(b);
    }
    return placement;
  }

  /** Why the tasks left over cannot be placed, judged on the state as it is now. */
  leftoverMessage(): string {
    const tally = new RejectionTally();
    for (const info of this.state.nodes.values()) {
      const r = rejectionOf(this.req, info);
      if (r !== undefined) tally.add(r);
    }
    return tally.message();
  }
}

/**
 * Decides where each pending task runs. Tasks already bound to a node (global services) are only
 * checked against that node. Mutates `state` with the assignments it makes.
 */
export function scheduleBatch(state: SchedulerState, pending: readonly Task[], nowMs: number): BatchDecision {
  const decision: BatchDecision = { assignments: [], unschedulable: [] };
  const groups = new Map<string, { req: Requirements; tasks: Task[] }>();
  // Bound tasks first: they have no other choice, the others do.
  const requirements = new RequirementsCache();
  for (const task of pending) {
    const req = requirements.of(task);
    if (task.nodeId === "") {
      let g = groups.get(req.key);
      if (g === undefined) groups.set(req.key, (g = { req, tasks: [] }));
      g.tasks.push(task);
      continue;
    }
    const message = boundTaskProblem(state, task, req);
    if (message !== undefined) {
      decision.unschedulable.push({ taskId: task.id, message });
      continue;
    }
    decision.assignments.push(placementOf(task.id, task.nodeId, state.assign(task, task.nodeId, req.reservation, req.hostPorts)));
  }
  for (const { req, tasks } of groups.values()) {
    if (req.invalid !== undefined) {
      for (const t of tasks) decision.unschedulable.push({ taskId: t.id, message: req.invalid });
      continue;
    }
    const placement = new GroupPlacement(req, state, nowMs);
    let leftover: string | undefined;
    for (const task of tasks) {
      const placed = leftover === undefined ? placement.place(task) : undefined;
      if (placed !== undefined) {
        decision.assignments.push(placed);
        continue;
      }
      leftover ??= placement.leftoverMessage();
      decision.unschedulable.push({ taskId: task.id, message: leftover });
    }
  }
  return decision;
}

function placementOf(taskId: string, nodeId: string, genericResources: GenericResource[]): TaskPlacement {
  return genericResources.length === 0 ? { taskId, nodeId } : { taskId, nodeId, genericResources };
}

function boundTaskProblem(state: SchedulerState, task: Task, req: Requirements): string | undefined {
  if (req.invalid !== undefined) return req.invalid;
  const info = state.nodes.get(task.nodeId);
  if (info === undefined) return `no suitable node (node ${task.nodeId} is not in the cluster)`;
  const r = rejectionOf(req, info);
  return r === undefined ? undefined : `no suitable node (node ${task.nodeId} ${r.one})`;
}
