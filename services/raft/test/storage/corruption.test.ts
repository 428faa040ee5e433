import { strict as assert } from "node:assert";
import { RaftError } from "../../src/core/errors.js";
import { HARD_STATE_KEY, META_KEY, SNAPSHOT_KEY, encodeEntry, encodeMeta, entryKey } from "../../src/storage/record-format.js";
import { entries, entry, storageFixture } from "./helpers.js";

/** Asserts RAFT_LOG_CORRUPT with the given meta fields and a message matching `message`. */
async function corrupt(p: Promise<unknown>, message: RegExp, meta: Record<string, unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RaftError, `expected a RaftError, got ${String(err)}`);
    assert.equal(err.code, "RAFT_LOG_CORRUPT");
    assert.match(err.message, message);
    for (const [k, v] of Object.entries(meta)) assert.equal(err.meta[k], v, `meta.${k}`);
    return true;
  });
}

describe("LevelStorage corruption detection", () => {
  const fx = storageFixture();

  /** A closed store holding entries 1..40 at term 2, commit 40, with a snapshot at 0. */
  async function written(): Promise<string> {
    const dir = fx.dir();
    const s = await fx.open(dir);
    await s.load();
    await s.save(
      {
        snapshot: { metadata: { index: 0, term: 0, confState: { voters: [1], learners: [], removed: [] } }, data: new Uint8Array(0) },
        entries: entries(1, 40, 2),
        hardState: { term: 2, vote: 1, commit: 40 },
      },
      true,
    );
    await s.close();
    return dir;
  }

  async function tamper(dir: string, fn: (db: Awaited<ReturnType<typeof fx.raw>>) => Promise<void>): Promise<void> {
    const db = await fx.raw(dir);
    await fn(db);
    await db.close();
  }

  async function loadAgain(dir: string): Promise<unknown> {
    const s = await fx.open(dir);
    return s.load();
  }

  it("names the entry whose bytes were flipped", async () => {
    const dir = await written();
    await tamper(dir, async (db) => {
      const v = (await db.get(entryKey(23)))!;
      v[v.length - 3]! ^= 0x40; // inside the data
      await db.put(entryKey(23), v);
    });
    await corrupt(loadAgain(dir), /^entry 23: checksum mismatch$/, { index: 23, reason: "checksum" });
  });

  it("detects a flipped bit in an entry's term even in the header", async () => {
    const dir = await written();
    await tamper(dir, async (db) => {
      const v = (await db.get(entryKey(5)))!;
      v[12]! ^= 0x01; // the term's low byte
      await db.put(entryKey(5), v);
    });
    await corrupt(loadAgain(dir), /^entry 5: checksum mismatch$/, { index: 5 });
  });

  it("names the gap when an entry in the middle is missing", async () => {
    const dir = await written();
    await tamper(dir, (db) => db.del(entryKey(17)));
    await corrupt(loadAgain(dir), /entries not contiguous: 16 then 18/, { index: 18, reason: "gap" });
  });

  it("refuses a log whose first entry does not follow the snapshot", async () => {
    const dir = await written();
    await tamper(dir, (db) => db.del(entryKey(1)));
    await corrupt(loadAgain(dir), /entries start at 2 but the snapshot ends at 0/, { index: 2, reason: "start" });
  });

  it("refuses an entry stored under another index's key", async () => {
    const dir = await written();
    await tamper(dir, async (db) => {
      await db.put(entryKey(9), (await db.get(entryKey(10)))!);
    });
    await corrupt(loadAgain(dir), /^entry 9: record says index 10$/, { index: 9, reason: "index-mismatch" });
  });

  it("refuses a term that decreases", async () => {
    const dir = await written();
    await tamper(dir, (db) => db.put(entryKey(30), encodeEntry(entry(30, 1), undefined)));
    await corrupt(loadAgain(dir), /entry 30: term 1 below term 2 of entry 29/, { index: 30, reason: "term-decrease" });
  });

  it("refuses to start when the hard state's commit is beyond the log (committed data never dropped silently)", async () => {
    const dir = await written();
    await tamper(dir, async (db) => {
      for (let i = 31; i <= 40; i++) await db.del(entryKey(i));
    });
    await corrupt(loadAgain(dir), /hard state: commit 40 beyond last index 30: log truncated\?/, {
      record: "hard-state",
      reason: "commit-beyond-last",
      commit: 40,
      lastIndex: 30,
    });
  });

  it("detects a damaged hard state and snapshot", async () => {
    const dir = await written();
    await tamper(dir, async (db) => {
      const v = (await db.get(HARD_STATE_KEY))!;
      v[20]! ^= 0xff;
      await db.put(HARD_STATE_KEY, v);
    });
    await corrupt(loadAgain(dir), /^hard state: checksum mismatch$/, { record: "hard-state" });

    const dir2 = await written();
    await tamper(dir2, async (db) => {
      const v = (await db.get(SNAPSHOT_KEY))!;
      await db.put(SNAPSHOT_KEY, v.subarray(0, v.length - 1)); // truncated record
    });
    await corrupt(loadAgain(dir2), /^snapshot: /, { record: "snapshot" });
  });

  it("refuses to open a store written in another format version", async () => {
    const dir = await written();
    await tamper(dir, (db) => db.put(META_KEY, encodeMeta(3)));
    await corrupt(fx.open(dir), /format record: unsupported format version 3 \(this build reads 1 and 2\)/, { reason: "format-version", version: 3 });
  });

  it("refuses to open a non-empty store without a format record", async () => {
    const dir = await written();
    await tamper(dir, (db) => db.del(META_KEY));
    await corrupt(fx.open(dir), /format record: missing in a non-empty store/, { reason: "missing" });
  });
});
