// Plain objects for orchestrator tests: services, nodes and tasks as the store would hold them.
import {
  NodeAvailability,
  NodeMembership,
  NodeRole,
  NodeState,
  RestartCondition,
  TaskState,
  runtimePlugin,
  type Node,
  type Service,
  type ServiceSpec,
  type Task,
} from "@shoal/store";
import { RestartHistory, type ReconcileContext } from "../../src/orchestrator/index.js";

export const NOW = 1_700_000_000_000;
export const SECOND_NS = 1_000_000_000;

type Mode = Pick<ServiceSpec, "replicated" | "global" | "replicatedJob" | "globalJob">;

export function serviceSpec(name: string, mode: Mode, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { annotations: { name }, task: { container: { image: "busybox" }, restart: { condition: RestartCondition.ANY, delayNs: 5 * SECOND_NS } }, ...mode, ...extra };
}

export function service(id: string, mode: Mode, opts: { version?: number; spec?: Partial<ServiceSpec> } = {}): Service {
  const version = opts.version ?? 10;
  return { id, meta: { version: { index: version }, createdAt: NOW, updatedAt: NOW }, spec: serviceSpec(`svc-${id}`, mode, opts.spec) };
}

export interface NodeOpts {
  state?: NodeState;
  availability?: NodeAvailability;
  labels?: Record<string, string>;
  role?: NodeRole;
  memoryBytes?: number;
  /** The task runtime the node reports ("simulated"); null: none (shoald without --executor). */
  runtime?: string | null;
}

export function nodeObj(id: string, opts: NodeOpts = {}): Node {
  const node: Node = {
    id,
    meta: { version: { index: 1 }, createdAt: NOW, updatedAt: NOW },
    spec: {
      annotations: { name: id, labels: opts.labels ?? {} },
      desiredRole: opts.role ?? NodeRole.WORKER,
      membership: NodeMembership.ACCEPTED,
      availability: opts.availability ?? NodeAvailability.ACTIVE,
    },
    description: { hostname: id, ...(opts.runtime === null ? {} : { engine: { plugins: [runtimePlugin(opts.runtime ?? "simulated")] } }) },
    status: { state: opts.state ?? NodeState.READY },
    role: opts.role ?? NodeRole.WORKER,
  };
  if (opts.memoryBytes !== undefined) node.description!.resources = { memoryBytes: opts.memoryBytes };
  return node;
}

let seq = 0;

/** A task of the service as if created at `createdAt` and now in `state` on `nodeId`. */
export function taskOf(
  svc: Service,
  opts: { slot?: number; nodeId?: string; state?: TaskState; desired?: TaskState; createdAt?: number; id?: string; jobIteration?: number; version?: number },
): Task {
  const id = opts.id ?? `t${++seq}`;
  const task: Task = {
    id,
    meta: { version: { index: opts.version ?? 20 }, createdAt: opts.createdAt ?? NOW - 60_000, updatedAt: NOW },
    spec: structuredClone(svc.spec.task),
    specVersion: svc.meta.version.index,
    serviceId: svc.id,
    slot: opts.slot ?? 0,
    nodeId: opts.nodeId ?? "",
    status: { timestamp: NOW, state: opts.state ?? TaskState.RUNNING },
    desiredState: opts.desired ?? (svc.spec.replicatedJob !== undefined || svc.spec.globalJob !== undefined ? TaskState.COMPLETE : TaskState.RUNNING),
  };
  if (opts.jobIteration !== undefined) task.jobIteration = opts.jobIteration;
  return task;
}

export function nodesMap(...nodes: Node[]): Map<string, Node> {
  return new Map(nodes.map((n) => [n.id, n]));
}

export function ctxFor(svc: Service, nodes: Map<string, Node> = new Map(), opts: { now?: number; restarts?: RestartHistory } = {}): ReconcileContext {
  let n = 0;
  return { service: svc, nodes, now: opts.now ?? NOW, restarts: opts.restarts ?? new RestartHistory(), newId: () => `new${++n}` };
}
