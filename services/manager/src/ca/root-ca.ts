// The cluster's root CA: created once by `init`, its certificate pinned by join tokens (caDigest).
// Owns key generation and self-signing only; storing the key (raft, encrypted) is the manager's job.
import { createHash, randomBytes } from "node:crypto";
import { systemClock, type Clock } from "@shoal/common";
import { SIGNING_ALGORITHM, EC_KEY_ALGORITHM, webcrypto, x509 } from "./crypto-provider.js";
import { CaError } from "./errors.js";

export interface RootCaMaterial {
  certPem: string;
  keyPem: string;
}

export const ROOT_CA_COMMON_NAME = "shoal-root-ca";
export const DEFAULT_ROOT_VALIDITY_MS = 20 * 365 * 24 * 3600 * 1000;
/** Backdating of every notBefore, so a peer whose clock is slightly behind still accepts the cert. */
export const CLOCK_SKEW_MS = 60_000;
/** base36 of a 256-bit number fits in 50 digits (36^50 > 2^256); fixed width keeps tokens uniform. */
export const CA_DIGEST_LENGTH = 50;

/** A positive random serial (high bit cleared so DER does not need a sign byte). */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

export async function createRootCa(opts: { clusterId: string; validityMs?: number; clock?: Clock }): Promise<RootCaMaterial> {
  const now = (opts.clock ?? systemClock).now();
  const keys = await webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: [{ CN: [ROOT_CA_COMMON_NAME] }, { O: [opts.clusterId] }],
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + (opts.validityMs ?? DEFAULT_ROOT_VALIDITY_MS)),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: cert.toString("pem"), keyPem: pemEncode("PRIVATE KEY", pkcs8) };
}

/** sha256 of the certificate's DER in base36, CA_DIGEST_LENGTH characters (Swarm's token digest). */
export function caDigest(certPem: string): string {
  const hash = createHash("sha256").update(pemToDer(certPem)).digest("hex");
  return BigInt(`0x${hash}`).toString(36).padStart(CA_DIGEST_LENGTH, "0");
}

/** The DER bytes of the first CERTIFICATE block. */
export function pemToDer(certPem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(certPem);
  if (m === null) throw new CaError({ code: "CA_CERT_INVALID" }, "not a PEM certificate");
  return Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
}

function pemEncode(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
