// Join tokens: SHTKN-1-<root CA digest>-<secret>. The digest lets a joining node pin the root CA
// before it trusts anything it is sent; the secret says which role it may join as. Owns the format
// and comparisons only; which tokens are current lives in the cluster object in raft.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { CaError } from "./errors.js";
import { CA_DIGEST_LENGTH, caDigest } from "./root-ca.js";

const PREFIX = "SHTKN";
const VERSION = "1";
/** 128 random bits in base36: 36^25 > 2^128. */
export const TOKEN_SECRET_LENGTH = 25;
const SHAPE = "join token must look like SHTKN-1-<digest>-<secret>";
const BASE36 = /^[0-9a-z]+$/;

export function generateJoinToken(caCertPem: string): string {
  const secret = BigInt(`0x${randomBytes(16).toString("hex")}`).toString(36).padStart(TOKEN_SECRET_LENGTH, "0");
  return `${PREFIX}-${VERSION}-${caDigest(caCertPem)}-${secret}`;
}

export function parseJoinToken(token: string): { digest: string; secret: string } {
  const parts = token.split("-");
  const malformed = (what: string): CaError => new CaError({ code: "CA_TOKEN_MALFORMED" }, `${SHAPE}: ${what}`);
  if (parts.length !== 4) throw malformed(`it has ${parts.length} dash-separated parts, not 4`);
  const [prefix, version, digest, secret] = parts as [string, string, string, string];
  if (prefix !== PREFIX) throw malformed(`it starts with "${prefix.slice(0, 10)}", not "${PREFIX}"`);
  if (version !== VERSION) throw malformed(`version "${version.slice(0, 10)}" is not supported (only ${VERSION})`);
  if (digest.length !== CA_DIGEST_LENGTH || !BASE36.test(digest)) throw malformed(`the digest must be ${CA_DIGEST_LENGTH} characters of 0-9a-z`);
  if (secret.length !== TOKEN_SECRET_LENGTH || !BASE36.test(secret)) throw malformed(`the secret must be ${TOKEN_SECRET_LENGTH} characters of 0-9a-z`);
  return { digest, secret };
}

/** Constant-time equality of two tokens (hashing first makes the comparison length-independent). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** Throws unless caCertPem is the root CA the token's digest names. */
export function checkCaDigest(caCertPem: string, digest: string): void {
  const actual = caDigest(caCertPem);
  const a = Buffer.from(actual);
  const b = Buffer.from(digest);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new CaError({ code: "CA_DIGEST_MISMATCH" }, "the manager's root CA does not match the join token: wrong token or a man in the middle");
  }
}
