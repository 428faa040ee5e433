// Node: a member of the cluster. spec is what the operator wants (role, availability); the rest is
// reported by the node or derived by managers. Mirrors proto/objects.proto.
import type { Annotations, Driver, Meta, Platform, Resources } from "./common.js";
import type { NetworkAttachment } from "./task.js";

export enum NodeRole {
  WORKER = 0,
  MANAGER = 1,
}

export enum NodeMembership {
  PENDING = 0,
  ACCEPTED = 1,
}

export enum NodeAvailability {
  ACTIVE = 0,
  PAUSE = 1,
  DRAIN = 2,
}

export interface NodeSpec {
  /** name is optional for nodes: the hostname from the description stands in for it. */
  annotations: Annotations;
  desiredRole: NodeRole;
  membership: NodeMembership;
  availability: NodeAvailability;
}

export interface EngineDescription {
  engineVersion?: string;
  labels?: Record<string, string>;
  plugins?: Driver[];
}

export interface NodeTlsInfo {
  /** PEM of the root CA the node trusts. */
  trustRoot?: Uint8Array;
  certIssuerSubject?: Uint8Array;
  certIssuerPublicKey?: Uint8Array;
}

export interface NodeDescription {
  hostname: string;
  platform?: Platform;
  resources?: Resources;
  engine?: EngineDescription;
  tlsInfo?: NodeTlsInfo;
  fips?: boolean;
}

export enum NodeState {
  UNKNOWN = 0,
  DOWN = 1,
  READY = 2,
  DISCONNECTED = 3,
}

export interface NodeStatus {
  state: NodeState;
  message?: string;
  addr?: string;
}

export enum Reachability {
  UNKNOWN = 0,
  UNREACHABLE = 1,
  REACHABLE = 2,
}

export interface ManagerStatus {
  raftId: number;
  /** The address other managers dial (the Docker API's ManagerStatus.Addr). */
  addr: string;
  leader?: boolean;
  reachability?: Reachability;
}

export enum CertificateStatus {
  UNKNOWN = 0,
  PENDING = 1,
  ISSUED = 2,
  FAILED = 3,
  RENEW = 4,
}

export interface Certificate {
  role: NodeRole;
  csr?: Uint8Array;
  status: CertificateStatus;
  statusErr?: string;
  /** PEM. */
  certificate?: Uint8Array;
  cn?: string;
}

export interface Node {
  id: string;
  meta: Meta;
  spec: NodeSpec;
  description?: NodeDescription;
  status: NodeStatus;
  /** Set only on managers. */
  managerStatus?: ManagerStatus;
  /** The role the node actually has (its certificate's); lags spec.desiredRole during changes. */
  role: NodeRole;
  certificate?: Certificate;
  /** Ingress and load-balancer addresses of the node. */
  attachments?: NetworkAttachment[];
}

/**
 * The type of the engine plugin through which a node says what runs its tasks (its executor:
 * "simulated" now, "runc" with the container runtime), as a Nomad client fingerprints its task
 * drivers. A node that names none (shoald without --executor) runs no tasks, and is given none.
 */
export const RUNTIME_PLUGIN_TYPE = "Runtime";

/** The engine plugin a node with task runtime `name` reports. */
export function runtimePlugin(name: string): Driver {
  return { name, options: { type: RUNTIME_PLUGIN_TYPE } };
}

/** Whether the node reported a task runtime (runtimePlugin): without one it cannot run tasks. */
export function hasTaskRuntime(node: Pick<Node, "description">): boolean {
  const plugins = node.description?.engine?.plugins;
  if (plugins === undefined) return false;
  for (const p of plugins) if (p.options?.["type"] === RUNTIME_PLUGIN_TYPE) return true;
  return false;
}
