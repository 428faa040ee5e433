// Service: what the user asked for (spec, never rewritten by the system) and what the manager
// observed or allocated (endpoint, update status…). Mirrors proto/objects.proto.
import type { Annotations, DurationNs, Meta, TimestampMs } from "./common.js";
import type { TaskSpec } from "./task-spec.js";

export enum UpdateFailureAction {
  PAUSE = 0,
  CONTINUE = 1,
  ROLLBACK = 2,
}

export enum UpdateOrder {
  STOP_FIRST = 0,
  START_FIRST = 1,
}

export interface UpdateConfig {
  /** 0 = all at once. */
  parallelism?: number;
  delayNs?: DurationNs;
  failureAction?: UpdateFailureAction;
  monitorNs?: DurationNs;
  maxFailureRatio?: number;
  order?: UpdateOrder;
}

export enum PortProtocol {
  TCP = 0,
  UDP = 1,
  SCTP = 2,
}

export enum PublishMode {
  INGRESS = 0,
  HOST = 1,
}

export interface PortConfig {
  name?: string;
  protocol?: PortProtocol;
  targetPort: number;
  /** 0 = let the allocator pick one. */
  publishedPort?: number;
  publishMode?: PublishMode;
}

export enum ResolutionMode {
  VIP = 0,
  DNSRR = 1,
}

export interface EndpointSpec {
  mode?: ResolutionMode;
  ports?: PortConfig[];
}

export interface ReplicatedService {
  replicas: number;
}
export type GlobalService = Record<string, never>;
export interface ReplicatedJob {
  maxConcurrent?: number;
  totalCompletions?: number;
}
export type GlobalJob = Record<string, never>;

/** Exactly one of replicated, global, replicatedJob, globalJob is set (a proto oneof). */
export interface ServiceSpec {
  annotations: Annotations;
  task: TaskSpec;
  replicated?: ReplicatedService;
  global?: GlobalService;
  replicatedJob?: ReplicatedJob;
  globalJob?: GlobalJob;
  update?: UpdateConfig;
  rollback?: UpdateConfig;
  endpoint?: EndpointSpec;
}

export interface VirtualIp {
  networkId: string;
  /** CIDR, e.g. 10.0.0.5/24. */
  addr: string;
}

/** The endpoint as allocated: published ports filled in, one VIP per attached network. */
export interface Endpoint {
  spec?: EndpointSpec;
  ports?: PortConfig[];
  virtualIps?: VirtualIp[];
}

export enum UpdateState {
  UNKNOWN = 0,
  UPDATING = 1,
  PAUSED = 2,
  COMPLETED = 3,
  ROLLBACK_STARTED = 4,
  ROLLBACK_PAUSED = 5,
  ROLLBACK_COMPLETED = 6,
}

export interface UpdateStatus {
  state: UpdateState;
  startedAt?: TimestampMs;
  completedAt?: TimestampMs;
  message?: string;
}

export interface JobStatus {
  /** Bumped on every (re)run of the job. */
  jobIteration: number;
  lastExecution?: TimestampMs;
}

export interface Service {
  id: string;
  meta: Meta;
  spec: ServiceSpec;
  /** The spec before the last update, for rollback. */
  previousSpec?: ServiceSpec;
  endpoint?: Endpoint;
  updateStatus?: UpdateStatus;
  jobStatus?: JobStatus;
  /** Deleted by the user; its tasks are being shut down before the object goes. */
  pendingDelete?: boolean;
}
