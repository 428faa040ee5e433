// The Ca gRPC service on every manager: hands out the root certificate, and signs node
// certificates — for a joining node (proven by a join token, no client certificate yet) and for a
// node renewing or changing role (proven by its current certificate). Joining creates the Node
// object; the role comes from which token matched, or for renewals from the node's desired role
// (a promotion takes effect when the node renews; a demotion only after the membership loop took
// the node out of raft and set its role). It must not decide membership or talk to raft.
import * as grpc from "@grpc/grpc-js";
import { systemClock, systemRandom, type Clock, type Logger, type Random } from "@shoal/common";
import { StatusError, caServiceDefinition, unaryHandler, type controlpb } from "@shoal/proto";
import { NodeAvailability, NodeMembership, NodeRole, NodeState, generateId, type Node, type NodeDescription, type ReadTx } from "@shoal/store";
import { CertificateAuthority, parseJoinToken, peerIdentity, tokenMatches } from "../ca/index.js";
import type { ReplicatedStore } from "../replication/index.js";
import { getCluster, rootCaPems } from "./cluster-object.js";
import { ControlError } from "./errors.js";

export interface CaServiceModules {
  rs: ReplicatedStore;
  logger: Logger;
  clock?: Clock;
  random?: Random;
}

export function managerPeers(tx: ReadTx): controlpb.IManagerPeer[] {
  return tx
    .find("node", { role: NodeRole.MANAGER })
    .filter((n) => n.managerStatus?.addr)
    .map((n) => ({ nodeId: n.id, addr: n.managerStatus?.addr ?? "" }));
}

export function decodeDescription(bytes: Uint8Array | null | undefined): NodeDescription | undefined {
  if (bytes === null || bytes === undefined || bytes.length === 0) return undefined;
  try {
    const d = JSON.parse(new TextDecoder().decode(bytes)) as NodeDescription;
    return typeof d?.hostname === "string" ? d : undefined;
  } catch {
    return undefined;
  }
}

export class CaService {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private signer: { pem: string; ca: CertificateAuthority } | undefined;

  constructor(private readonly modules: CaServiceModules) {
    this.log = modules.logger.child({ component: "ca" });
    this.clock = modules.clock ?? systemClock;
    this.random = modules.random ?? systemRandom;
  }

  register(server: grpc.Server): void {
    server.addService(caServiceDefinition, {
      getRootCaCertificate: unaryHandler(async () => this.getRoot(), this.log),
      issueNodeCertificate: unaryHandler(async (req: controlpb.IssueNodeCertificateRequest, call) => this.issue(req, call), this.log),
    });
  }

  private getRoot(): controlpb.IGetRootCaCertificateResponse {
    const cluster = this.modules.rs.store.view(getCluster);
    return { certificate: cluster.rootCa?.caCert ?? new Uint8Array() };
  }

  private authority(): CertificateAuthority {
    const pems = rootCaPems(this.modules.rs.store.view(getCluster));
    if (this.signer?.pem !== pems.certPem) this.signer = { pem: pems.certPem, ca: new CertificateAuthority(pems, { clock: this.clock }) };
    return this.signer.ca;
  }

  private async issue(req: controlpb.IssueNodeCertificateRequest, call: grpc.ServerUnaryCall<unknown, unknown>): Promise<controlpb.IIssueNodeCertificateResponse> {
    const store = this.modules.rs.store;
    const cluster = store.view(getCluster);
    const caller = peerIdentity(call);
    const description = decodeDescription(req.description);
    let nodeId: string;
    let role: NodeRole;
    if (caller !== undefined && req.token === "") {
      if (caller.clusterId !== cluster.id) {
        throw new StatusError({ code: "CA_WRONG_CLUSTER", grpcStatus: grpc.status.PERMISSION_DENIED }, "the certificate belongs to another cluster");
      }
      nodeId = caller.nodeId;
      // Grouped (group commit): nodes renewing or joining at once share entries instead of taking
      // a raft round trip each. If the shared entry fails, each gets the error (a renewal is
      // retried later; a join reports it to its operator).
      role = await store.update(
        (tx) => {
          const node = tx.get("node", nodeId);
          if (node === undefined) throw new ControlError({ code: "NODE_REMOVED", nodeId }, `node ${nodeId} was removed from the swarm`);
          if (node.spec.desiredRole === NodeRole.MANAGER && node.role !== NodeRole.MANAGER) {
            tx.update("node", { ...node, role: NodeRole.MANAGER });
            return NodeRole.MANAGER;
          }
          return node.role;
        },
        { group: true },
      );
      this.log.info({ nodeId, role: NodeRole[role] }, "ca: renewing node certificate");
    } else {
      const token = req.token ?? "";
      parseJoinToken(token);
      const tokens = cluster.rootCa?.joinTokens;
      if (tokens !== undefined && tokenMatches(token, tokens.manager)) role = NodeRole.MANAGER;
      else if (tokens !== undefined && tokenMatches(token, tokens.worker)) role = NodeRole.WORKER;
      else throw new ControlError({ code: "CA_TOKEN_REJECTED" }, "invalid join token: it is not a current worker or manager token of this swarm (wrong, or rotated away)");
      nodeId = generateId(this.random);
      const availability = Object.values(NodeAvailability).includes(req.availability) ? (req.availability as NodeAvailability) : NodeAvailability.ACTIVE;
      const node: Omit<Node, "meta"> = {
        id: nodeId,
        spec: { annotations: { name: "" }, desiredRole: role, membership: NodeMembership.ACCEPTED, availability },
        status: { state: NodeState.UNKNOWN, message: "joined; waiting for its first heartbeat", addr: req.advertiseAddr ?? "" },
        role,
      };
      if (description !== undefined) node.description = description;
      await store.update((tx) => tx.create("node", node), { group: true });
      this.log.info({ nodeId, role: NodeRole[role], hostname: description?.hostname }, "ca: node joined");
    }
    const csrPem = new TextDecoder().decode(req.csr);
    const expiryNs = cluster.spec.caConfig?.nodeCertExpiryNs;
    const certPem = await this.authority().issue({
      csrPem,
      nodeId,
      role: role === NodeRole.MANAGER ? "manager" : "worker",
      clusterId: cluster.id,
      ...(expiryNs !== undefined && expiryNs > 0 ? { validityMs: Math.round(expiryNs / 1e6) } : {}),
    });
    return {
      nodeId,
      certificate: new TextEncoder().encode(certPem),
      rootCa: cluster.rootCa?.caCert ?? new Uint8Array(),
      clusterId: cluster.id,
      role,
      managers: store.view(managerPeers),
    };
  }
}
