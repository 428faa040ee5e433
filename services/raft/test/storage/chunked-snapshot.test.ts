// Snapshots whose record is larger than SNAPSHOT_CHUNK_BYTES are stored as chunks under a manifest:
// they round-trip, replace each other without leaving chunks behind, survive an unfinished save,
// move a format 1 store to format 2, and a missing or short chunk is named at load.
import { strict as assert } from "node:assert";
import { RaftError } from "../../src/core/errors.js";
import type { Snapshot } from "../../src/core/types.js";
import { createAesGcmCodec, type LevelStorageOptions } from "../../src/storage/index.js";
import {
  CHUNK_KEY_MAX,
  CHUNK_KEY_MIN,
  META_KEY,
  SNAPSHOT_CHUNK_BYTES,
  SNAPSHOT_KEY,
  decodeChunkKey,
  decodeMeta,
  encodeMeta,
  snapshotChunk,
  snapshotChunkKey,
} from "../../src/storage/record-format.js";
import { entries, storageFixture } from "./helpers.js";

const confState = { voters: [1, 2, 3], learners: [], removed: [] };

/** A snapshot at `index` whose data (`bytes` long) differs from one index to the next. */
function bigSnapshot(index: number, term: number, bytes: number): Snapshot {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 997) data[i] = (i + index) & 0xff;
  return { metadata: { index, term, confState }, data };
}

type RawDb = Awaited<ReturnType<ReturnType<typeof storageFixture>["raw"]>>;

async function chunkKeys(db: RawDb): Promise<{ generation: number; chunk: number }[]> {
  const out: { generation: number; chunk: number }[] = [];
  for await (const key of db.keys({ gte: CHUNK_KEY_MIN, lte: CHUNK_KEY_MAX })) out.push(decodeChunkKey(key)!);
  return out;
}

describe("LevelStorage: chunked snapshots", function () {
  this.timeout(30_000);
  const fx = storageFixture();
  const big = SNAPSHOT_CHUNK_BYTES * 2 + 12_345; // three chunks

  /** A closed store in a new dir holding `snap` (and the hard state that commits it). */
  async function storedIn(snap: Snapshot, opts: LevelStorageOptions = {}): Promise<string> {
    const dir = fx.dir();
    const s = await fx.open(dir, opts);
    await s.load();
    await s.save({ snapshot: snap, entries: [], hardState: { term: snap.metadata.term, vote: 1, commit: snap.metadata.index } }, true);
    await s.close();
    return dir;
  }

  it("stores a large snapshot as chunks and loads it back, with the entries after it", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    const snap = bigSnapshot(10, 2, big);
    await s.save({ snapshot: snap, entries: entries(11, 15, 2), hardState: { term: 2, vote: 1, commit: 12 } }, true);
    await s.close();

    const db = await fx.raw(dir);
    assert.deepEqual(
      (await chunkKeys(db)).map((k) => k.chunk),
      [0, 1, 2],
    );
    assert.ok((await db.get(SNAPSHOT_KEY))!.length < 64, "the record under s is a manifest");
    await db.close();

    const got = await (await fx.open(dir)).load();
    assert.deepStrictEqual(got.snapshot, snap);
    assert.deepStrictEqual(got.entries, entries(11, 15, 2));
  });

  it("a newer snapshot replaces the chunks of the old one, chunked or inline", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save({ snapshot: bigSnapshot(10, 2, big), entries: [], hardState: { term: 2, vote: 1, commit: 10 } }, true);
    const second = bigSnapshot(20, 2, SNAPSHOT_CHUNK_BYTES + 1); // two chunks, a new generation
    await s.save({ snapshot: second, entries: [], hardState: { term: 2, vote: 1, commit: 20 } }, true);
    assert.deepStrictEqual((await s.load()).snapshot, second);
    const small = bigSnapshot(30, 3, 1000); // inline again
    await s.save({ snapshot: small, entries: [], hardState: { term: 3, vote: 1, commit: 30 } }, true);
    await s.close();

    const db = await fx.raw(dir);
    assert.deepEqual(await chunkKeys(db), [], "no chunk outlives its snapshot");
    await db.close();
    assert.deepStrictEqual((await (await fx.open(dir)).load()).snapshot, small);
  });

  it("drops the chunks of a save that never stored its manifest, keeping the stored snapshot", async () => {
    const snap = bigSnapshot(10, 2, big);
    const dir = await storedIn(snap);
    // What a crash between the chunks of a later snapshot and its manifest leaves behind.
    const db = await fx.raw(dir);
    const [current] = await chunkKeys(db);
    for (let i = 0; i < 5; i++) await db.put(snapshotChunkKey(current!.generation + 1, i), Buffer.alloc(100));
    await db.close();

    const s2 = await fx.open(dir);
    assert.deepStrictEqual((await s2.load()).snapshot, snap);
    // The next snapshot takes a generation past the stray ones, and saves and loads.
    const next = bigSnapshot(20, 2, big);
    await s2.save({ snapshot: next, entries: [], hardState: { term: 2, vote: 1, commit: 20 } }, true);
    await s2.close();
    const db2 = await fx.raw(dir);
    const left = await chunkKeys(db2);
    assert.equal(left.length, 3);
    assert.ok(left.every((k) => k.generation > current!.generation + 1));
    await db2.close();
    assert.deepStrictEqual((await (await fx.open(dir)).load()).snapshot, next);
  });

  it("moves a format 1 store to format 2 with its first chunked snapshot, and reads format 1", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save({ snapshot: bigSnapshot(5, 1, 100), entries: entries(6, 8, 1), hardState: { term: 1, vote: 1, commit: 8 } }, true);
    await s.close();
    const db = await fx.raw(dir);
    await db.put(META_KEY, encodeMeta(1)); // as an older build wrote it
    await db.close();

    const s2 = await fx.open(dir);
    assert.deepStrictEqual((await s2.load()).entries, entries(6, 8, 1));
    await s2.save({ snapshot: bigSnapshot(8, 1, 1000), entries: [], hardState: { term: 1, vote: 1, commit: 8 } }, true);
    await s2.close();
    const db2 = await fx.raw(dir);
    assert.equal(decodeMeta((await db2.get(META_KEY))!), 1, "an inline snapshot keeps format 1");
    await db2.close();

    const s3 = await fx.open(dir);
    await s3.load();
    await s3.save({ snapshot: bigSnapshot(8, 1, big), entries: [], hardState: { term: 1, vote: 1, commit: 8 } }, true);
    await s3.close();
    const db3 = await fx.raw(dir);
    assert.equal(decodeMeta((await db3.get(META_KEY))!), 2, "the first chunked snapshot moves the store to format 2");
    await db3.close();
  });

  it("encrypted at rest, a chunked snapshot round-trips", async () => {
    const codec = createAesGcmCodec(Buffer.alloc(32, 7));
    const snap = bigSnapshot(10, 2, big);
    const dir = await storedIn(snap, { codec });
    assert.deepStrictEqual((await (await fx.open(dir, { codec })).load()).snapshot, snap);
  });

  it("readSnapshot reads the stored snapshot back, chunked or inline, while the store stays open", async () => {
    const s = await fx.open(fx.dir());
    await s.load();
    assert.equal(await s.readSnapshot(), undefined);
    const chunked = bigSnapshot(10, 2, big);
    await s.save({ snapshot: chunked, entries: entries(11, 12, 2), hardState: { term: 2, vote: 1, commit: 10 } }, true);
    assert.deepStrictEqual(await s.readSnapshot(), chunked);
    const inline = bigSnapshot(12, 2, 1000);
    await s.save({ snapshot: inline, entries: [], hardState: { term: 2, vote: 1, commit: 12 } }, true);
    assert.deepStrictEqual(await s.readSnapshot(), inline);
  });

  it("readSnapshot decrypts an encrypted snapshot back, and names a tampered one", async () => {
    const codec = createAesGcmCodec(Buffer.alloc(32, 9));
    const dir = fx.dir();
    const s = await fx.open(dir, { codec });
    await s.load();
    const snap = bigSnapshot(10, 2, big);
    await s.save({ snapshot: snap, entries: [], hardState: { term: 2, vote: 1, commit: 10 } }, true);
    assert.deepStrictEqual(await s.readSnapshot(), snap);
    await s.close();
    const db = await fx.raw(dir);
    const [k] = await chunkKeys(db);
    const key = snapshotChunkKey(k!.generation, 2);
    const v = Buffer.from((await db.get(key))!);
    v[100]! ^= 0x01;
    await db.put(key, v);
    await db.close();
    const s2 = await fx.open(dir, { codec });
    await assert.rejects(s2.load(), (err: unknown) => err instanceof RaftError && err.code === "RAFT_LOG_CORRUPT");
  });

  it("cuts chunks across the parts of a record as if they were joined", () => {
    const parts = [Buffer.from([1, 2, 3]), Buffer.alloc(SNAPSHOT_CHUNK_BYTES * 2, 7), Buffer.from([9, 9, 9, 9, 9])];
    const joined = Buffer.concat(parts);
    const chunks = [0, 1, 2].map((i) => snapshotChunk(parts, i));
    assert.deepEqual(
      chunks.map((c) => c.length),
      [SNAPSHOT_CHUNK_BYTES, SNAPSHOT_CHUNK_BYTES, 8],
    );
    assert.ok(Buffer.concat(chunks).equals(joined));
    assert.equal(chunks[1]!.buffer, parts[1]!.buffer, "a chunk inside one part is a view of it");
  });

  for (const damage of ["missing", "short"] as const) {
    it(`names a ${damage} chunk at load`, async () => {
      const dir = await storedIn(bigSnapshot(10, 2, big));
      const db = await fx.raw(dir);
      const [k] = await chunkKeys(db);
      const key = snapshotChunkKey(k!.generation, 1);
      if (damage === "missing") await db.del(key);
      else await db.put(key, (await db.get(key))!.subarray(1));
      await db.close();
      await assert.rejects((await fx.open(dir)).load(), (err: unknown) => {
        assert.ok(err instanceof RaftError);
        assert.equal(err.code, "RAFT_LOG_CORRUPT");
        assert.match(err.message, damage === "missing" ? /^snapshot: chunk 2 of 3 \(generation \d+\) is missing$/ : /^snapshot: chunk 2 of 3 \(generation \d+\) has \d+ bytes, not \d+$/);
        return true;
      });
    });
  }
});
