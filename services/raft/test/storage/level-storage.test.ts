import { strict as assert } from "node:assert";
import { readdirSync } from "node:fs";
import { EntryType, type Snapshot } from "../../src/core/types.js";
import { RaftError } from "../../src/core/errors.js";
import { entryKey } from "../../src/storage/record-format.js";
import { entries, entry, storageFixture } from "./helpers.js";

const confState = { voters: [1, 2, 3], learners: [4], removed: [7] };

function snapshot(index: number, term: number, data = `state at ${index}`): Snapshot {
  return { metadata: { index, term, confState }, data: new TextEncoder().encode(data) };
}

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RaftError, `expected a RaftError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe("LevelStorage", () => {
  const fx = storageFixture();

  it("loads a new directory as an empty log", async () => {
    const s = await fx.open(fx.dir());
    const got = await s.load();
    assert.deepEqual(got, { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] });
  });

  it("gathers writes in a 32 MiB write buffer by default: 8 MiB of entries make no sorted table yet; 1 MiB buffers do", async () => {
    const tables = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith(".ldb"));
    const write8MiB = async (dir: string, opts?: { writeBufferBytes: number }): Promise<void> => {
      const s = await fx.open(dir, opts);
      await s.load();
      const data = new Uint8Array(64 * 1024).fill(7);
      for (let i = 1; i <= 128; i++) await s.save({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [{ index: i, term: 1, type: EntryType.Normal, data }] }, false);
    };
    const big = fx.dir();
    await write8MiB(big);
    assert.deepEqual(tables(big), []);
    const small = fx.dir();
    await write8MiB(small, { writeBufferBytes: 1024 * 1024 });
    assert.ok(tables(small).length > 0, "a 1 MiB buffer flushes to sorted tables");
  });

  it("round-trips entries of every type, binary data and the hard state", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    const binary = new Uint8Array(256).map((_, i) => i);
    const want = [
      { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array(0) },
      { index: 2, term: 1, type: EntryType.ConfChange, data: binary },
      { index: 3, term: 2 ** 40, type: EntryType.Normal, data: binary },
    ];
    await s.save({ entries: want, hardState: { term: 2 ** 40, vote: 3, commit: 2 } }, true);
    const got = await s.load();
    assert.deepStrictEqual(got.entries, want);
    assert.deepStrictEqual(got.hardState, { term: 2 ** 40, vote: 3, commit: 2 });
  });

  it("keeps everything across close and reopen", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save({ snapshot: snapshot(10, 2), entries: entries(11, 20, 3), hardState: { term: 3, vote: 1, commit: 15 } }, true);
    await s.save({ entries: entries(21, 25, 3) }, false);
    await s.close();

    const s2 = await fx.open(dir);
    const got = await s2.load();
    assert.deepStrictEqual(got.snapshot, snapshot(10, 2));
    assert.deepStrictEqual(got.entries, entries(11, 25, 3));
    assert.deepStrictEqual(got.hardState, { term: 3, vote: 1, commit: 15 });
    // and the reopened store keeps appending where the log ended
    await s2.save({ entries: [entry(26, 4)], hardState: { term: 4, vote: 0, commit: 26 } }, true);
    assert.equal((await s2.load()).entries.at(-1)?.index, 26);
  });

  it("replaces a conflicting suffix, deleting stored entries past the new last index", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 4 } }, true);
    // a new leader at term 2 overwrites from 6 with only two entries: 8..10 must go
    await s.save({ entries: entries(6, 7, 2), hardState: { term: 2, vote: 2, commit: 4 } }, true);
    await s.close();
    const s2 = await fx.open(dir);
    const got = await s2.load();
    assert.deepStrictEqual(got.entries, [...entries(1, 5, 1), ...entries(6, 7, 2)]);
    const raw = await fx.raw(dir).catch(() => undefined);
    assert.equal(raw, undefined, "the store is locked while open"); // guards against a second writer
    await s2.close();
    const db = await fx.raw(dir);
    assert.equal(await db.get(entryKey(8)), undefined);
    assert.equal(await db.get(entryKey(10)), undefined);
  });

  it("refuses to overwrite committed entries or leave a gap", async () => {
    const s = await fx.open(fx.dir());
    await s.load();
    await s.save({ entries: entries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 3 } }, true);
    await rejects(s.save({ entries: entries(3, 4, 2) }, true), "RAFT_INVALID_ARGUMENT", /overwrite committed entries \(commit 3\)/);
    await rejects(s.save({ entries: entries(7, 8, 1) }, true), "RAFT_INVALID_ARGUMENT", /gap: last stored index 5, first new 7/);
    await rejects(s.save({ entries: [], hardState: { term: 1, vote: 1, commit: 6 } }, true), "RAFT_INVALID_ARGUMENT", /commit 6 beyond last index 5/);
    await rejects(s.save({ entries: [entry(6, 1), entry(8, 1)] }, true), "RAFT_INVALID_ARGUMENT", /not contiguous: 6 then 8/);
    await rejects(s.save({ entries: [entry(6, 2)] }, true), "RAFT_INVALID_ARGUMENT", /hard state term 1 below the last entry's term 2/);
    // nothing of the refused batches reached the disk
    assert.deepStrictEqual((await s.load()).entries, entries(1, 5, 1));
  });

  it("saves a snapshot and drops the entries it covers in the same batch", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save({ entries: entries(1, 20, 1), hardState: { term: 1, vote: 1, commit: 20 } }, true);
    // local snapshot at 15: entries 16..20 still continue it
    await s.save({ snapshot: snapshot(15, 1), entries: [] }, true);
    const got = await s.load();
    assert.deepStrictEqual(got.snapshot, snapshot(15, 1));
    assert.deepStrictEqual(got.entries, entries(16, 20, 1));
    await s.close();
    const db = await fx.raw(dir);
    assert.equal(await db.get(entryKey(1)), undefined);
    assert.equal(await db.get(entryKey(15)), undefined);
    assert.notEqual(await db.get(entryKey(16)), undefined);
  });

  it("replaces the whole log with a snapshot that does not match it", async () => {
    const s = await fx.open(fx.dir());
    await s.load();
    await s.save({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 5 } }, true);
    // a leader at term 3 sends a snapshot at 8 whose term differs from our entry 8
    await s.save({ snapshot: snapshot(8, 3), entries: entries(9, 9, 3), hardState: { term: 3, vote: 0, commit: 8 } }, true);
    const got = await s.load();
    assert.equal(got.snapshot?.metadata.index, 8);
    assert.deepStrictEqual(got.entries, entries(9, 9, 3));
  });

  it("refuses a snapshot older than the stored one", async () => {
    const s = await fx.open(fx.dir());
    await s.load();
    await s.save({ snapshot: snapshot(10, 2), entries: [], hardState: { term: 2, vote: 0, commit: 10 } }, true);
    await rejects(s.save({ snapshot: snapshot(5, 1), entries: [] }, true), "RAFT_SNAPSHOT_OUT_OF_DATE", /snapshot at 5 is older than the stored snapshot at 10/);
  });

  it("compacts only through a stored snapshot", async () => {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 10 } }, true);
    await rejects(s.compact(5), "RAFT_INVALID_ARGUMENT", /cannot compact through 5: the stored snapshot only covers through 0/);
    await s.save({ snapshot: snapshot(6, 1), entries: [] }, true);
    await s.compact(6);
    await s.compact(3); // already gone: a no-op, not an error
    await rejects(s.compact(7), "RAFT_INVALID_ARGUMENT", /covers through 6/);
    await s.close();
    const s2 = await fx.open(dir);
    const got = await s2.load();
    assert.equal(got.snapshot?.metadata.index, 6);
    assert.deepStrictEqual(got.entries, entries(7, 10, 1));
  });

  it("drops new entries the snapshot already covers", async () => {
    const s = await fx.open(fx.dir());
    await s.load();
    await s.save({ snapshot: snapshot(5, 2), entries: entries(3, 7, 2), hardState: { term: 2, vote: 0, commit: 5 } }, true);
    assert.deepStrictEqual((await s.load()).entries, entries(6, 7, 2));
  });

  it("runs concurrent saves one at a time, in call order", async () => {
    const s = await fx.open(fx.dir());
    await s.load();
    const saves = [];
    for (let i = 1; i <= 50; i++) saves.push(s.save({ entries: [entry(i, 1)], hardState: { term: 1, vote: 1, commit: i } }, i % 10 === 0));
    await Promise.all(saves);
    const got = await s.load();
    assert.deepStrictEqual(got.entries, entries(1, 50, 1));
    assert.equal(got.hardState.commit, 50);
  });

  it("refuses a second open of the same directory while the first holds it", async () => {
    const dir = fx.dir();
    await fx.open(dir);
    await rejects(fx.open(dir), "RAFT_UNAVAILABLE", /cannot open raft storage at .*: IO error: lock/);
  });

  it("requires load() before save() and rejects everything after close()", async () => {
    const s = await fx.open(fx.dir());
    await rejects(s.save({ entries: [entry(1, 1)] }, true), "RAFT_INVALID_ARGUMENT", /load\(\) must succeed before save\(\)/);
    await s.close();
    await rejects(s.load(), "RAFT_STOPPED", /closed/);
  });
});
