// Docker's TLSInfo: the trusted root (PEM) and its subject and public key (base64 DER), which the
// CLI shows in `node inspect` and compares during CA rotation.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface DockerTlsInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

const decoder = new TextDecoder();

export function bytesToText(b: Uint8Array | undefined): string {
  return b === undefined ? "" : decoder.decode(b);
}

export function bytesToBase64(b: Uint8Array | undefined): string {
  return b === undefined ? "" : Buffer.from(b).toString("base64");
}

/** TLSInfo of a root CA certificate (PEM); empty strings when there is none or it cannot be read. */
export function tlsInfoOfRoot(caCertPem: Uint8Array | undefined): DockerTlsInfo {
  const pem = bytesToText(caCertPem);
  if (pem === "") return { TrustRoot: "", CertIssuerSubject: "", CertIssuerPublicKey: "" };
  try {
    const cert = new x509.X509Certificate(pem);
    return {
      TrustRoot: pem,
      CertIssuerSubject: Buffer.from(cert.subjectName.toArrayBuffer()).toString("base64"),
      CertIssuerPublicKey: Buffer.from(cert.publicKey.rawData).toString("base64"),
    };
  } catch {
    // A root we cannot parse is still the trusted root: show it, without the derived fields.
    return { TrustRoot: pem, CertIssuerSubject: "", CertIssuerPublicKey: "" };
  }
}
