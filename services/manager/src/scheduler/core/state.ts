// SchedulerState: the cluster as the scheduler sees it, kept incrementally from store events (the
// edge) or built at once (tests, benchmarks): a NodeInfo per node, how each placed task weighs on
// its node, and recent task failures per node and service. Owns that bookkeeping; must not read
// the store or the clock (callers pass tasks, nodes and `now`).
import { TaskState, type GenericResource, type Node, type Task } from "@shoal/store";
import { NodeInfo, type TaskUsage } from "./node-info.js";
import { hostPortsOf } from "./requirements.js";
import { resourcesOf, sameResources, type ResourceVector } from "./resources.js";

export interface SchedulerStateOpts {
  /** Failures older than this no longer count against a node (default 5 min). */
  failureWindowMs?: number;
  /** A node with at least this many recent failures of a service ranks last for it (default 1). */
  failureThreshold?: number;
}

export const DEFAULT_FAILURE_WINDOW_MS = 5 * 60_000;

/** A task the scheduler should place: PENDING and wanted (desired READY, RUNNING or COMPLETE). */
export function needsScheduling(task: Pick<Task, "status" | "desiredState">): boolean {
  return task.status.state === TaskState.PENDING && task.desiredState >= TaskState.READY && task.desiredState <= TaskState.COMPLETE;
}

/** The task holds resources on its node: assigned and not yet ended. */
function holdsResources(task: Task): boolean {
  return task.nodeId !== "" && task.status.state >= TaskState.ASSIGNED && task.status.state <= TaskState.RUNNING;
}

function failed(task: Task): boolean {
  return task.nodeId !== "" && (task.status.state === TaskState.FAILED || task.status.state === TaskState.REJECTED);
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => same(x, b[i]!));
}

export class SchedulerState {
  readonly failureWindowMs: number;
  readonly failureThreshold: number;
  private readonly infos = new Map<string, NodeInfo>();
  // Invariant: a task has a usage iff it holds resources; it is counted in byNode[usage.nodeId] and,
  // when that node is known, in its NodeInfo.
  private readonly usages = new Map<string, TaskUsage>();
  private readonly byNode = new Map<string, Map<string, TaskUsage>>();
  // node → service → task → when it failed.
  private readonly failures = new Map<string, Map<string, Map<string, number>>>();

  constructor(opts: SchedulerStateOpts = {}) {
    this.failureWindowMs = opts.failureWindowMs ?? DEFAULT_FAILURE_WINDOW_MS;
    this.failureThreshold = opts.failureThreshold ?? 1;
  }

  static from(nodes: Iterable<Node>, tasks: Iterable<Task>, opts: SchedulerStateOpts = {}): SchedulerState {
    const s = new SchedulerState(opts);
    for (const t of tasks) s.setTask(t);
    for (const n of nodes) s.setNode(n);
    return s;
  }

  get nodes(): ReadonlyMap<string, NodeInfo> {
    return this.infos;
  }

  setNode(node: Node): void {
    const info = this.infos.get(node.id);
    if (info !== undefined) info.setNode(node);
    else this.infos.set(node.id, new NodeInfo(node, this.byNode.get(node.id)?.values()));
  }

  removeNode(nodeId: string): void {
    this.infos.delete(nodeId);
    this.failures.delete(nodeId);
  }

  /** Records a task's current version: where it holds resources, and whether it failed there. */
  setTask(task: Task): void {
    const holds = holdsResources(task);
    const active = task.desiredState <= TaskState.COMPLETE;
    const reservations = task.spec.resources?.reservations;
    // Most events are the agents' status reports, which leave what the task weighs where it was:
    // recognized by identity, they cost no bookkeeping (a task that holds resources has not failed).
    const cur = this.usages.get(task.id);
    if (
      holds &&
      cur?.from !== undefined &&
      cur.nodeId === task.nodeId &&
      cur.serviceId === task.serviceId &&
      cur.active === active &&
      cur.from.reservations === reservations &&
      cur.from.endpoint === task.endpoint &&
      cur.from.named === task.assignedGenericResources
    ) {
      return;
    }
    if (!holds) {
      this.dropUsage(task.id);
      if (failed(task)) this.recordFailure(task.nodeId, task.serviceId, task.id, task.status.timestamp);
      return;
    }
    const from = { reservations, endpoint: task.endpoint, named: task.assignedGenericResources };
    const reservation = resourcesOf(reservations);
    const hostPorts = hostPortsOf(task);
    const named = task.assignedGenericResources ?? [];
    // The commit of one of our own decisions (assign), as it was made: the usage already weighs on
    // its node and only learns what it came from, instead of being taken off and counted again.
    if (
      cur !== undefined &&
      cur.from === undefined &&
      cur.nodeId === task.nodeId &&
      cur.serviceId === task.serviceId &&
      cur.active === active &&
      sameResources(cur.reservation, reservation) &&
      sameList(cur.hostPorts, hostPorts, (a, b) => a === b) &&
      sameList(cur.named, named, (a, b) => a.kind === b.kind && a.named === b.named && a.discrete === b.discrete)
    ) {
      const u: TaskUsage = { ...cur, from };
      this.usages.set(u.taskId, u);
      this.byNode.get(u.nodeId)!.set(u.taskId, u);
      return;
    }
    this.dropUsage(task.id);
    this.addUsage({ taskId: task.id, serviceId: task.serviceId, nodeId: task.nodeId, reservation, hostPorts, named, active, from });
  }

  removeTask(taskId: string): void {
    this.dropUsage(taskId);
  }

  /**
   * Places a task on a node (a decision not yet committed; setTask with the store's version
   * corrects it) and returns the generic resources it claims there.
   */
  assign(task: Task, nodeId: string, reservation: ResourceVector, hostPorts: readonly string[]): GenericResource[] {
    this.dropUsage(task.id);
    const named = reservation.generic.size === 0 ? [] : (this.infos.get(nodeId)?.claimGeneric(reservation.generic) ?? []);
    this.addUsage({ taskId: task.id, serviceId: task.serviceId, nodeId, reservation, hostPorts, named, active: task.desiredState <= TaskState.COMPLETE });
    return named;
  }

  /** Failures of the service's tasks on the node within the window before nowMs. */
  recentFailures(nodeId: string, serviceId: string, nowMs: number): number {
    const byTask = this.failures.get(nodeId)?.get(serviceId);
    if (byTask === undefined) return 0;
    let n = 0;
    for (const at of byTask.values()) if (at > nowMs - this.failureWindowMs && at <= nowMs) n++;
    return n;
  }

  failedRecently(nodeId: string, serviceId: string, nowMs: number): boolean {
    return this.recentFailures(nodeId, serviceId, nowMs) >= this.failureThreshold;
  }

  private addUsage(u: TaskUsage): void {
    this.usages.set(u.taskId, u);
    let onNode = this.byNode.get(u.nodeId);
    if (onNode === undefined) this.byNode.set(u.nodeId, (onNode = new Map()));
    onNode.set(u.taskId, u);
    this.infos.get(u.nodeId)?.add(u);
  }

  private dropUsage(taskId: string): void {
    const u = this.usages.get(taskId);
    if (u === undefined) return;
    this.usages.delete(taskId);
    const onNode = this.byNode.get(u.nodeId)!;
    onNode.delete(taskId);
    if (onNode.size === 0) this.byNode.delete(u.nodeId);
    this.infos.get(u.nodeId)?.remove(u);
  }

  private recordFailure(nodeId: string, serviceId: string, taskId: string, atMs: number): void {
    let byService = this.failures.get(nodeId);
    if (byService === undefined) this.failures.set(nodeId, (byService = new Map()));
    let byTask = byService.get(serviceId);
    if (byTask === undefined) byService.set(serviceId, (byTask = new Map()));
    byTask.set(taskId, atMs);
    // Forget failures that can no longer count, so the map stays small.
    for (const [id, at] of byTask) if (at <= atMs - this.failureWindowMs) byTask.delete(id);
  }
}
