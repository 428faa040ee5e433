// Task creation and staleness, shared by every orchestrator and by the rolling updater: a task
// carries its service's template as of one service version. Owns the shape of a NEW task; must not
// decide when tasks are created (the reconcilers do) nor touch the store.
import { TaskState, type NewObject, type Service, type ServiceSpec, type Task } from "@shoal/store";

export type ServiceMode = "replicated" | "global" | "replicated-job" | "global-job";

/** The service's mode (the spec's oneof); undefined for a spec that sets none. */
export function serviceMode(service: Service): ServiceMode | undefined {
  return specMode(service.spec);
}

export function specMode(s: ServiceSpec): ServiceMode | undefined {
  if (s.replicated !== undefined) return "replicated";
  if (s.global !== undefined) return "global";
  if (s.replicatedJob !== undefined) return "replicated-job";
  if (s.globalJob !== undefined) return "global-job";
  return undefined;
}

export function isJob(service: Service): boolean {
  const mode = serviceMode(service);
  return mode === "replicated-job" || mode === "global-job";
}

/** The desired state of a task that should run now: jobs run to completion, services keep running. */
export function runState(service: Service): TaskState {
  return isJob(service) ? TaskState.COMPLETE : TaskState.RUNNING;
}

export interface NewTaskOptions {
  /** The new task's id (the edge generates it: cores take no randomness they do not need). */
  id: string;
  /** Replicated services and replicated jobs: 1..n. Omitted (0) for global ones. */
  slot?: number;
  /** Global services and jobs: the node the task belongs to. */
  nodeId?: string;
  /** Default: the service's run state (RUNNING, or COMPLETE for jobs). READY holds a restart back. */
  desiredState?: TaskState;
}

/** swarm's task names: <service>.<slot>.<taskId>, or <service>.<nodeId>.<taskId> for global tasks. */
export function taskName(serviceName: string, slot: number, nodeId: string, taskId: string): string {
  return `${serviceName}.${slot > 0 ? String(slot) : nodeId}.${taskId}`;
}

/**
 * A NEW task of the service at its current version; the store fills in meta. The task shares the
 * service's template objects (spec, annotations, endpoint spec, log driver) rather than copying
 * them: they are read-only here, and when they are the store's frozen objects the store keeps them
 * as they are instead of copying each task's.
 */
export function newTask(service: Service, opts: NewTaskOptions, now: number): NewObject<"task"> {
  const slot = opts.slot ?? 0;
  const nodeId = opts.nodeId ?? "";
  const task: NewObject<"task"> = {
    id: opts.id,
    spec: service.spec.task,
    specVersion: service.meta.version.index,
    serviceId: service.id,
    slot,
    nodeId,
    annotations: { name: taskName(service.spec.annotations.name, slot, nodeId, opts.id) },
    serviceAnnotations: service.spec.annotations,
    status: { timestamp: now, state: TaskState.NEW, message: "created" },
    desiredState: opts.desiredState ?? runState(service),
  };
  if (service.endpoint !== undefined || service.spec.endpoint !== undefined) {
    const endpoint = { ...service.endpoint };
    if (service.spec.endpoint !== undefined) endpoint.spec = service.spec.endpoint;
    else delete endpoint.spec;
    task.endpoint = endpoint;
  }
  if (service.spec.task.logDriver !== undefined) task.logDriver = service.spec.task.logDriver;
  const iteration = newTaskIteration(service);
  if (iteration !== undefined) task.jobIteration = iteration;
  return task;
}

/** The jobIteration a new task of the service carries: the job's current one; none for services. */
export function newTaskIteration(service: Service): number | undefined {
  return isJob(service) ? (service.jobStatus?.jobIteration ?? 0) : undefined;
}

/**
 * The task runs an older template than the service asks for (its spec or endpoint spec differ):
 * replacing it is the rolling updater's job. Compares values, not versions, so that a service
 * write that leaves the template alone (status, scaling) dirties nothing.
 */
export function isTaskDirty(service: Service, task: Task): boolean {
  return !sameData(task.spec, service.spec.task) || !sameData(task.endpoint?.spec, service.spec.endpoint);
}

/** Structural equality of plain data; a property set to undefined counts as absent. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return a.every((v, i) => v === b[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    return a.length === bs.length && a.every((v, i) => sameData(v, bs[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!sameData(ao[k], bo[k])) return false;
  return true;
}
