// Task: one scheduled instance of a service. Each state transition has exactly one owner
// (DESIGN §2); managers only ever write desiredState. Mirrors proto/objects.proto.
import type { Annotations, Driver, GenericResource, Meta, TimestampMs } from "./common.js";
import type { Endpoint, PortConfig } from "./service.js";
import type { TaskSpec } from "./task-spec.js";

/**
 * Task states, numerically ordered: a task's observed state only moves forward, so a transition
 * from a to b is allowed only when b > a. The gaps leave room for new states.
 */
export enum TaskState {
  NEW = 0,
  PENDING = 10,
  ASSIGNED = 20,
  ACCEPTED = 30,
  PREPARING = 40,
  READY = 50,
  STARTING = 60,
  RUNNING = 70,
  COMPLETE = 80,
  SHUTDOWN = 90,
  FAILED = 100,
  REJECTED = 110,
  REMOVE = 120,
  ORPHANED = 130,
}

export interface ContainerStatus {
  containerId?: string;
  pid?: number;
  exitCode?: number;
}

export interface TaskStatus {
  /** When the state was reached. */
  timestamp: TimestampMs;
  state: TaskState;
  message?: string;
  err?: string;
  containerStatus?: ContainerStatus;
  portStatus?: { ports?: PortConfig[] };
  /** When the agent applied the state. */
  appliedAt?: TimestampMs;
}

export interface NetworkAttachment {
  networkId: string;
  /** CIDR addresses. */
  addresses?: string[];
  aliases?: string[];
  driverAttachmentOpts?: Record<string, string>;
}

export interface Task {
  id: string;
  meta: Meta;
  /** A copy of the service's task template at the time the task was created. */
  spec: TaskSpec;
  /** The service's meta.version.index when the spec was copied. */
  specVersion?: number;
  serviceId: string;
  /** Replicated services: 1..n. Global services: 0 (the node identifies the task). */
  slot: number;
  /** Empty until the scheduler assigns the task. */
  nodeId: string;
  annotations?: Annotations;
  serviceAnnotations?: Annotations;
  status: TaskStatus;
  desiredState: TaskState;
  networks?: NetworkAttachment[];
  endpoint?: Endpoint;
  logDriver?: Driver;
  assignedGenericResources?: GenericResource[];
  jobIteration?: number;
}
