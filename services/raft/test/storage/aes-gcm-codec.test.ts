import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { SLICE_BYTES } from "@shoal/common";
import { RaftError } from "../../src/core/errors.js";
import { createAesGcmCodec } from "../../src/storage/index.js";
import type { Snapshot } from "../../src/core/types.js";
import { KEY_CHECK_KEY, decodeSnapshot, encodeSnapshot, encodeSnapshotParts, entryKey } from "../../src/storage/record-format.js";
import { entries, storageFixture } from "./helpers.js";

function isCode(code: string, message?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof RaftError, `expected a RaftError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/** Recomputes a record's CRC so only the cipher's authentication can notice a change. */
function restampCrc(v: Buffer): void {
  v.writeUInt32BE(crc32(v.subarray(4)), 0);
}

describe("createAesGcmCodec", () => {
  it("opens what it sealed and never seals to the same bytes twice", () => {
    const codec = createAesGcmCodec(randomBytes(32));
    const plain = new TextEncoder().encode("secret: db password");
    const a = codec.seal(plain);
    const b = codec.seal(plain);
    assert.notDeepEqual(Buffer.from(a), Buffer.from(b));
    assert.deepStrictEqual(codec.open(a), plain);
    assert.equal(Buffer.from(a).includes(Buffer.from("password")), false);
  });

  it("rejects tampered ciphertext and a wrong key with RAFT_LOG_CORRUPT", () => {
    const key = randomBytes(32);
    const sealed = Buffer.from(createAesGcmCodec(key).seal(new Uint8Array(64)));
    sealed[sealed.length - 1]! ^= 1;
    assert.throws(() => createAesGcmCodec(key).open(sealed), isCode("RAFT_LOG_CORRUPT", /authentication failed/));
    const fresh = createAesGcmCodec(key).seal(new Uint8Array(64));
    assert.throws(() => createAesGcmCodec(randomBytes(32)).open(fresh), isCode("RAFT_LOG_CORRUPT"));
  });

  it("opens in slices what it sealed, pausing between them, and rejects tampered data", async () => {
    const codec = createAesGcmCodec(randomBytes(32));
    const plain = randomBytes(SLICE_BYTES * 2 + 77);
    const sealed = Buffer.from(codec.seal(plain));
    let pauses = 0;
    assert.deepEqual(Buffer.from(await codec.openInSlices!(sealed, async () => void pauses++)), plain);
    assert.equal(pauses, 2);
    sealed[sealed.length - 5]! ^= 1;
    await assert.rejects(codec.openInSlices!(sealed, async () => undefined), isCode("RAFT_LOG_CORRUPT", /authentication failed/));
  });

  it("seals a large snapshot record in slices, pausing between them: it opens like one sealed at once", async () => {
    const codec = createAesGcmCodec(randomBytes(32));
    const data = randomBytes(10 * 1024 * 1024 + 123);
    const snap: Snapshot = { metadata: { index: 42, term: 3, confState: { voters: [1, 2, 3], learners: [4], removed: [5] } }, data };
    let pauses = 0;
    const sliced = Buffer.concat(await encodeSnapshotParts(snap, codec, async () => void pauses++));
    assert.ok(pauses >= 4, `${pauses} pauses`);
    assert.equal(sliced.length, encodeSnapshot(snap, codec).length);
    const back = decodeSnapshot(sliced, codec);
    assert.deepEqual(back.metadata, snap.metadata);
    assert.ok(Buffer.from(back.data).equals(data));
    // Without a codec, the very bytes encodeSnapshot gives.
    assert.ok(Buffer.concat(await encodeSnapshotParts(snap, undefined, async () => undefined)).equals(encodeSnapshot(snap, undefined)));
    // A flipped bit in the sliced record's data is caught (checksum over every slice).
    sliced[sliced.length - 5]! ^= 1;
    assert.throws(() => decodeSnapshot(sliced, codec), isCode("RAFT_LOG_CORRUPT"));
  });

  it("refuses keys that are not AES sizes", () => {
    assert.throws(() => createAesGcmCodec(new Uint8Array(31)), isCode("RAFT_INVALID_ARGUMENT", /16, 24 or 32 bytes, got 31/));
  });
});

describe("LevelStorage with encryption at rest", () => {
  const fx = storageFixture();
  const key = randomBytes(32);
  const marker = new TextEncoder().encode("TOP-SECRET-MARKER");

  async function written(): Promise<string> {
    const dir = fx.dir();
    const s = await fx.open(dir, { codec: createAesGcmCodec(key) });
    await s.load();
    const ents = entries(1, 5, 1).map((e) => ({ ...e, data: marker }));
    const snap = { metadata: { index: 0, term: 0, confState: { voters: [1], learners: [], removed: [] } }, data: marker };
    await s.save({ snapshot: snap, entries: ents, hardState: { term: 1, vote: 1, commit: 5 } }, true);
    await s.close();
    return dir;
  }

  it("stores entry and snapshot data only as ciphertext and reads it back", async () => {
    const dir = await written();
    const db = await fx.raw(dir);
    for (const [, v] of await db.iterator().all()) assert.equal(v.includes(Buffer.from(marker)), false, "plaintext found on disk");
    await db.close();
    const s = await fx.open(dir, { codec: createAesGcmCodec(key) });
    const got = await s.load();
    assert.deepStrictEqual(got.snapshot?.data, marker);
    assert.deepStrictEqual(got.entries.map((e) => e.data), Array(5).fill(marker));
  });

  it("names the entry whose ciphertext was tampered with, even when its checksum was recomputed", async () => {
    const dir = await written();
    const db = await fx.raw(dir);
    const v = (await db.get(entryKey(3)))!;
    v[v.length - 1]! ^= 0x01;
    restampCrc(v);
    await db.put(entryKey(3), v);
    await db.close();
    const s = await fx.open(dir, { codec: createAesGcmCodec(key) });
    await assert.rejects(s.load(), (err: unknown) => {
      isCode("RAFT_LOG_CORRUPT", /^entry 3: cannot decrypt/)(err);
      assert.equal((err as RaftError).meta["index"], 3);
      return true;
    });
  });

  it("refuses a different data key at open with RAFT_STORAGE_KEY_WRONG, before reading any record", async () => {
    const dir = await written();
    await assert.rejects(fx.open(dir, { codec: createAesGcmCodec(randomBytes(32)) }), (err: unknown) => {
      isCode("RAFT_STORAGE_KEY_WRONG", /cannot decrypt raft data at .*: wrong data key/)(err);
      assert.equal((err as RaftError).meta["reason"], "wrong-key");
      return true;
    });
    // Nothing was touched: the right key still reads everything.
    const s = await fx.open(dir, { codec: createAesGcmCodec(key) });
    assert.equal((await s.load()).entries.length, 5);
  });

  it("adds the key check to an encrypted store that lacks one once a load proved the key, then refuses other keys", async () => {
    const dir = await written();
    const db = await fx.raw(dir);
    await db.del(KEY_CHECK_KEY);
    await db.close();
    // Without the key check a wrong key can only show as a record that does not decrypt.
    const wrong = await fx.open(dir, { codec: createAesGcmCodec(randomBytes(32)) });
    await assert.rejects(wrong.load(), isCode("RAFT_LOG_CORRUPT", /^snapshot: cannot decrypt/));
    await wrong.close();
    const right = await fx.open(dir, { codec: createAesGcmCodec(key) });
    await right.load();
    await right.close();
    await assert.rejects(fx.open(dir, { codec: createAesGcmCodec(randomBytes(32)) }), isCode("RAFT_STORAGE_KEY_WRONG", /wrong data key/));
  });

  it("refuses encrypted data without a key and plain data with one, as a key mismatch rather than corruption", async () => {
    const dir = await written();
    await assert.rejects(fx.open(dir), isCode("RAFT_STORAGE_KEY_WRONG", /encrypted and no data key was given/));

    const plainDir = fx.dir();
    const p = await fx.open(plainDir);
    await p.load();
    await p.save({ entries: entries(1, 2, 1), hardState: { term: 1, vote: 1, commit: 0 } }, true);
    await p.close();
    const withCodec = await fx.open(plainDir, { codec: createAesGcmCodec(key) });
    await assert.rejects(withCodec.load(), isCode("RAFT_STORAGE_KEY_WRONG", /^entry 1: stored without encryption but a data key was given/));
  });
});
