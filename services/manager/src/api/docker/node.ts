// Node ⇄ Docker's swarm.Node JSON. Owns the shape only: lookups, filters and writes live in the
// routes. Leader and reachability come from the raft view (ClusterStatus), not from the stored
// object, whose managerStatus may lag a leadership change.
import { NodeAvailability, NodeRole, NodeState, Reachability, type Node, type NodeSpec } from "@shoal/store";
import type { ClusterStatus } from "../backend.js";
import { object, oneOfStrings, stringMap, type JsonSchema } from "../validation.js";
import { bytesToBase64, bytesToText, type DockerTlsInfo } from "./tls-info.js";
import { toRfc3339Nano } from "./time.js";

export const ROLE_NAMES = ["worker", "manager"] as const;
export const AVAILABILITY_NAMES = ["active", "pause", "drain"] as const;
export const MEMBERSHIP_NAMES = ["pending", "accepted"] as const;
const STATE_NAMES: Readonly<Record<NodeState, string>> = {
  [NodeState.UNKNOWN]: "unknown",
  [NodeState.DOWN]: "down",
  [NodeState.READY]: "ready",
  [NodeState.DISCONNECTED]: "disconnected",
};
const REACHABILITY_NAMES: Readonly<Record<Reachability, string>> = {
  [Reachability.UNKNOWN]: "unknown",
  [Reachability.UNREACHABLE]: "unreachable",
  [Reachability.REACHABLE]: "reachable",
};

export type DockerRole = (typeof ROLE_NAMES)[number];
export type DockerAvailability = (typeof AVAILABILITY_NAMES)[number];

export function roleName(role: NodeRole): DockerRole {
  return role === NodeRole.MANAGER ? "manager" : "worker";
}

export function roleFromName(name: DockerRole): NodeRole {
  return name === "manager" ? NodeRole.MANAGER : NodeRole.WORKER;
}

export function availabilityName(a: NodeAvailability): DockerAvailability {
  return a === NodeAvailability.DRAIN ? "drain" : a === NodeAvailability.PAUSE ? "pause" : "active";
}

export function availabilityFromName(name: DockerAvailability): NodeAvailability {
  return name === "drain" ? NodeAvailability.DRAIN : name === "pause" ? NodeAvailability.PAUSE : NodeAvailability.ACTIVE;
}

/** Docker's swarm.NodeSpec as POST /nodes/{id}/update takes it. */
export interface DockerNodeSpec {
  Name?: string | null;
  Labels?: Record<string, string> | null;
  Role?: DockerRole;
  Availability?: DockerAvailability;
}

export const dockerNodeSpecSchema: JsonSchema = object(
  {
    Name: { type: ["string", "null"] },
    Labels: stringMap,
    Role: oneOfStrings(ROLE_NAMES),
    Availability: oneOfStrings(AVAILABILITY_NAMES),
  },
  { nullable: false, description: "Docker NodeSpec: the whole desired spec of the node" },
);

/** The new spec for `current` from a Docker NodeSpec; absent Role / Availability keep the current ones. */
export function nodeSpecFromDocker(spec: DockerNodeSpec, current: NodeSpec): NodeSpec {
  const annotations: NodeSpec["annotations"] = { name: spec.Name ?? "", labels: { ...(spec.Labels ?? {}) } };
  return {
    annotations,
    desiredRole: spec.Role === undefined ? current.desiredRole : roleFromName(spec.Role),
    membership: current.membership,
    availability: spec.Availability === undefined ? current.availability : availabilityFromName(spec.Availability),
  };
}

export interface DockerNode {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name?: string; Labels: Record<string, string>; Role: DockerRole; Availability: DockerAvailability };
  Description: {
    Hostname: string;
    Platform: { Architecture: string; OS: string };
    Resources: { NanoCPUs: number; MemoryBytes: number };
    Engine: { EngineVersion: string; Labels?: Record<string, string>; Plugins?: { Type: string; Name: string }[] };
    TLSInfo: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
  };
  Status: { State: string; Message?: string; Addr: string };
  ManagerStatus?: { Leader: boolean; Reachability: string; Addr: string };
}

/**
 * `rootTls`: the cluster root's TLSInfo, shown for a node that reports none of its own. Shoal's
 * managers issue every node certificate from that one root (rotation and external CAs are
 * refused), so it is each node's trust root and certificate issuer.
 */
export function nodeToDocker(node: Node, raft: ClusterStatus | undefined, rootTls: DockerTlsInfo | undefined): DockerNode {
  const d = node.description;
  const spec: DockerNode["Spec"] = {
    Labels: { ...(node.spec.annotations.labels ?? {}) },
    Role: roleName(node.spec.desiredRole),
    Availability: availabilityName(node.spec.availability),
  };
  if (node.spec.annotations.name) spec.Name = node.spec.annotations.name;
  const engine: DockerNode["Description"]["Engine"] = { EngineVersion: d?.engine?.engineVersion ?? "" };
  if (d?.engine?.labels !== undefined) engine.Labels = { ...d.engine.labels };
  if (d?.engine?.plugins !== undefined) engine.Plugins = d.engine.plugins.map((p) => ({ Type: p.options?.["type"] ?? "", Name: p.name }));
  const status: DockerNode["Status"] = { State: STATE_NAMES[node.status.state] ?? "unknown", Addr: node.status.addr ?? "" };
  if (node.status.message) status.Message = node.status.message;
  const out: DockerNode = {
    ID: node.id,
    Version: { Index: node.meta.version.index },
    CreatedAt: toRfc3339Nano(node.meta.createdAt),
    UpdatedAt: toRfc3339Nano(node.meta.updatedAt),
    Spec: spec,
    Description: {
      Hostname: d?.hostname ?? "",
      Platform: { Architecture: d?.platform?.architecture ?? "", OS: d?.platform?.os ?? "" },
      Resources: { NanoCPUs: d?.resources?.nanoCpus ?? 0, MemoryBytes: d?.resources?.memoryBytes ?? 0 },
      Engine: engine,
      TLSInfo:
        d?.tlsInfo === undefined && rootTls !== undefined
          ? { ...rootTls }
          : {
              TrustRoot: bytesToText(d?.tlsInfo?.trustRoot),
              CertIssuerSubject: bytesToBase64(d?.tlsInfo?.certIssuerSubject),
              CertIssuerPublicKey: bytesToBase64(d?.tlsInfo?.certIssuerPublicKey),
            },
    },
    Status: status,
  };
  const ms = node.managerStatus;
  if (ms !== undefined) {
    const member = raft?.members.find((m) => m.raftId === ms.raftId);
    const reachability = member !== undefined ? (member.reachable ? "reachable" : "unreachable") : REACHABILITY_NAMES[ms.reachability ?? Reachability.UNKNOWN];
    out.ManagerStatus = {
      Leader: raft !== undefined && raft.leaderRaftId !== 0 && ms.raftId === raft.leaderRaftId,
      Reachability: reachability,
      Addr: ms.addr,
    };
  }
  return out;
}

