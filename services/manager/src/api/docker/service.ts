// Service ⇄ Docker's swarm.Service JSON. Owns the shape, its schema and Docker's defaults for
// `insertDefaults=true`; lookups, checks against the store and writes live in routes/services.ts.
// The stored spec is what the user sent (only a Replicated mode without Replicas becomes 1), so
// inspect without insertDefaults answers the spec as sent.
import {
  DEFAULT_REPLICAS,
  DEFAULT_UPDATE_DELAY_NS,
  DEFAULT_UPDATE_FAILURE_ACTION,
  DEFAULT_UPDATE_MONITOR_NS,
  DEFAULT_UPDATE_ORDER,
  DEFAULT_UPDATE_PARALLELISM,
  PortProtocol,
  PublishMode,
  ResolutionMode,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
  type Endpoint,
  type EndpointSpec,
  type PortConfig,
  type Service,
  type ServiceSpec,
  type UpdateConfig,
} from "@shoal/store";
import { arrayOf, nonNegativeInt, object, oneOfStrings, str, stringMap, type JsonSchema } from "../validation.js";
import { enumCodec, objectCodec, withDefaults, type Codec, type Json } from "./codec.js";
import { EnumNames } from "./enum-names.js";
import { taskSpecFromDocker, taskSpecSchema, taskSpecToDocker, type DockerTaskSpec } from "./task-spec.js";
import { toRfc3339Nano } from "./time.js";

export const FAILURE_ACTIONS = new EnumNames<UpdateFailureAction, "pause" | "continue" | "rollback">({
  [UpdateFailureAction.PAUSE]: "pause",
  [UpdateFailureAction.CONTINUE]: "continue",
  [UpdateFailureAction.ROLLBACK]: "rollback",
});

export const UPDATE_ORDERS = new EnumNames<UpdateOrder, "stop-first" | "start-first">({
  [UpdateOrder.STOP_FIRST]: "stop-first",
  [UpdateOrder.START_FIRST]: "start-first",
});

export const PORT_PROTOCOLS = new EnumNames<PortProtocol, "tcp" | "udp" | "sctp">({
  [PortProtocol.TCP]: "tcp",
  [PortProtocol.UDP]: "udp",
  [PortProtocol.SCTP]: "sctp",
});

export const PUBLISH_MODES = new EnumNames<PublishMode, "ingress" | "host">({
  [PublishMode.INGRESS]: "ingress",
  [PublishMode.HOST]: "host",
});

export const RESOLUTION_MODES = new EnumNames<ResolutionMode, "vip" | "dnsrr">({
  [ResolutionMode.VIP]: "vip",
  [ResolutionMode.DNSRR]: "dnsrr",
});

export const UPDATE_STATES = new EnumNames<UpdateState, "" | "updating" | "paused" | "completed" | "rollback_started" | "rollback_paused" | "rollback_completed">({
  [UpdateState.UNKNOWN]: "",
  [UpdateState.UPDATING]: "updating",
  [UpdateState.PAUSED]: "paused",
  [UpdateState.COMPLETED]: "completed",
  [UpdateState.ROLLBACK_STARTED]: "rollback_started",
  [UpdateState.ROLLBACK_PAUSED]: "rollback_paused",
  [UpdateState.ROLLBACK_COMPLETED]: "rollback_completed",
});

/** Docker's swarm.ServiceSpec as JSON, validated by dockerServiceSpecSchema. */
export interface DockerServiceSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  TaskTemplate?: DockerTaskSpec | null;
  Mode?: { Replicated?: { Replicas?: number | null } | null; Global?: Json | null; ReplicatedJob?: { MaxConcurrent?: number | null; TotalCompletions?: number | null } | null; GlobalJob?: Json | null } | null;
  UpdateConfig?: Json | null;
  RollbackConfig?: Json | null;
  EndpointSpec?: Json | null;
}

const updateConfigSchema = object({
  Parallelism: nonNegativeInt,
  Delay: nonNegativeInt,
  FailureAction: oneOfStrings(FAILURE_ACTIONS.names),
  Monitor: nonNegativeInt,
  MaxFailureRatio: { type: "number", minimum: 0, maximum: 1 },
  Order: oneOfStrings(UPDATE_ORDERS.names),
});

// A port maps to a port the task listens on: TargetPort 0 (or none) could never receive anything,
// so it is refused rather than stored (`-p 8080:0` was listed as *:8080->0/tcp). PublishedPort 0:
// the allocator picks one.
const portSchema = object(
  {
    Name: str,
    Protocol: oneOfStrings(PORT_PROTOCOLS.names),
    TargetPort: { type: "integer", minimum: 1, maximum: 65535 },
    PublishedPort: { type: "integer", minimum: 0, maximum: 65535 },
    PublishMode: oneOfStrings(PUBLISH_MODES.names),
  },
  { required: ["TargetPort"] },
);

export const endpointSpecSchema: JsonSchema = object({ Mode: oneOfStrings(RESOLUTION_MODES.names), Ports: arrayOf(portSchema) });

export const dockerServiceSpecSchema: JsonSchema = object(
  {
    Name: str,
    Labels: stringMap,
    TaskTemplate: taskSpecSchema,
    Mode: object({
      Replicated: object({ Replicas: { type: ["integer", "null"], minimum: 0 } }),
      Global: object({}),
      ReplicatedJob: object({ MaxConcurrent: { type: ["integer", "null"], minimum: 0 }, TotalCompletions: { type: ["integer", "null"], minimum: 0 } }),
      GlobalJob: object({}),
    }),
    UpdateConfig: updateConfigSchema,
    RollbackConfig: updateConfigSchema,
    EndpointSpec: endpointSpecSchema,
  },
  { nullable: false, description: "Docker ServiceSpec: the whole desired spec of the service" },
);

const updateConfig = objectCodec([
  ["Parallelism", "parallelism"],
  ["Delay", "delayNs"],
  ["FailureAction", "failureAction", enumCodec(FAILURE_ACTIONS, "pause")],
  ["Monitor", "monitorNs"],
  ["MaxFailureRatio", "maxFailureRatio"],
  ["Order", "order", enumCodec(UPDATE_ORDERS, "stop-first")],
]);

const port = objectCodec([
  ["Name", "name"],
  ["Protocol", "protocol", enumCodec(PORT_PROTOCOLS, "tcp")],
  ["TargetPort", "targetPort"],
  ["PublishedPort", "publishedPort"],
  ["PublishMode", "publishMode", enumCodec(PUBLISH_MODES, "ingress")],
]);

/** Ports as Docker shows them: protocol and publish mode always named (their zero values are tcp, ingress). */
export const ports: Codec = {
  decode: (v) => (v as Json[]).map((p) => port.decode(p)),
  encode: (v) => (v as PortConfig[]).map((p) => withDefaults(port.encode(p) as Json, { Protocol: "tcp", PublishMode: "ingress" })),
};

const endpointSpec = objectCodec([
  ["Mode", "mode", enumCodec(RESOLUTION_MODES, "vip")],
  ["Ports", "ports", ports],
]);

const UPDATE_CONFIG_DEFAULTS: Json = {
  Parallelism: DEFAULT_UPDATE_PARALLELISM,
  Delay: DEFAULT_UPDATE_DELAY_NS,
  FailureAction: FAILURE_ACTIONS.name(DEFAULT_UPDATE_FAILURE_ACTION, "pause"),
  Monitor: DEFAULT_UPDATE_MONITOR_NS,
  MaxFailureRatio: 0,
  Order: UPDATE_ORDERS.name(DEFAULT_UPDATE_ORDER, "stop-first"),
};
const SERVICE_SPEC_DEFAULTS: Json = { UpdateConfig: UPDATE_CONFIG_DEFAULTS, RollbackConfig: UPDATE_CONFIG_DEFAULTS, EndpointSpec: { Mode: "vip" } };

/** The modes a spec sets (Docker refuses more than one). */
export function modesOf(spec: DockerServiceSpec): string[] {
  const m = spec.Mode ?? {};
  return (["Replicated", "Global", "ReplicatedJob", "GlobalJob"] as const).filter((k) => m[k] !== undefined && m[k] !== null);
}

/**
 * The store's ServiceSpec from a validated Docker spec. No mode means Replicated (Docker's
 * default); Replicated without Replicas is 1. Network targets are as sent: the route resolves names.
 */
export function serviceSpecFromDocker(d: DockerServiceSpec): ServiceSpec {
  const spec: ServiceSpec = {
    annotations: { name: d.Name ?? "", labels: { ...(d.Labels ?? {}) } },
    task: taskSpecFromDocker(d.TaskTemplate ?? {}),
  };
  const m = d.Mode ?? {};
  if (m.Global != null) spec.global = {};
  else if (m.ReplicatedJob != null) {
    spec.replicatedJob = {};
    if (m.ReplicatedJob.MaxConcurrent != null) spec.replicatedJob.maxConcurrent = m.ReplicatedJob.MaxConcurrent;
    if (m.ReplicatedJob.TotalCompletions != null) spec.replicatedJob.totalCompletions = m.ReplicatedJob.TotalCompletions;
  } else if (m.GlobalJob != null) spec.globalJob = {};
  else spec.replicated = { replicas: m.Replicated?.Replicas ?? DEFAULT_REPLICAS };
  if (d.UpdateConfig != null) spec.update = updateConfig.decode(d.UpdateConfig) as UpdateConfig;
  if (d.RollbackConfig != null) spec.rollback = updateConfig.decode(d.RollbackConfig) as UpdateConfig;
  if (d.EndpointSpec != null) spec.endpoint = endpointSpec.decode(d.EndpointSpec) as EndpointSpec;
  return spec;
}

/** Docker's ServiceSpec JSON; with `defaults`, Docker's defaults fill what the user left out. */
export function serviceSpecToDocker(spec: ServiceSpec, defaults = false): Json {
  const o: Json = { Name: spec.annotations.name, Labels: { ...(spec.annotations.labels ?? {}) }, TaskTemplate: taskSpecToDocker(spec.task, defaults) };
  if (spec.global !== undefined) o["Mode"] = { Global: {} };
  else if (spec.replicatedJob !== undefined) {
    const job: Json = {};
    if (spec.replicatedJob.maxConcurrent !== undefined) job["MaxConcurrent"] = spec.replicatedJob.maxConcurrent;
    if (spec.replicatedJob.totalCompletions !== undefined) job["TotalCompletions"] = spec.replicatedJob.totalCompletions;
    o["Mode"] = { ReplicatedJob: job };
  } else if (spec.globalJob !== undefined) o["Mode"] = { GlobalJob: {} };
  else o["Mode"] = { Replicated: { Replicas: spec.replicated?.replicas ?? DEFAULT_REPLICAS } };
  if (spec.update !== undefined) o["UpdateConfig"] = updateConfig.encode(spec.update);
  if (spec.rollback !== undefined) o["RollbackConfig"] = updateConfig.encode(spec.rollback);
  if (spec.endpoint !== undefined) o["EndpointSpec"] = endpointSpec.encode(spec.endpoint);
  return defaults ? withDefaults(o, SERVICE_SPEC_DEFAULTS) : o;
}

export interface DockerServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

function endpointToDocker(e: Endpoint, defaults: boolean): Json {
  const spec = endpointSpec.encode(e.spec ?? {}) as Json;
  const o: Json = { Spec: defaults ? withDefaults(spec, { Mode: "vip" }) : spec };
  if (e.ports !== undefined) o["Ports"] = ports.encode(e.ports);
  if (e.virtualIps !== undefined) o["VirtualIPs"] = e.virtualIps.map((v) => ({ NetworkID: v.networkId, Addr: v.addr }));
  return o;
}

/** Docker's swarm.Service JSON; `status` is added for `GET /services?status=true`. */
export function serviceToDocker(s: Service, opts: { insertDefaults?: boolean; status?: DockerServiceStatus } = {}): Json {
  const defaults = opts.insertDefaults === true;
  const o: Json = {
    ID: s.id,
    Version: { Index: s.meta.version.index },
    CreatedAt: toRfc3339Nano(s.meta.createdAt),
    UpdatedAt: toRfc3339Nano(s.meta.updatedAt),
    Spec: serviceSpecToDocker(s.spec, defaults),
  };
  if (s.previousSpec !== undefined) o["PreviousSpec"] = serviceSpecToDocker(s.previousSpec, defaults);
  // The endpoint as allocated; before allocation, the spec's (the CLI shows the ports from it).
  o["Endpoint"] = endpointToDocker(s.endpoint ?? { spec: s.spec.endpoint ?? {} }, defaults);
  const u = s.updateStatus;
  if (u !== undefined && u.state !== UpdateState.UNKNOWN) {
    const st: Json = { State: UPDATE_STATES.name(u.state, "") };
    if (u.startedAt) st["StartedAt"] = toRfc3339Nano(u.startedAt);
    if (u.completedAt) st["CompletedAt"] = toRfc3339Nano(u.completedAt);
    st["Message"] = u.message ?? "";
    o["UpdateStatus"] = st;
  }
  if (opts.status !== undefined) o["ServiceStatus"] = { ...opts.status };
  // Every job has a JobStatus, as swarm's does from its creation: the docker CLI's job progress
  // view reads it at once and crashed (a nil dereference) on a new job, whose first iteration (0)
  // the orchestrators only record when a change starts the next.
  if (s.jobStatus !== undefined || s.spec.replicatedJob !== undefined || s.spec.globalJob !== undefined) {
    o["JobStatus"] = { JobIteration: { Index: s.jobStatus?.jobIteration ?? 0 }, LastExecution: toRfc3339Nano(s.jobStatus?.lastExecution || s.meta.createdAt) };
  }
  return o;
}
