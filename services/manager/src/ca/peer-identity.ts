// Who is calling: the identity in the caller's verified client certificate, and the per-RPC role
// check every service runs first. grpc-js only exposes a peer certificate that chained to our root
// (socket.authorized), so an unverified or missing certificate reads as "no identity".
import type { PeerCertificate } from "node:tls";
import { ROLE_OU, roleOfOu, type NodeIdentity, type NodeRole } from "./certificate.js";
import { CaAuthorizationError } from "./errors.js";
import { single } from "./tls-credentials.js";

export interface CallWithAuthContext {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

export function peerIdentity(call: CallWithAuthContext): NodeIdentity | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert?.subject === undefined) return undefined;
  const nodeId = single(cert.subject.CN);
  const role = roleOfOu(single(cert.subject.OU));
  const clusterId = single(cert.subject.O);
  if (nodeId === undefined || role === undefined || clusterId === undefined) return undefined;
  return { nodeId, role, clusterId };
}

/** The caller's identity if it may call this RPC; throws CaAuthorizationError (with its gRPC status) otherwise. */
export function authorizeCall(call: CallWithAuthContext, opts: { roles: NodeRole[]; clusterId: string }): NodeIdentity {
  const who = peerIdentity(call);
  if (who === undefined) throw new CaAuthorizationError("CA_UNAUTHENTICATED", "unauthenticated: this RPC needs a node certificate issued by the cluster's CA");
  if (who.clusterId !== opts.clusterId) {
    throw new CaAuthorizationError("CA_PERMISSION_DENIED", `permission denied: the certificate belongs to cluster ${who.clusterId}, not ${opts.clusterId}`);
  }
  if (!opts.roles.includes(who.role)) {
    const needed = opts.roles.map((r) => ROLE_OU[r].replace("shoal-", "")).join(" or ");
    throw new CaAuthorizationError("CA_PERMISSION_DENIED", `permission denied: a ${who.role} certificate cannot call ${needed}-only RPCs`);
  }
  return who;
}
