// Encryption at rest for Raft data: an AES-GCM StorageCodec keyed by the manager's data key.
//
// Owns: the sealed byte layout and authenticated decryption. It must not manage keys (the manager
// holds the data key, wraps it for autolock and rotates it); it only uses the key it is given.
//
// Sealed layout: version (1 byte) | IV (12 bytes) | GCM tag (16 bytes) | ciphertext.
// IVs are random per seal: with 96-bit random IVs one key stays within NIST's 2^32-message bound
// for over a century at thousands of entries per second.
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes, type DecipherGCM } from "node:crypto";
import { SLICE_BYTES } from "@shoal/common";
import { RaftError } from "../core/errors.js";
import type { StorageCodec } from "./record-format.js";

const SEALED_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

const CIPHERS: Record<number, CipherGCMTypes> = { 16: "aes-128-gcm", 24: "aes-192-gcm", 32: "aes-256-gcm" };

/** A codec for LevelStorage; `key` is 16, 24 or 32 bytes (AES-128/192/256). */
export function createAesGcmCodec(key: Uint8Array): StorageCodec {
  const cipher = CIPHERS[key.length];
  if (cipher === undefined) {
    throw new RaftError("RAFT_INVALID_ARGUMENT", `AES-GCM key must be 16, 24 or 32 bytes, got ${key.length}`, { keyBytes: key.length });
  }
  // Copy so a caller zeroing or reusing its buffer cannot change our key underneath us.
  const k = Buffer.from(key);
  /** The sealed bytes' header checked, and a decipher set up with its IV and tag. */
  const decipherFor = (sealed: Uint8Array): { buf: Buffer; d: DecipherGCM } => {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (buf.length < HEADER_BYTES) throw new RaftError("RAFT_LOG_CORRUPT", `sealed data too short (${buf.length} bytes)`, { reason: "decrypt" });
    if (buf[0] !== SEALED_VERSION) throw new RaftError("RAFT_LOG_CORRUPT", `unknown sealed data version ${buf[0]}`, { reason: "decrypt" });
    const d = createDecipheriv(cipher, k, buf.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
    d.setAuthTag(buf.subarray(1 + IV_BYTES, HEADER_BYTES));
    return { buf, d };
  };
  return {
    seal(plain: Uint8Array): Uint8Array {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv(cipher, k, iv, { authTagLength: TAG_BYTES });
      const body = Buffer.concat([c.update(plain), c.final()]);
      const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
      out[0] = SEALED_VERSION;
      iv.copy(out, 1);
      c.getAuthTag().copy(out, 1 + IV_BYTES);
      body.copy(out, HEADER_BYTES);
      return out;
    },
    sealedLength(plainLength: number): number {
      return HEADER_BYTES + plainLength; // GCM's ciphertext is as long as the plaintext
    },
    async sealInSlices(plain: Uint8Array, out: Uint8Array, offset: number, pause: () => Promise<void>): Promise<void> {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv(cipher, k, iv, { authTagLength: TAG_BYTES });
      const dst = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      dst[offset] = SEALED_VERSION;
      iv.copy(dst, offset + 1);
      let w = offset + HEADER_BYTES;
      for (let a = 0; a < plain.length; a += SLICE_BYTES) {
        if (a > 0) await pause();
        const part = c.update(plain.subarray(a, Math.min(plain.length, a + SLICE_BYTES)));
        part.copy(dst, w);
        w += part.length;
      }
      c.final().copy(dst, w);
      c.getAuthTag().copy(dst, offset + 1 + IV_BYTES);
    },
    async openInSlices(sealed: Uint8Array, pause: () => Promise<void>): Promise<Uint8Array> {
      const { buf, d } = decipherFor(sealed);
      const body = buf.subarray(HEADER_BYTES);
      const out = Buffer.allocUnsafe(body.length);
      let w = 0;
      for (let a = 0; a < body.length; a += SLICE_BYTES) {
        if (a > 0) await pause();
        w += d.update(body.subarray(a, Math.min(body.length, a + SLICE_BYTES))).copy(out, w);
      }
      try {
        w += d.final().copy(out, w);
      } catch {
        throw new RaftError("RAFT_LOG_CORRUPT", "authentication failed: wrong key or tampered data", { reason: "decrypt" });
      }
      return new Uint8Array(out.buffer, out.byteOffset, w);
    },
    open(sealed: Uint8Array): Uint8Array {
      const { buf, d } = decipherFor(sealed);
      try {
        const plain = Buffer.concat([d.update(buf.subarray(HEADER_BYTES)), d.final()]);
        return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
      } catch {
        throw new RaftError("RAFT_LOG_CORRUPT", "authentication failed: wrong key or tampered data", { reason: "decrypt" });
      }
    },
  };
}
