// Node key pairs and certificate signing requests. A node's private key never leaves the node: it
// sends a CSR, whose subject is ignored because the CA alone decides who the node is.
import { createPrivateKey, createPublicKey, generateKeyPair, type webcrypto as wc } from "node:crypto";
import { promisify } from "node:util";
import { EC_KEY_ALGORITHM, SIGNING_ALGORITHM, webcrypto, x509 } from "./crypto-provider.js";
import { CaError } from "./errors.js";

const generateKeyPairAsync = promisify(generateKeyPair);

/** A fresh ECDSA P-256 private key as PKCS#8 PEM. */
export async function generateNodeKey(): Promise<{ keyPem: string }> {
  const { privateKey } = await generateKeyPairAsync("ec", { namedCurve: "prime256v1" });
  return { keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

/** The WebCrypto pair for a PKCS#8 PEM private key (the public half is derived from it). */
export async function importKeyPair(keyPem: string): Promise<wc.CryptoKeyPair> {
  let pkcs8: Buffer;
  let spki: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      throw new Error(`expected an ECDSA P-256 key, got ${key.asymmetricKeyType ?? "unknown"} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`.trim());
    }
    pkcs8 = key.export({ type: "pkcs8", format: "der" });
    spki = createPublicKey(key).export({ type: "spki", format: "der" });
  } catch (err) {
    throw new CaError({ code: "CA_KEY_INVALID" }, `not a usable private key: ${(err as Error).message}`, { cause: err });
  }
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, EC_KEY_ALGORITHM, false, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", spki, EC_KEY_ALGORITHM, true, ["verify"]);
  return { privateKey, publicKey } as wc.CryptoKeyPair;
}

/** A PEM CSR signed by `keyPem`. */
export async function createCsr(keyPem: string): Promise<string> {
  const keys = await importKeyPair(keyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // Placeholder subject: the CA replaces it with the node ID, role and cluster it assigns.
    name: [{ CN: ["shoal-node"] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return csr.toString("pem");
}
