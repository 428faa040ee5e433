// Points @peculiar/x509 at Node's WebCrypto. Every module here that calls x509 imports this first;
// the library must not pick up some other global provider (or none, on Node 20 without --experimental).
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509, webcrypto };

/** The only key and signature algorithm in a Shoal cluster: ECDSA P-256 with SHA-256. */
export const EC_KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
export const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
