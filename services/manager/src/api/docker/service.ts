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

type Json = Record<string, unknown>;

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

const portSchema = object({
  Name: str,
  Protocol: oneOfStrings(PORT_PROTOCOLS.names),
  TargetPort: { type: "integer", minimum: 0, maximum: 65535 },
  PublishedPort: { type: "integer", minimum: 0, maximum: 65535 },
  PublishMode: oneOfStrings(PUBLISH_MODES.names),
});

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

function updateConfigFromDocker(u: Json): UpdateConfig {
  const out: UpdateConfig = {};
  if (typeof u["Parallelism"] === "number") out.parallelism = u["Parallelism"];
  if (typeof u["Delay"] === "number") out.delayNs = u["Delay"];
  if (typeof u["FailureAction"] === "string") out.failureAction = FAILURE_ACTIONS.value(u["FailureAction"] as "pause");
  if (typeof u["Monitor"] === "number") out.monitorNs = u["Monitor"];
  if (typeof u["MaxFailureRatio"] === "number") out.maxFailureRatio = u["MaxFailureRatio"];
  if (typeof u["Order"] === "string") out.order = UPDATE_ORDERS.value(u["Order"] as "stop-first");
  return out;
}

function portFromDocker(p: Json): PortConfig {
  const out: PortConfig = { targetPort: (p["TargetPort"] as number | undefined) ?? 0 };
  if (typeof p["Name"] === "string") out.name = p["Name"];
  if (typeof p["Protocol"] === "string") out.protocol = PORT_PROTOCOLS.value(p["Protocol"] as "tcp");
  if (typeof p["PublishedPort"] === "number") out.publishedPort = p["PublishedPort"];
  if (typeof p["PublishMode"] === "string") out.publishMode = PUBLISH_MODES.value(p["PublishMode"] as "ingress");
  return out;
}

function endpointSpecFromDocker(e: Json): EndpointSpec {
  const out: EndpointSpec = {};
  if (typeof e["Mode"] === "string") out.mode = RESOLUTION_MODES.value(e["Mode"] as "vip");
  if (Array.isArray(e["Ports"])) out.ports = (e["Ports"] as Json[]).map(portFromDocker);
  return out;
}

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
  if (d.UpdateConfig != null) spec.update = updateConfigFromDocker(d.UpdateConfig);
  if (d.RollbackConfig != null) spec.rollback = updateConfigFromDocker(d.RollbackConfig);
  if (d.EndpointSpec != null) spec.endpoint = endpointSpecFromDocker(d.EndpointSpec);
  return spec;
}

function updateConfigToDocker(u: UpdateConfig | undefined, defaults: boolean): Json {
  const o: Json = {};
  const parallelism = u?.parallelism ?? (defaults ? DEFAULT_UPDATE_PARALLELISM : undefined);
  if (parallelism !== undefined) o["Parallelism"] = parallelism;
  const delay = u?.delayNs ?? (defaults ? DEFAULT_UPDATE_DELAY_NS : undefined);
  if (delay !== undefined) o["Delay"] = delay;
  const action = u?.failureAction ?? (defaults ? DEFAULT_UPDATE_FAILURE_ACTION : undefined);
  if (action !== undefined) o["FailureAction"] = FAILURE_ACTIONS.name(action, "pause");
  const monitor = u?.monitorNs ?? (defaults ? DEFAULT_UPDATE_MONITOR_NS : undefined);
  if (monitor !== undefined) o["Monitor"] = monitor;
  const ratio = u?.maxFailureRatio ?? (defaults ? 0 : undefined);
  if (ratio !== undefined) o["MaxFailureRatio"] = ratio;
  const order = u?.order ?? (defaults ? DEFAULT_UPDATE_ORDER : undefined);
  if (order !== undefined) o["Order"] = UPDATE_ORDERS.name(order, "stop-first");
  return o;
}

export function portToDocker(p: PortConfig): Json {
  const o: Json = {};
  if (p.name !== undefined) o["Name"] = p.name;
  o["Protocol"] = PORT_PROTOCOLS.name(p.protocol ?? PortProtocol.TCP, "tcp");
  o["TargetPort"] = p.targetPort;
  if (p.publishedPort !== undefined) o["PublishedPort"] = p.publishedPort;
  o["PublishMode"] = PUBLISH_MODES.name(p.publishMode ?? PublishMode.INGRESS, "ingress");
  return o;
}

function endpointSpecToDocker(e: EndpointSpec, defaults: boolean): Json {
  const o: Json = {};
  if (e.mode !== undefined || defaults) o["Mode"] = RESOLUTION_MODES.name(e.mode ?? ResolutionMode.VIP, "vip");
  if (e.ports !== undefined) o["Ports"] = e.ports.map(portToDocker);
  return o;
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
  if (spec.update !== undefined || defaults) o["UpdateConfig"] = updateConfigToDocker(spec.update, defaults);
  if (spec.rollback !== undefined || defaults) o["RollbackConfig"] = updateConfigToDocker(spec.rollback, defaults);
  if (spec.endpoint !== undefined || defaults) o["EndpointSpec"] = endpointSpecToDocker(spec.endpoint ?? {}, defaults);
  return o;
}

export interface DockerServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

function endpointToDocker(e: Endpoint, defaults: boolean): Json {
  const o: Json = { Spec: endpointSpecToDocker(e.spec ?? {}, defaults) };
  if (e.ports !== undefined) o["Ports"] = e.ports.map(portToDocker);
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
  if (s.jobStatus !== undefined) {
    const j: Json = { JobIteration: { Index: s.jobStatus.jobIteration } };
    if (s.jobStatus.lastExecution) j["LastExecution"] = toRfc3339Nano(s.jobStatus.lastExecution);
    o["JobStatus"] = j;
  }
  return o;
}
