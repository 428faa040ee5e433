// What a node certificate says: who the node is (CN = node ID, OU = role, O = cluster), whether a CA
// issued it, and when to renew it. Reads certificates only; issuing is the authority's job.
import { X509Certificate as NodeX509Certificate } from "node:crypto";
import type { Random } from "@shoal/common";
import { x509 } from "./crypto-provider.js";
import { CaError } from "./errors.js";

export type NodeRole = "manager" | "worker";

export interface NodeIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

export const ROLE_OU: Readonly<Record<NodeRole, string>> = { manager: "shoal-manager", worker: "shoal-worker" };

/** The role an OU names, or undefined for anything else (including the root CA). */
export function roleOfOu(ou: string | undefined): NodeRole | undefined {
  if (ou === ROLE_OU.manager) return "manager";
  if (ou === ROLE_OU.worker) return "worker";
  return undefined;
}

export function parseNodeCertificate(pem: string): NodeIdentity & { notBefore: Date; notAfter: Date } {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch (err) {
    throw new CaError({ code: "CA_CERT_INVALID" }, `not a certificate: ${(err as Error).message}`, { cause: err });
  }
  const field = (name: string): string | undefined => {
    const values = cert.subjectName.getField(name);
    return values.length === 1 ? values[0] : undefined;
  };
  const nodeId = field("CN");
  const ou = field("OU");
  const clusterId = field("O");
  const role = roleOfOu(ou);
  if (nodeId === undefined || clusterId === undefined || role === undefined) {
    throw new CaError({ code: "CA_CERT_INVALID" }, `not a Shoal node certificate (subject "${cert.subject}")`);
  }
  return { nodeId, role, clusterId, notBefore: cert.notBefore, notAfter: cert.notAfter };
}

/** True when caCertPem's key signed certPem and certPem is valid at `nowMs`. */
export function verifyIssuedBy(certPem: string, caCertPem: string, nowMs: number = Date.now()): boolean {
  let cert: NodeX509Certificate;
  let ca: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(certPem);
    ca = new NodeX509Certificate(caCertPem);
  } catch {
    return false;
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}

/**
 * Milliseconds from `now` until renewal: a uniformly random point between 50 % and 80 % of the
 * certificate's life (so a fleet issued together does not renew together), 0 when already past it.
 */
export function renewalDelayMs(notBefore: Date, notAfter: Date, now: number, random: Random): number {
  const lifeMs = notAfter.getTime() - notBefore.getTime();
  const renewAt = notBefore.getTime() + lifeMs * (0.5 + 0.3 * random.next());
  return Math.max(0, Math.floor(renewAt - now));
}
