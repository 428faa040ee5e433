// Typed calls for /services*, /secrets/{x}, /configs/{x} and /networks/{x} (the last three only as
// name → ID lookups for service flags). A service is named by ID, name or unique ID prefix: the
// API resolves it. Service Specs are sent back whole on update, so unknown fields pass through.
import { isDeepStrictEqual } from "node:util";
import type { ApiClient } from "../client.js";
import { ApiError, CliError } from "../errors.js";
import { postEdit } from "./edit.js";
import { expectArray, expectObject } from "./shape.js";
import type { DockerVersion } from "./types.js";

/** Docker durations are nanoseconds. */
export interface UpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: string;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: string;
  [field: string]: unknown;
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface PortConfig {
  Name?: string;
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}

export interface ContainerSpec {
  Image?: string;
  Args?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  Dir?: string;
  User?: string;
  Hostname?: string;
  StopGracePeriod?: number;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  Mounts?: { Type: string; Source?: string; Target: string; ReadOnly?: boolean }[];
  Secrets?: FileReference[];
  Configs?: FileReference[];
  [field: string]: unknown;
}

export interface FileReference {
  File: { Name: string; UID: string; GID: string; Mode: number };
  SecretID?: string;
  SecretName?: string;
  ConfigID?: string;
  ConfigName?: string;
}

export interface Resources {
  NanoCPUs?: number;
  MemoryBytes?: number;
  [field: string]: unknown;
}

export interface TaskTemplate {
  ContainerSpec?: ContainerSpec;
  Resources?: { Limits?: Resources; Reservations?: Resources };
  RestartPolicy?: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number };
  Placement?: {
    Constraints?: string[];
    Preferences?: { Spread: { SpreadDescriptor: string } }[];
    MaxReplicas?: number;
    [field: string]: unknown;
  };
  Networks?: { Target: string; Aliases?: string[] }[];
  ForceUpdate?: number;
  [field: string]: unknown;
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: TaskTemplate;
  Mode?: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: { Mode?: string; Ports?: PortConfig[] };
  [field: string]: unknown;
}

export type UpdateState = "updating" | "paused" | "completed" | "rollback_started" | "rollback_paused" | "rollback_completed";

export interface DockerService {
  ID: string;
  Version: DockerVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint?: { Spec?: unknown; Ports?: PortConfig[]; VirtualIPs?: unknown[] };
  UpdateStatus?: { State?: UpdateState; StartedAt?: string; CompletedAt?: string; Message?: string };
  ServiceStatus?: { RunningTasks?: number; DesiredTasks?: number; CompletedTasks?: number };
}

/** The mode as docker's tables name it: "replicated", "global", "replicated job", "global job". */
export function serviceModeName(spec: ServiceSpec): string {
  const m = spec.Mode ?? {};
  if (m.Global !== undefined) return "global";
  if (m.ReplicatedJob !== undefined) return "replicated job";
  if (m.GlobalJob !== undefined) return "global job";
  return "replicated";
}

export async function listServices(client: ApiClient, filters?: string): Promise<DockerService[]> {
  return expectArray<DockerService>(await client.get("/services", { query: { filters, status: true } }), "GET /services", ["ID", "Spec"]);
}

export async function getService(client: ApiClient, ref: string, opts: { insertDefaults?: boolean } = {}): Promise<DockerService> {
  const body = await client.get(`/services/${encodeURIComponent(ref)}`, { query: { insertDefaults: opts.insertDefaults === true ? true : undefined } });
  return expectObject<DockerService>(body, `GET /services/${ref}`, ["ID", "Version", "Spec"]);
}

/** POST /services/create → the new service's ID. */
export async function createService(client: ApiClient, spec: ServiceSpec): Promise<{ id: string; warnings: string[] }> {
  const body = expectObject<{ ID: string; Warnings?: string[] | null }>(await client.post("/services/create", { body: spec }), "POST /services/create", ["ID"]);
  return { id: body.ID, warnings: body.Warnings ?? [] };
}

/** POST /services/{id}/update with the whole spec and the version read; `rollback` asks for the previous spec. */
export async function updateService(client: ApiClient, read: DockerService, spec: ServiceSpec, opts: { rollback?: boolean } = {}): Promise<string[]> {
  const body = await client.post(`/services/${encodeURIComponent(read.ID)}/update`, {
    query: { version: read.Version.Index, rollback: opts.rollback === true ? "previous" : undefined },
    body: spec,
  });
  const warnings = typeof body === "object" && body !== null ? (body as { Warnings?: string[] | null }).Warnings : undefined;
  return warnings ?? [];
}

/**
 * Posts `edit(first.Spec)` as the service's new spec with the version read, again on a fresh read
 * when the managers alone moved its version (a rolling update's status) and its Spec and
 * PreviousSpec are as read (postEdit: the edit would give the same spec).
 */
export async function editService(
  client: ApiClient,
  first: DockerService,
  edit: (spec: ServiceSpec) => ServiceSpec,
  opts: { rollback?: boolean } = {},
): Promise<{ read: DockerService; warnings: string[] }> {
  const spec = edit(first.Spec);
  let warnings: string[] = [];
  const read = await postEdit(
    first,
    (id) => getService(client, id),
    (a, b) => isDeepStrictEqual(a.Spec, b.Spec) && isDeepStrictEqual(a.PreviousSpec, b.PreviousSpec),
    async (r) => {
      warnings = await updateService(client, r, spec, opts);
    },
  );
  return { read, warnings };
}

export async function removeService(client: ApiClient, ref: string): Promise<void> {
  await client.delete(`/services/${encodeURIComponent(ref)}`);
}

/** A secret's, config's or network's ID from its name; a 404 becomes a clear CLI_FAILED. */
export async function resolveObjectId(client: ApiClient, kind: "secret" | "config" | "network", name: string): Promise<string> {
  const path = kind === "network" ? `/networks/${encodeURIComponent(name)}` : `/${kind}s/${encodeURIComponent(name)}`;
  try {
    const body = expectObject<{ ID?: string; Id?: string }>(
      await client.get(path, kind === "network" ? { query: { scope: "swarm" } } : {}),
      `GET ${path}`,
    );
    const id = body.ID ?? body.Id;
    if (id === undefined) throw new CliError("CLI_BAD_RESPONSE", `GET ${path} answered an object without an ID`);
    return id;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw new CliError("CLI_FAILED", `${kind} not found: ${name}`, { kind, name }, err);
    throw err;
  }
}
