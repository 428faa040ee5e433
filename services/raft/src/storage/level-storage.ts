// The durable Raft log: hard state, the latest snapshot and the entries after it, in LevelDB.
//
// Owns: what is on disk and the promise that it is intact. Every save is one atomic LevelDB batch
// (fsync'd when asked), so a crash leaves either all of a Ready's writes or none. load() verifies
// every record (checksums, contiguity, terms, commit within the log) and refuses to start rather
// than silently drop committed data. It must not interpret entries or drive Raft: the driver
// decides what to save and when; the core reads the log through MemoryStorage, never from here.
//
// The stored log bounds are kept in memory (set by load(), updated after each successful batch) so
// the hot path (append one batch, fsync) does no reads.
import { Level } from "level";
import { concatInSlices, nextTurn, silentLogger, type Logger } from "@shoal/common";
import { RaftError } from "../core/errors.js";
import { EMPTY_HARD_STATE, type Entry, type HardState, type Snapshot } from "../core/types.js";
import {
  CHUNKED_SNAPSHOT_FORMAT,
  CHUNK_KEY_MAX,
  CHUNK_KEY_MIN,
  ENTRY_KEY_MAX,
  ENTRY_KEY_MIN,
  FORMAT_VERSION,
  READABLE_FORMAT_VERSIONS,
  SNAPSHOT_CHUNK_BYTES,
  HARD_STATE_KEY,
  KEY_CHECK_KEY,
  META_KEY,
  SNAPSHOT_KEY,
  checkU64,
  corrupt,
  decodeEntry,
  decodeEntryKey,
  decodeEntryTerm,
  decodeHardState,
  decodeMeta,
  decodeChunkKey,
  decodeSnapshot,
  decodeSnapshotInSlices,
  decodeSnapshotManifest,
  encodeEntry,
  encodeHardState,
  encodeKeyCheck,
  encodeMeta,
  encodeSnapshot,
  encodeSnapshotManifest,
  encodeSnapshotParts,
  entryKey,
  keyCheckOpens,
  snapshotChunk,
  snapshotChunkKey,
  snapshotManifest,
  type SnapshotManifest,
  type StorageCodec,
} from "./record-format.js";

export interface LevelStorageOptions {
  logger?: Logger;
  /** Encryption at rest for entry and snapshot data (see createAesGcmCodec). Default: none. */
  codec?: StorageCodec;
  /**
   * LevelDB's write buffer (its memtable): writes gather in memory up to this much before they
   * are flushed to a sorted table. Default 32 MiB, not LevelDB's 4 MiB: a manager writes its
   * snapshots (the whole store, 100+ MiB at 100,000 tasks) and bursts of large entries here, and
   * at 4 MiB each of those became dozens of level-0 tables and the compactions that merge them.
   * Costs up to twice this in memory (a full buffer is flushed while the next one fills).
   */
  writeBufferBytes?: number;
}

const DEFAULT_WRITE_BUFFER_BYTES = 32 * 1024 * 1024;

export interface LoadedLog {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  /** The entries after the snapshot, in index order. */
  entries: Entry[];
}

export interface SaveRequest {
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
}

type BatchOp = { type: "put"; key: Buffer; value: Buffer } | { type: "del"; key: Buffer };

/**
 * Writes `ops` as one atomic LevelDB batch. Through a chained batch, not abstract-level's array
 * form: the array form checks, copies and re-encodes every operation in JavaScript before the
 * native call, 8-9 µs an operation against about 3 µs chained (30-put batches of 300-byte values,
 * 2026-11-30). A busy follower saves 30 entries or so a Ready, so that was a third of its CPU per put.
 */
async function writeBatch(db: Level<Buffer, Buffer>, ops: readonly BatchOp[], sync: boolean): Promise<void> {
  const batch = db.batch();
  try {
    for (const op of ops) {
      if (op.type === "put") batch.put(op.key, op.value);
      else batch.del(op.key);
    }
  } catch (err) {
    await batch.close();
    throw err;
  }
  await batch.write({ sync });
}

/** What is on disk, mirrored in memory. */
interface LogBounds {
  snapIndex: number;
  snapTerm: number;
  // Invariant: first == 0 && last == 0 (no entry records), or 1 <= first <= last, contiguous.
  // Entries at or below snapIndex may exist only if a compaction was lost; they are never returned.
  first: number;
  last: number;
  /** Term at max(last, snapIndex). */
  lastTerm: number;
  /** Term and commit of the stored hard state. */
  term: number;
  commit: number;
  /** The chunks of the stored snapshot, when it is chunked. */
  chunked: SnapshotManifest | undefined;
}

/** A snapshot record ready for saveNow: inline under "s", or already written as chunks. */
type PreparedSnapshot = { record: Buffer } | { manifest: SnapshotManifest };

const ITERATOR_BATCH = 1024;

export class LevelStorage {
  private bounds: LogBounds | undefined;
  private closed = false;
  /** An encrypted store opened before key checks existed: load() adds the record once the key proved right. */
  private keyCheckMissing = false;
  /** Operations run one at a time: each reads and replaces `bounds`. */
  private tail: Promise<unknown> = Promise.resolve();
  /** The stored format version (a format 1 store moves to 2 with its first chunked snapshot). */
  private formatVersion = FORMAT_VERSION;
  /** The generation the next chunked snapshot takes. */
  private nextGeneration = 1;

  private constructor(
    private readonly db: Level<Buffer, Buffer>,
    private readonly dir: string,
    private readonly codec: StorageCodec | undefined,
    private readonly log: Logger,
  ) {}

  /** Opens (creating if missing) the store in `dir` and checks its format version. Call load() next. */
  static async open(dir: string, opts: LevelStorageOptions = {}): Promise<LevelStorage> {
    const log = (opts.logger ?? silentLogger()).child({ component: "raft-storage" });
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer", writeBufferSize: opts.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES });
    let keyCheckMissing = false;
    let formatVersion = FORMAT_VERSION;
    try {
      await db.open();
    } catch (err) {
      // Usually another process holds the LOCK (a second shoald on the same state dir).
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined;
      throw new RaftError("RAFT_UNAVAILABLE", `cannot open raft storage at ${dir}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        dir,
        levelCode: typeof code === "string" ? code : undefined,
      });
    }
    try {
      const meta = (await db.get(META_KEY)) as Buffer | undefined;
      if (meta === undefined) {
        // Only a brand-new directory may lack the format record; anything else was written by
        // something we do not understand (or lost its first write), and guessing could lose data.
        const anyKey = await db.keys({ limit: 1 }).all();
        if (anyKey.length > 0) throw corrupt({ kind: "format" }, "missing", `missing in a non-empty store at ${dir}`);
        const ops: BatchOp[] = [{ type: "put", key: META_KEY, value: encodeMeta() }];
        if (opts.codec !== undefined) ops.push({ type: "put", key: KEY_CHECK_KEY, value: encodeKeyCheck(opts.codec) });
        await writeBatch(db, ops, true);
        log.info({ dir, formatVersion: FORMAT_VERSION, encrypted: opts.codec !== undefined }, "raft storage created");
      } else {
        formatVersion = decodeMeta(meta);
        if (!READABLE_FORMAT_VERSIONS.includes(formatVersion)) {
          const reads = READABLE_FORMAT_VERSIONS.join(" and ");
          throw corrupt({ kind: "format" }, "format-version", `unsupported format version ${formatVersion} (this build reads ${reads})`, {
            version: formatVersion,
          });
        }
      }
      keyCheckMissing = await checkDataKey(db, dir, opts.codec);
    } catch (err) {
      await db.close();
      throw err;
    }
    const storage = new LevelStorage(db, dir, opts.codec, log);
    storage.keyCheckMissing = keyCheckMissing;
    storage.formatVersion = formatVersion;
    return storage;
  }

  /** Everything on disk, verified; throws RaftError RAFT_LOG_CORRUPT naming the problem. */
  load(): Promise<LoadedLog> {
    return this.serialize(() => this.loadNow());
  }

  /**
   * One atomic batch, fsync'd when `sync`: the snapshot (dropping the entries it covers), the
   * entries (dropping a conflicting stored suffix), the hard state. Requires a prior load().
   */
  async save(rd: SaveRequest, sync: boolean): Promise<void> {
    // A snapshot's record is built first, a slice per turn (it is the whole state machine), and
    // only then does the save take its place in the queue: saves asked for meanwhile go first. The
    // Ready loop waits for a snapshot's save before its next one, and a local snapshot commutes
    // with the saves of entries (it keeps the log's suffix; an older one is refused as out of date).
    if (rd.snapshot === undefined) return this.serialize(() => this.saveNow(rd, sync));
    const parts = await encodeSnapshotParts(rd.snapshot, this.codec, nextTurn);
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    if (bytes <= SNAPSHOT_CHUNK_BYTES) {
      const record = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
      return this.serialize(() => this.saveNow(rd, sync, { record }));
    }
    this.requireLoaded("save");
    const manifest = await this.writeChunks(parts, bytes, sync);
    try {
      await this.serialize(() => this.saveNow(rd, sync, { manifest }));
    } catch (err) {
      // Its manifest was not stored, so nothing names these chunks (load() would drop them too).
      await writeBatch(this.db, chunkDeletes(manifest), false).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Writes a large snapshot record as chunks under a new generation, one LevelDB write each, so the
   * event loop is never held for the copy of the whole record. The chunks are cut from the record's
   * parts (without a codec: the header and the snapshot's own data), so no second copy of the
   * record is made: at 100,000 tasks that is 150 MiB less at the peak. Each write is synced like
   * the save itself: LevelDB syncs only its current log file, and an earlier one may hold chunks.
   */
  private async writeChunks(parts: readonly Buffer[], bytes: number, sync: boolean): Promise<SnapshotManifest> {
    const manifest = snapshotManifest(this.nextGeneration, bytes);
    this.nextGeneration = (this.nextGeneration + 1) >>> 0;
    for (let i = 0; i < manifest.chunks; i++) {
      if (this.closed) throw new RaftError("RAFT_STOPPED", `raft storage at ${this.dir} is closed`);
      await this.db.put(snapshotChunkKey(manifest.generation, i), snapshotChunk(parts, i), { sync });
    }
    return manifest;
  }

  /**
   * The stored snapshot, read back (a slice per turn) while saves go on; undefined when there is
   * none, or when a newer one replaced it during the read (read again for that one). The chunks
   * come from one LevelDB iterator, so they are all of one generation.
   */
  async readSnapshot(): Promise<Snapshot | undefined> {
    const head = (await this.db.get(SNAPSHOT_KEY)) as Buffer | undefined;
    if (head === undefined) return undefined;
    const m = decodeSnapshotManifest(head);
    if (m === undefined) return decodeSnapshotInSlices(head, this.codec, nextTurn);
    const chunks: Buffer[] = [];
    const it = this.db.iterator({ gte: snapshotChunkKey(m.generation, 0), lte: snapshotChunkKey(m.generation, m.chunks - 1) });
    try {
      for (;;) {
        const batch = await it.nextv(8);
        if (batch.length === 0) break;
        for (const [, value] of batch) chunks.push(value);
      }
    } finally {
      await it.close();
    }
    if (chunks.length !== m.chunks) return undefined;
    return decodeSnapshotInSlices(await concatInSlices(chunks, nextTurn), this.codec, nextTurn);
  }

  /** Drops entries <= index; only allowed once a snapshot at >= index is stored. Idempotent. */
  compact(index: number): Promise<void> {
    return this.serialize(() => this.compactNow(index));
  }

  close(): Promise<void> {
    return this.serialize(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.db.close();
    });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closed) throw new RaftError("RAFT_STOPPED", `raft storage at ${this.dir} is closed`);
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private requireLoaded(op: string): LogBounds {
    if (this.bounds === undefined) throw new RaftError("RAFT_INVALID_ARGUMENT", `raft storage: load() must succeed before ${op}()`);
    return this.bounds;
  }

  private async loadNow(): Promise<LoadedLog> {
    const snapBuf = (await this.db.get(SNAPSHOT_KEY)) as Buffer | undefined;
    const chunked = snapBuf === undefined ? undefined : decodeSnapshotManifest(snapBuf);
    const record = chunked === undefined ? snapBuf : await this.readChunks(chunked);
    const snapshot = record === undefined ? undefined : decodeSnapshot(record, this.codec);
    await this.dropStrayChunks(chunked);
    const hsBuf = (await this.db.get(HARD_STATE_KEY)) as Buffer | undefined;
    const hardState = hsBuf === undefined ? { ...EMPTY_HARD_STATE } : decodeHardState(hsBuf);
    const snapIndex = snapshot?.metadata.index ?? 0;
    const snapTerm = snapshot?.metadata.term ?? 0;

    const entries: Entry[] = [];
    let first = 0;
    let last = 0;
    let lastTerm = snapTerm;
    const it = this.db.iterator({ gte: ENTRY_KEY_MIN, lte: ENTRY_KEY_MAX });
    try {
      while (true) {
        const batch = await it.nextv(ITERATOR_BATCH);
        if (batch.length === 0) break;
        for (const [key, value] of batch) {
          const index = decodeEntryKey(key);
          const e = decodeEntry(value, index, this.codec);
          if (first === 0) {
            // The log must continue the snapshot (or start at 1 without one); a later start means
            // entries between were lost.
            if (index > snapIndex + 1) {
              const detail = snapshot
                ? `entries start at ${index} but the snapshot ends at ${snapIndex}`
                : `entries start at ${index} with no snapshot covering 1..${index - 1}`;
              throw corrupt({ kind: "entry", index }, "start", detail, { snapshotIndex: snapIndex });
            }
            first = index;
          } else if (index !== last + 1) {
            throw corrupt({ kind: "entry", index }, "gap", `entries not contiguous: ${last} then ${index}`, { previous: last });
          }
          if (index === snapIndex && e.term !== snapTerm) {
            throw corrupt({ kind: "entry", index }, "snapshot-term", `term ${e.term} differs from the snapshot's term ${snapTerm} at the same index`);
          }
          if (index > snapIndex) {
            const prevTerm = entries.length > 0 ? entries[entries.length - 1]!.term : snapTerm;
            if (e.term < prevTerm) {
              const prev = entries.length > 0 ? `entry ${index - 1}` : "the snapshot";
              throw corrupt({ kind: "entry", index }, "term-decrease", `term ${e.term} below term ${prevTerm} of ${prev}`);
            }
            entries.push(e);
            lastTerm = e.term;
          }
          last = index;
        }
      }
    } finally {
      await it.close();
    }

    const lastIndex = Math.max(last, snapIndex);
    if (hardState.commit > lastIndex) {
      throw corrupt({ kind: "hard-state" }, "commit-beyond-last", `commit ${hardState.commit} beyond last index ${lastIndex}: log truncated?`, {
        commit: hardState.commit,
        lastIndex,
      });
    }
    if (hardState.term < lastTerm) {
      throw corrupt({ kind: "hard-state" }, "term-behind", `term ${hardState.term} below the last entry's term ${lastTerm}`, {
        term: hardState.term,
        lastTerm,
      });
    }
    this.bounds = { snapIndex, snapTerm, first, last, lastTerm, term: hardState.term, commit: hardState.commit, chunked };
    if (this.keyCheckMissing && this.codec !== undefined) {
      // Every sealed record just opened with this key, so it is the store's key.
      await this.db.put(KEY_CHECK_KEY, encodeKeyCheck(this.codec), { sync: true });
      this.keyCheckMissing = false;
    }
    this.log.info(
      { dir: this.dir, snapshotIndex: snapIndex, firstIndex: snapIndex + 1, lastIndex, commit: hardState.commit, term: hardState.term },
      "raft storage loaded",
    );
    return { hardState, snapshot, entries };
  }

  /** A chunked snapshot's record, joined; RAFT_LOG_CORRUPT names a missing or short chunk. */
  private async readChunks(m: SnapshotManifest): Promise<Buffer> {
    const keys = Array.from({ length: m.chunks }, (_, i) => snapshotChunkKey(m.generation, i));
    const chunks = (await this.db.getMany(keys)) as (Buffer | undefined)[];
    let bytes = 0;
    chunks.forEach((c, i) => {
      const want = i < m.chunks - 1 ? SNAPSHOT_CHUNK_BYTES : m.bytes - SNAPSHOT_CHUNK_BYTES * (m.chunks - 1);
      const detail = `chunk ${i + 1} of ${m.chunks} (generation ${m.generation})`;
      if (c === undefined) throw corrupt({ kind: "snapshot" }, "chunk-missing", `${detail} is missing`, { ...m, chunk: i });
      if (c.length !== want) throw corrupt({ kind: "snapshot" }, "truncated", `${detail} has ${c.length} bytes, not ${want}`, { ...m, chunk: i });
      bytes += c.length;
    });
    return Buffer.concat(chunks as Buffer[], bytes);
  }

  /**
   * Deletes chunks no manifest names: those of a snapshot whose save did not finish (a crash
   * between its chunks and its manifest), or of one replaced when deleting them failed.
   */
  private async dropStrayChunks(current: SnapshotManifest | undefined): Promise<void> {
    const stray: BatchOp[] = [];
    let highest = current?.generation ?? 0;
    for await (const key of this.db.keys({ gte: CHUNK_KEY_MIN, lte: CHUNK_KEY_MAX })) {
      const k = decodeChunkKey(key);
      if (k === undefined) continue;
      highest = Math.max(highest, k.generation);
      if (current === undefined || k.generation !== current.generation || k.chunk >= current.chunks) stray.push({ type: "del", key });
    }
    this.nextGeneration = (highest + 1) >>> 0;
    if (stray.length === 0) return;
    await writeBatch(this.db, stray, true);
    this.log.info({ dir: this.dir, chunks: stray.length }, "raft storage: removed snapshot chunks no manifest names (an unfinished save)");
  }

  /** Term at index i if known without guessing: the snapshot, the last entry, or a stored entry. */
  private async termAt(i: number, b: LogBounds): Promise<number | undefined> {
    if (i === Math.max(b.last, b.snapIndex)) return b.lastTerm;
    if (i === b.snapIndex) return b.snapTerm;
    if (b.first === 0 || i < b.first || i > b.last) return undefined;
    const buf = (await this.db.get(entryKey(i))) as Buffer | undefined;
    if (buf === undefined) throw corrupt({ kind: "entry", index: i }, "missing", "missing from the stored range");
    return decodeEntryTerm(buf, i);
  }

  private async saveNow(rd: SaveRequest, sync: boolean, prepared?: PreparedSnapshot): Promise<void> {
    const b = this.requireLoaded("save");
    let { snapIndex, snapTerm, first, last, lastTerm, term, commit, chunked } = b;
    let formatVersion = this.formatVersion;
    const ops: BatchOp[] = [];

    if (rd.snapshot !== undefined) {
      const m = rd.snapshot.metadata;
      checkU64(m.index, "snapshot index");
      checkU64(m.term, "snapshot term");
      for (const id of [...m.confState.voters, ...m.confState.learners, ...m.confState.removed]) checkU64(id, "member id");
      if (m.index < snapIndex) {
        throw new RaftError("RAFT_SNAPSHOT_OUT_OF_DATE", `snapshot at ${m.index} is older than the stored snapshot at ${snapIndex}`, {
          index: m.index,
          stored: snapIndex,
        });
      }
      // A log that agrees with the snapshot at its index continues it (a local snapshot); otherwise
      // the snapshot replaces the whole log, as MemoryStorage.applySnapshot does.
      const keepsSuffix = (await this.termAt(m.index, b)) === m.term;
      const delTo = keepsSuffix ? Math.min(m.index, last) : last;
      if (first !== 0) for (let i = first; i <= delTo; i++) ops.push({ type: "del", key: entryKey(i) });
      if (prepared !== undefined && "manifest" in prepared) {
        ops.push({ type: "put", key: SNAPSHOT_KEY, value: encodeSnapshotManifest(prepared.manifest) });
        if (formatVersion < CHUNKED_SNAPSHOT_FORMAT) {
          formatVersion = CHUNKED_SNAPSHOT_FORMAT;
          ops.push({ type: "put", key: META_KEY, value: encodeMeta(formatVersion) });
        }
      } else {
        ops.push({ type: "put", key: SNAPSHOT_KEY, value: prepared?.record ?? encodeSnapshot(rd.snapshot, this.codec) });
      }
      if (chunked !== undefined) ops.push(...chunkDeletes(chunked));
      chunked = prepared !== undefined && "manifest" in prepared ? prepared.manifest : undefined;
      if (keepsSuffix && last > m.index) {
        first = m.index + 1;
      } else {
        first = 0;
        last = 0;
        lastTerm = m.term;
      }
      snapIndex = m.index;
      snapTerm = m.term;
    }

    let ents = rd.entries;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      checkU64(e.index, "entry index");
      checkU64(e.term, "entry term");
      if (i > 0 && e.index !== ents[i - 1]!.index + 1) {
        throw new RaftError("RAFT_INVALID_ARGUMENT", `entries to save are not contiguous: ${ents[i - 1]!.index} then ${e.index}`);
      }
      if (i > 0 && e.term < ents[i - 1]!.term) {
        throw new RaftError("RAFT_INVALID_ARGUMENT", `entries to save decrease in term at ${e.index}`);
      }
    }
    // Entries the snapshot already covers are dropped, the same trimming MemoryStorage.append does.
    if (ents.length > 0 && ents[0]!.index <= snapIndex) ents = ents.slice(Math.min(ents.length, snapIndex + 1 - ents[0]!.index));
    if (ents.length > 0) {
      const f = ents[0]!.index;
      const l = ents[ents.length - 1]!.index;
      const cur = { snapIndex, snapTerm, first, last, lastTerm, term, commit, chunked };
      const lastIndex = Math.max(last, snapIndex);
      if (f > lastIndex + 1) {
        throw new RaftError("RAFT_INVALID_ARGUMENT", `entries would leave a gap: last stored index ${lastIndex}, first new ${f}`, {
          lastIndex,
          first: f,
        });
      }
      const prevTerm = await this.termAt(f - 1, cur);
      if (prevTerm !== undefined && ents[0]!.term < prevTerm) {
        throw new RaftError("RAFT_INVALID_ARGUMENT", `entry ${f} has term ${ents[0]!.term}, below term ${prevTerm} of entry ${f - 1}`);
      }
      if (f <= last) {
        // A new leader's entries replace a conflicting suffix; committed entries never conflict.
        if (commit >= f) {
          throw new RaftError("RAFT_INVALID_ARGUMENT", `entries from ${f} would overwrite committed entries (commit ${commit})`, { commit, first: f });
        }
        for (let i = l + 1; i <= last; i++) ops.push({ type: "del", key: entryKey(i) });
        this.log.info({ from: f, removedThrough: last }, "raft storage: replacing a conflicting log suffix");
      }
      for (const e of ents) ops.push({ type: "put", key: entryKey(e.index), value: encodeEntry(e, this.codec) });
      if (first === 0 || f < first) first = f;
      last = l;
      lastTerm = ents[ents.length - 1]!.term;
    }

    if (rd.hardState !== undefined) {
      const hs = rd.hardState;
      checkU64(hs.term, "hard state term");
      checkU64(hs.vote, "hard state vote");
      checkU64(hs.commit, "hard state commit");
      ops.push({ type: "put", key: HARD_STATE_KEY, value: encodeHardState(hs) });
      term = hs.term;
      commit = hs.commit;
    }
    // Refuse here what load() would refuse later, so the error points at the caller that caused it:
    // a commit index past the end of the log, or entries from a term the hard state has not reached.
    const newLast = Math.max(last, snapIndex);
    if (commit > newLast) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `hard state commit ${commit} beyond last index ${newLast}`, { commit, lastIndex: newLast });
    }
    if (term < lastTerm) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `hard state term ${term} below the last entry's term ${lastTerm}: save them in one batch`, {
        term,
        lastTerm,
      });
    }

    if (ops.length === 0) return;
    await writeBatch(this.db, ops, sync);
    this.bounds = { snapIndex, snapTerm, first, last, lastTerm, term, commit, chunked };
    this.formatVersion = formatVersion;
  }

  private async compactNow(index: number): Promise<void> {
    const b = this.requireLoaded("compact");
    checkU64(index, "compact index");
    if (index > b.snapIndex) {
      throw new RaftError(
        "RAFT_INVALID_ARGUMENT",
        `cannot compact through ${index}: the stored snapshot only covers through ${b.snapIndex}; save a snapshot at or beyond ${index} first`,
        { index, snapshotIndex: b.snapIndex },
      );
    }
    if (b.first === 0 || index < b.first) return;
    const to = Math.min(index, b.last);
    const ops: BatchOp[] = [];
    for (let i = b.first; i <= to; i++) ops.push({ type: "del", key: entryKey(i) });
    await writeBatch(this.db, ops, true);
    this.bounds = to === b.last ? { ...b, first: 0, last: 0 } : { ...b, first: to + 1 };
  }
}

function chunkDeletes(m: SnapshotManifest): BatchOp[] {
  return Array.from({ length: m.chunks }, (_, i): BatchOp => ({ type: "del", key: snapshotChunkKey(m.generation, i) }));
}

/**
 * Refuses a data key that is not the store's (or a missing one) with RAFT_STORAGE_KEY_WRONG, before
 * any log record is read. Returns true for an encrypted store that has no key check record yet.
 */
async function checkDataKey(db: Level<Buffer, Buffer>, dir: string, codec: StorageCodec | undefined): Promise<boolean> {
  const check = (await db.get(KEY_CHECK_KEY)) as Buffer | undefined;
  if (check === undefined) return codec !== undefined;
  if (codec === undefined) {
    throw new RaftError("RAFT_STORAGE_KEY_WRONG", `cannot read raft data at ${dir}: it is encrypted and no data key was given`, {
      dir,
      reason: "key-missing",
    });
  }
  if (!keyCheckOpens(check, codec)) {
    throw new RaftError("RAFT_STORAGE_KEY_WRONG", `cannot decrypt raft data at ${dir}: wrong data key`, { dir, reason: "wrong-key" });
  }
  return false;
}
