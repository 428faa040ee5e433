// The signing half of the root CA: turns a node's CSR into its certificate. The CA, not the CSR,
// decides the subject (node ID, role, cluster); the CSR only proves possession of the key. Does not
// decide whether a node may join or which role it gets — the CA service checks tokens first.
import type { webcrypto } from "node:crypto";
import { systemClock, type Clock } from "@shoal/common";
import { DEFAULT_NODE_CERT_EXPIRY_NS } from "@shoal/store";
import { ROLE_OU, type NodeRole } from "./certificate.js";
import { SIGNING_ALGORITHM, x509 } from "./crypto-provider.js";
import { CaError } from "./errors.js";
import { importKeyPair } from "./node-key.js";
import { CLOCK_SKEW_MS, caDigest, randomSerialHex, type RootCaMaterial } from "./root-ca.js";

export const DEFAULT_NODE_CERT_VALIDITY_MS = DEFAULT_NODE_CERT_EXPIRY_NS / 1_000_000;

export interface IssueRequest {
  csrPem: string;
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  validityMs?: number;
}

export class CertificateAuthority {
  readonly certPem: string;
  readonly digest: string;
  private readonly root: RootCaMaterial;
  private readonly clock: Clock;
  private readonly rootCert: x509.X509Certificate;
  private signingKey: Promise<webcrypto.CryptoKeyPair> | undefined;

  constructor(root: RootCaMaterial, modules: { clock?: Clock } = {}) {
    this.root = root;
    this.certPem = root.certPem;
    this.digest = caDigest(root.certPem);
    this.clock = modules.clock ?? systemClock;
    this.rootCert = new x509.X509Certificate(root.certPem);
  }

  async issue(req: IssueRequest): Promise<string> {
    const csr = await verifiedCsr(req.csrPem);
    this.signingKey ??= importKeyPair(this.root.keyPem);
    const keys = await this.signingKey;
    const ou = ROLE_OU[req.role];
    const now = this.clock.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialHex(),
      subject: [{ CN: [req.nodeId] }, { OU: [ou] }, { O: [req.clusterId] }],
      issuer: this.rootCert.subjectName,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + (req.validityMs ?? DEFAULT_NODE_CERT_VALIDITY_MS)),
      signingAlgorithm: SIGNING_ALGORITHM,
      publicKey: csr.publicKey,
      signingKey: keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        // Clients dial managers with the target name "shoal-manager", so any manager address works.
        new x509.SubjectAlternativeNameExtension([
          { type: "dns", value: ou },
          { type: "dns", value: req.nodeId },
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return cert.toString("pem");
  }
}

async function verifiedCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CaError({ code: "CA_CSR_INVALID" }, `the certificate signing request cannot be parsed: ${(err as Error).message}`, { cause: err });
  }
  const alg = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (alg.name !== "ECDSA" || alg.namedCurve !== "P-256") {
    throw new CaError({ code: "CA_CSR_INVALID" }, `the certificate signing request must carry an ECDSA P-256 key, not ${alg.name}`);
  }
  let ok: boolean;
  try {
    ok = await csr.verify();
  } catch (err) {
    throw new CaError({ code: "CA_CSR_INVALID" }, `the certificate signing request cannot be verified: ${(err as Error).message}`, { cause: err });
  }
  if (!ok) throw new CaError({ code: "CA_CSR_INVALID" }, "the certificate signing request's signature does not match its key");
  return csr;
}
