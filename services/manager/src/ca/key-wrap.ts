// Keys at rest and autolock. A node's data key (raft encryption) and TLS key are stored wrapped with
// AES-256-GCM under a key-encryption key: the unlock key when autolock is on. Owns formats and
// crypto only; which keys exist and where they are written belongs to the node's state directory.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { CaError } from "./errors.js";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const UNLOCK_PREFIX = "SHKEY-1-";
const WRAP_PREFIX = "v1.";

export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** SHKEY-1-<base64url of 32 random bytes>: what `swarm unlock` asks the operator for. */
export function generateUnlockKey(): string {
  return UNLOCK_PREFIX + randomBytes(KEY_BYTES).toString("base64url");
}

export function parseUnlockKey(s: string): Buffer {
  const body = s.trim();
  const text = body.slice(UNLOCK_PREFIX.length);
  const key = body.startsWith(UNLOCK_PREFIX) && /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, "base64url") : undefined;
  // Only the canonical spelling: the last of 43 characters carries 2 unused bits, and a key typed
  // with them set (a mistyped last character) must not unlock as if it were right.
  if (key?.length !== KEY_BYTES || key.toString("base64url") !== text) {
    throw new CaError({ code: "CA_UNLOCK_KEY_MALFORMED" }, `unlock key must look like ${UNLOCK_PREFIX}<43 base64url characters>`);
  }
  return key;
}

/** v1.<base64url(iv | ciphertext | tag)>; a fresh IV per call, so wrapping twice differs. */
export function wrapKey(key: Buffer, kek: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", checkedKek(kek), iv);
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  return WRAP_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
}

export function unwrapKey(wrapped: string, kek: Buffer): Buffer {
  const raw = wrapped.startsWith(WRAP_PREFIX) ? Buffer.from(wrapped.slice(WRAP_PREFIX.length), "base64url") : Buffer.alloc(0);
  if (raw.length < IV_BYTES + TAG_BYTES) throw new CaError({ code: "CA_WRAPPED_KEY_MALFORMED" }, `a wrapped key must look like ${WRAP_PREFIX}<base64url>`);
  const decipher = createDecipheriv("aes-256-gcm", checkedKek(kek), raw.subarray(0, IV_BYTES));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    // GCM cannot tell a wrong key from a damaged blob; the wrong key is by far the likely cause.
    throw new CaError({ code: "CA_UNLOCK_KEY_WRONG" }, "the unlock key is wrong", { cause: err });
  }
}

function checkedKek(kek: Buffer): Buffer {
  if (kek.length !== KEY_BYTES) throw new CaError({ code: "CA_UNLOCK_KEY_MALFORMED" }, `a key-encryption key must be ${KEY_BYTES} bytes, not ${kek.length}`);
  return kek;
}
