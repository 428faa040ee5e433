// The on-disk layout of the durable Raft store: keys and the binary records behind them.
//
// Owns: key layout, record encodings, checksums and the format version. It must not touch the
// database; LevelStorage decides what to write and when.
//
// Keys (one byte prefix, then fixed-width big-endian numbers so LevelDB's byte order is index order):
//   "m"              format record: magic + format version
//   "h"              hard state
//   "s"              the latest snapshot (metadata + data), or, for a record larger than
//                    SNAPSHOT_CHUNK_BYTES, a manifest naming the chunks that hold it (format 2)
//   "c" + u32 generation + u32 i
//                    chunk i of a chunked snapshot record: its raw bytes, in order
//   "k"              key check: a known text sealed with the data key (encrypted stores only)
//   "e" + u64 index  one log entry
//
// Format 2 added chunked snapshots: a whole-state record of 150 MiB handed to LevelDB in one write
// held the event loop for seconds while it was copied. A store stays at format 1 until its first
// chunked snapshot, which writes the format record 2 in the same batch as the manifest; a build
// that reads only format 1 then refuses the store by name instead of misreading the manifest.
//
// Every record starts with a CRC32 (zlib's polynomial) over all bytes after it. An entry record
// repeats its index so a value found under the wrong key is caught too. Numbers are u64 stored as two
// u32 halves: indexes and terms are safe integers (< 2^53), which keeps us off BigInt on the hot path.
import { crc32 } from "node:zlib";
import { SLICE_BYTES } from "@shoal/common";
import { RaftError } from "../core/errors.js";
import { EntryType, type ConfState, type Entry, type HardState, type Snapshot } from "../core/types.js";

/** The version new stores get; load() reads every version in READABLE_FORMAT_VERSIONS. */
export const FORMAT_VERSION = 2;
/** Format 1 lacks chunked snapshots and is otherwise the same. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];
/** The first format with chunked snapshots. */
export const CHUNKED_SNAPSHOT_FORMAT = 2;
const FORMAT_MAGIC = Buffer.from("SHOALRFT", "latin1");

export const META_KEY = Buffer.from("m", "latin1");
export const HARD_STATE_KEY = Buffer.from("h", "latin1");
export const SNAPSHOT_KEY = Buffer.from("s", "latin1");
export const KEY_CHECK_KEY = Buffer.from("k", "latin1");
const ENTRY_PREFIX = 0x65; // "e"
const ENTRY_KEY_BYTES = 9;
const TWO_32 = 2 ** 32;
const MAX_U64_HIGH = 2 ** 21; // high halves at or above this do not fit a safe integer

/** Record flag: the data field was sealed by a StorageCodec (encryption at rest). */
export const FLAG_SEALED = 0x01;
/** Flag of the record under "s": a manifest of a chunked snapshot record, not the record itself. */
const FLAG_CHUNKED = 0x02;

/** Encryption at rest: applied to entry data and snapshot data, never to indexes or terms. */
export interface StorageCodec {
  seal(plain: Uint8Array): Uint8Array;
  /**
   * Optional, for snapshots: seal()'s layout written into `out` at `offset` (sealedLength bytes),
   * a slice at a time with `pause()` awaited between slices.
   */
  sealInSlices?(plain: Uint8Array, out: Uint8Array, offset: number, pause: () => Promise<void>): Promise<void>;
  /** The length seal() gives `plainLength` bytes (needed with sealInSlices). */
  sealedLength?(plainLength: number): number;
  /** Throws (any error) when `sealed` was not produced by this codec's key or was altered. */
  open(sealed: Uint8Array): Uint8Array;
  /** Optional, for snapshots: open() a slice at a time, `pause()` awaited between slices. */
  openInSlices?(sealed: Uint8Array, pause: () => Promise<void>): Promise<Uint8Array>;
}

/** Which record a decoding problem is in, for the error message and meta. */
export type RecordName = { kind: "entry"; index: number } | { kind: "hard-state" } | { kind: "snapshot" } | { kind: "format" };

export function recordLabel(r: RecordName): string {
  return r.kind === "entry" ? `entry ${r.index}` : r.kind === "hard-state" ? "hard state" : r.kind === "snapshot" ? "snapshot" : "format record";
}

/** RAFT_LOG_CORRUPT naming the record: "entry 1234: checksum mismatch". */
export function corrupt(r: RecordName, reason: string, detail: string, extra: Record<string, unknown> = {}): RaftError {
  const meta: Record<string, unknown> = { record: r.kind, reason, ...extra };
  if (r.kind === "entry") meta["index"] = r.index;
  return new RaftError("RAFT_LOG_CORRUPT", `${recordLabel(r)}: ${detail}`, meta);
}

// ---- numbers ----

export function checkU64(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RaftError("RAFT_INVALID_ARGUMENT", `${what} must be a non-negative safe integer, got ${n}`, { value: n });
  }
}

function writeU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / TWO_32), off);
  buf.writeUInt32BE(n >>> 0, off + 4);
}

function readU64(buf: Buffer, off: number, r: RecordName): number {
  const hi = buf.readUInt32BE(off);
  if (hi >= MAX_U64_HIGH) throw corrupt(r, "bad-number", "number out of range");
  return hi * TWO_32 + buf.readUInt32BE(off + 4);
}

function sealedFlag(codec: StorageCodec | undefined): number {
  return codec === undefined ? 0 : FLAG_SEALED;
}

/** Writes the checksum of buf[4..] into buf[0..4]. */
function stampCrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32(buf.subarray(4)), 0);
  return buf;
}

function verifyCrc(buf: Buffer, minBytes: number, r: RecordName): void {
  if (buf.length < minBytes) throw corrupt(r, "truncated", `record too short (${buf.length} bytes)`);
  const stored = buf.readUInt32BE(0);
  const actual = crc32(buf.subarray(4));
  if (stored !== actual) throw corrupt(r, "checksum", "checksum mismatch");
}

/** A zero-copy plain Uint8Array view (callers compare data with deepStrictEqual; Buffer would not match). */
function view(buf: Buffer, start: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, buf.length - start);
}

function unseal(data: Uint8Array, flags: number, codec: StorageCodec | undefined, r: RecordName): Uint8Array {
  const sealed = (flags & FLAG_SEALED) !== 0;
  // Both are a data key that does not fit the store (a configuration mistake, not damage): said
  // so with their own code, so nobody answers them by wiping the "corrupt" log.
  if (sealed && codec === undefined) {
    throw new RaftError("RAFT_STORAGE_KEY_WRONG", `${recordLabel(r)}: data is encrypted at rest but no data key was given`, {
      record: r.kind,
      reason: "key-missing",
    });
  }
  if (!sealed && codec !== undefined) {
    throw new RaftError("RAFT_STORAGE_KEY_WRONG", `${recordLabel(r)}: stored without encryption but a data key was given`, {
      record: r.kind,
      reason: "not-encrypted",
    });
  }
  if (codec === undefined) return data;
  try {
    return codec.open(data);
  } catch (err) {
    throw corrupt(r, "decrypt", `cannot decrypt (wrong key or tampered data): ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ---- format record ----

export function encodeMeta(version = FORMAT_VERSION): Buffer {
  const buf = Buffer.allocUnsafe(4 + FORMAT_MAGIC.length + 4);
  FORMAT_MAGIC.copy(buf, 4);
  buf.writeUInt32BE(version, 4 + FORMAT_MAGIC.length);
  return stampCrc(buf);
}

/** Returns the format version after checking the record; the caller decides which versions it reads. */
export function decodeMeta(buf: Buffer): number {
  const r: RecordName = { kind: "format" };
  verifyCrc(buf, 4 + FORMAT_MAGIC.length + 4, r);
  if (!buf.subarray(4, 4 + FORMAT_MAGIC.length).equals(FORMAT_MAGIC)) throw corrupt(r, "magic", "not a Shoal raft store");
  return buf.readUInt32BE(4 + FORMAT_MAGIC.length);
}

// ---- entries ----

const ENTRY_HEADER_BYTES = 4 + 1 + 1 + 8 + 8; // crc, flags, type, term, index

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(ENTRY_KEY_BYTES);
  key[0] = ENTRY_PREFIX;
  writeU64(key, 1, index);
  return key;
}

/** Bounds for iterating every entry key, in index order. */
export const ENTRY_KEY_MIN = entryKey(0);
export const ENTRY_KEY_MAX = Buffer.from([ENTRY_PREFIX, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function decodeEntryKey(key: Buffer): number {
  if (key.length !== ENTRY_KEY_BYTES || key[0] !== ENTRY_PREFIX) {
    throw corrupt({ kind: "entry", index: -1 }, "bad-key", `malformed entry key ${key.toString("hex")}`);
  }
  return readU64(key, 1, { kind: "entry", index: -1 });
}

export function encodeEntry(e: Entry, codec: StorageCodec | undefined): Buffer {
  const data = codec === undefined ? e.data : codec.seal(e.data);
  const buf = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + data.length);
  buf[4] = sealedFlag(codec);
  buf[5] = e.type;
  writeU64(buf, 6, e.term);
  writeU64(buf, 14, e.index);
  buf.set(data, ENTRY_HEADER_BYTES);
  return stampCrc(buf);
}

/** Decodes and verifies an entry stored under `keyIndex`. */
export function decodeEntry(buf: Buffer, keyIndex: number, codec: StorageCodec | undefined): Entry {
  const r: RecordName = { kind: "entry", index: keyIndex };
  verifyCrc(buf, ENTRY_HEADER_BYTES, r);
  const flags = buf[4]!;
  const type = buf[5]! as EntryType;
  // The enum's reverse mapping tracks whatever types the core defines.
  if (EntryType[type] === undefined) throw corrupt(r, "bad-type", `unknown entry type ${type}`);
  const term = readU64(buf, 6, r);
  const index = readU64(buf, 14, r);
  if (index !== keyIndex) throw corrupt(r, "index-mismatch", `record says index ${index}`);
  return { term, index, type, data: unseal(view(buf, ENTRY_HEADER_BYTES), flags, codec, r) };
}

/** Just the term, for boundary checks; verifies the checksum but skips decrypting the data. */
export function decodeEntryTerm(buf: Buffer, keyIndex: number): number {
  const r: RecordName = { kind: "entry", index: keyIndex };
  verifyCrc(buf, ENTRY_HEADER_BYTES, r);
  return readU64(buf, 6, r);
}

// ---- hard state ----

const HARD_STATE_BYTES = 4 + 1 + 8 + 8 + 8; // crc, flags (reserved), term, vote, commit

export function encodeHardState(hs: HardState): Buffer {
  const buf = Buffer.allocUnsafe(HARD_STATE_BYTES);
  buf[4] = 0;
  writeU64(buf, 5, hs.term);
  writeU64(buf, 13, hs.vote);
  writeU64(buf, 21, hs.commit);
  return stampCrc(buf);
}

export function decodeHardState(buf: Buffer): HardState {
  const r: RecordName = { kind: "hard-state" };
  verifyCrc(buf, HARD_STATE_BYTES, r);
  return { term: readU64(buf, 5, r), vote: readU64(buf, 13, r), commit: readU64(buf, 21, r) };
}

// ---- snapshot ----
// crc, flags, index, term, then voters / learners / removed as (u32 count, u64 ids...), then data.

export function encodeSnapshot(s: Snapshot, codec: StorageCodec | undefined): Buffer {
  const data = codec === undefined ? s.data : codec.seal(s.data);
  const { buf, off } = snapshotHeader(s, codec, data.length);
  buf.set(data, off);
  return stampCrc(buf);
}

/**
 * encodeSnapshot's bytes as parts to be joined, with the checksum computed a slice at a time.
 * Without a codec they are the header and the snapshot's data itself, not a copy of it (a chunked
 * snapshot is written straight from them); sealed, one record.
 */
export async function encodeSnapshotParts(s: Snapshot, codec: StorageCodec | undefined, pause: () => Promise<void>): Promise<Buffer[]> {
  if (codec !== undefined && (codec.sealInSlices === undefined || codec.sealedLength === undefined)) return [encodeSnapshot(s, codec)];
  if (codec === undefined) {
    const { buf: header } = snapshotHeader(s, codec, 0);
    const data = Buffer.from(s.data.buffer, s.data.byteOffset, s.data.length);
    header.writeUInt32BE(await crc32InSlices(data, pause, crc32(header.subarray(4))), 0);
    return [header, data];
  }
  const { buf, off } = snapshotHeader(s, codec, codec.sealedLength!(s.data.length));
  await codec.sealInSlices!(s.data, buf, off, pause);
  buf.writeUInt32BE(await crc32InSlices(buf.subarray(4), pause), 0);
  return [buf];
}

/** crc32 of `bytes` continuing from `crc`, a slice at a time with `pause()` awaited before each. */
async function crc32InSlices(bytes: Uint8Array, pause: () => Promise<void>, crc = 0): Promise<number> {
  let out = crc;
  for (let a = 0; a < bytes.length; a += SLICE_BYTES) {
    await pause();
    out = crc32(bytes.subarray(a, Math.min(bytes.length, a + SLICE_BYTES)), out);
  }
  return out;
}

/** A snapshot record with its header written and `dataBytes` left for the data at `off`. */
function snapshotHeader(s: Snapshot, codec: StorageCodec | undefined, dataBytes: number): { buf: Buffer; off: number } {
  const cs = s.metadata.confState;
  const idBytes = 8 * (cs.voters.length + cs.learners.length + cs.removed.length);
  const buf = Buffer.allocUnsafe(4 + 1 + 8 + 8 + 12 + idBytes + dataBytes);
  buf[4] = sealedFlag(codec);
  writeU64(buf, 5, s.metadata.index);
  writeU64(buf, 13, s.metadata.term);
  let off = 21;
  for (const ids of [cs.voters, cs.learners, cs.removed]) {
    buf.writeUInt32BE(ids.length, off);
    off += 4;
    for (const id of ids) {
      writeU64(buf, off, id);
      off += 8;
    }
  }
  return { buf, off };
}

function readIds(buf: Buffer, off: number, r: RecordName): { ids: number[]; off: number } {
  if (off + 4 > buf.length) throw corrupt(r, "truncated", "record too short for its member lists");
  const n = buf.readUInt32BE(off);
  off += 4;
  if (off + 8 * n > buf.length) throw corrupt(r, "truncated", "record too short for its member lists");
  const ids: number[] = [];
  for (let i = 0; i < n; i++, off += 8) ids.push(readU64(buf, off, r));
  return { ids, off };
}

export function decodeSnapshot(buf: Buffer, codec: StorageCodec | undefined): Snapshot {
  const r: RecordName = { kind: "snapshot" };
  verifyCrc(buf, 21 + 12, r);
  const { metadata, flags, dataAt } = decodeSnapshotHeader(buf, r);
  return { metadata, data: unseal(view(buf, dataAt), flags, codec, r) };
}

/**
 * decodeSnapshot, with the checksum and (when the codec can) the decryption run a slice at a time,
 * `pause()` awaited between slices: for reading a large snapshot back while the member runs.
 */
export async function decodeSnapshotInSlices(buf: Buffer, codec: StorageCodec | undefined, pause: () => Promise<void>): Promise<Snapshot> {
  const r: RecordName = { kind: "snapshot" };
  if (buf.length < 21 + 12) throw corrupt(r, "truncated", `record too short (${buf.length} bytes)`);
  if ((await crc32InSlices(buf.subarray(4), pause)) !== buf.readUInt32BE(0)) throw corrupt(r, "checksum", "checksum mismatch");
  const { metadata, flags, dataAt } = decodeSnapshotHeader(buf, r);
  const sealed = view(buf, dataAt);
  if ((flags & FLAG_SEALED) !== 0 && codec?.openInSlices !== undefined) {
    try {
      return { metadata, data: await codec.openInSlices(sealed, pause) };
    } catch (err) {
      throw corrupt(r, "decrypt", `cannot decrypt (wrong key or tampered data): ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { metadata, data: unseal(sealed, flags, codec, r) };
}

function decodeSnapshotHeader(buf: Buffer, r: RecordName): { metadata: Snapshot["metadata"]; flags: number; dataAt: number } {
  const flags = buf[4]!;
  const index = readU64(buf, 5, r);
  const term = readU64(buf, 13, r);
  const voters = readIds(buf, 21, r);
  const learners = readIds(buf, voters.off, r);
  const removed = readIds(buf, learners.off, r);
  const confState: ConfState = { voters: voters.ids, learners: learners.ids, removed: removed.ids };
  return { metadata: { index, term, confState }, flags, dataAt: removed.off };
}

// ---- chunked snapshots ----
// The manifest under "s": crc, flags (FLAG_CHUNKED), u32 generation, u32 chunk count, u64 record
// bytes. The chunks hold the snapshot record's bytes (its own checksum covers them all once joined).
// A new chunked snapshot takes the next generation, so its chunks are written before the batch
// that installs its manifest without touching the chunks the current manifest names.

/** Snapshot records larger than this are stored as chunks of this size. */
export const SNAPSHOT_CHUNK_BYTES = SLICE_BYTES;
const CHUNK_PREFIX = 0x63; // "c"
const CHUNK_KEY_BYTES = 9;
const MANIFEST_BYTES = 4 + 1 + 4 + 4 + 8;

export interface SnapshotManifest {
  generation: number;
  chunks: number;
  bytes: number;
}

export function snapshotChunkKey(generation: number, chunk: number): Buffer {
  const key = Buffer.allocUnsafe(CHUNK_KEY_BYTES);
  key[0] = CHUNK_PREFIX;
  key.writeUInt32BE(generation, 1);
  key.writeUInt32BE(chunk, 5);
  return key;
}

/** Bounds for iterating every chunk key. */
export const CHUNK_KEY_MIN = snapshotChunkKey(0, 0);
export const CHUNK_KEY_MAX = snapshotChunkKey(0xffffffff, 0xffffffff);

/** The generation and chunk number of a chunk key; undefined for a key of another shape. */
export function decodeChunkKey(key: Buffer): { generation: number; chunk: number } | undefined {
  if (key.length !== CHUNK_KEY_BYTES || key[0] !== CHUNK_PREFIX) return undefined;
  return { generation: key.readUInt32BE(1), chunk: key.readUInt32BE(5) };
}

/** The manifest for a record of `bytes` bytes cut into SNAPSHOT_CHUNK_BYTES chunks. */
export function snapshotManifest(generation: number, bytes: number): SnapshotManifest {
  return { generation, chunks: Math.ceil(bytes / SNAPSHOT_CHUNK_BYTES), bytes };
}

/** Chunk i of the record that `parts` make when joined: a view when it lies in one part. */
export function snapshotChunk(parts: readonly Buffer[], i: number): Buffer {
  let from = i * SNAPSHOT_CHUNK_BYTES;
  let want = SNAPSHOT_CHUNK_BYTES;
  const pieces: Buffer[] = [];
  for (const p of parts) {
    if (want === 0) break;
    if (from >= p.length) {
      from -= p.length;
      continue;
    }
    const piece = p.subarray(from, Math.min(p.length, from + want));
    pieces.push(piece);
    want -= piece.length;
    from = 0;
  }
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

export function encodeSnapshotManifest(m: SnapshotManifest): Buffer {
  const buf = Buffer.allocUnsafe(MANIFEST_BYTES);
  buf[4] = FLAG_CHUNKED;
  buf.writeUInt32BE(m.generation, 5);
  buf.writeUInt32BE(m.chunks, 9);
  writeU64(buf, 13, m.bytes);
  return stampCrc(buf);
}

/**
 * The manifest if the record under "s" is one, after checking it; undefined for a snapshot record
 * (decodeSnapshot checks that one).
 */
export function decodeSnapshotManifest(buf: Buffer): SnapshotManifest | undefined {
  if (buf.length < 5 || (buf[4]! & FLAG_CHUNKED) === 0) return undefined;
  const r: RecordName = { kind: "snapshot" };
  verifyCrc(buf, MANIFEST_BYTES, r);
  const m = { generation: buf.readUInt32BE(5), chunks: buf.readUInt32BE(9), bytes: readU64(buf, 13, r) };
  if (m.chunks !== Math.ceil(m.bytes / SNAPSHOT_CHUNK_BYTES)) {
    throw corrupt(r, "bad-manifest", `manifest names ${m.chunks} chunks for ${m.bytes} bytes`, { ...m });
  }
  return m;
}

// ---- key check ----
// AES-GCM cannot tell a wrong key from tampered data. A record sealed with the data key when the
// store was created lets open() say "wrong data key" before any log record is read, so a
// misconfigured key is never reported as corruption (which operators may answer by wiping).

const KEY_CHECK_TEXT = Buffer.from("shoal raft data key check v1", "latin1");

export function encodeKeyCheck(codec: StorageCodec): Buffer {
  const sealed = codec.seal(KEY_CHECK_TEXT);
  const buf = Buffer.allocUnsafe(4 + sealed.length);
  buf.set(sealed, 4);
  return stampCrc(buf);
}

/** True when `codec` opens the key check record; false for another key. Throws RAFT_LOG_CORRUPT if the record is damaged. */
export function keyCheckOpens(buf: Buffer, codec: StorageCodec): boolean {
  verifyCrc(buf, 5, { kind: "format" });
  try {
    return Buffer.from(codec.open(view(buf, 4))).equals(KEY_CHECK_TEXT);
  } catch {
    return false;
  }
}
