// Who is calling: the identity in the caller's verified client certificate, and the per-RPC role
// check every service runs first. grpc-js only exposes a peer certificate that chained to our root
// (socket.authorized), so an unverified or missing certificate reads as "no identity".
import { TLSSocket, type PeerCertificate } from "node:tls";
import { sessionOfCall } from "@shoal/proto";
import { ROLE_OU, roleOfOu, type NodeIdentity, type NodeRole } from "./certificate.js";
import { CaAuthorizationError } from "./errors.js";
import { single } from "./tls-credentials.js";

export interface CallWithAuthContext {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

/**
 * The TLS socket a grpc-js server call arrived on (sessionOfCall): undefined if grpc-js's
 * internals moved, and then every call reads the certificate again (slower, still correct). The
 * test "reads a connection's certificate once" fails if this stops finding the socket.
 */
function socketOf(call: CallWithAuthContext): TLSSocket | undefined {
  const socket: unknown = sessionOfCall(call)?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

// Identity by connection. An HTTP/2 connection's peer certificate cannot change: Node turns TLS
// renegotiation off for HTTP/2 sessions (RFC 7540 §9.2.1) and TLS 1.3 has none. Reading it per
// call (getPeerCertificate parses the certificate and hashes it three times) was 5 % of a busy
// leader's CPU, one heartbeat or status report at a time. `null`: no identity.
const identities = new WeakMap<TLSSocket, NodeIdentity | null>();

export function peerIdentity(call: CallWithAuthContext): NodeIdentity | undefined {
  const socket = socketOf(call);
  if (socket !== undefined) {
    const known = identities.get(socket);
    if (known !== undefined) return known ?? undefined;
  }
  const who = identityOf(call.getAuthContext().sslPeerCertificate);
  if (socket !== undefined) identities.set(socket, who ?? null);
  return who;
}

function identityOf(cert: PeerCertificate | undefined): NodeIdentity | undefined {
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
