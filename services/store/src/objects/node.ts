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
