import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import { RaftError } from "../../src/core/errors.js";
import { Cluster, put } from "./helpers.js";

function isKeyWrong(reason: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof RaftError, `expected a RaftError, got ${String(err)}`);
    assert.equal(err.code, "RAFT_STORAGE_KEY_WRONG");
    assert.equal(err.meta["reason"], reason);
    return true;
  };
}

/** Every byte under dir, to look for plaintext and to prove a refused start changed nothing. */
function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) out.set(join(f.parentPath, f.name), readFileSync(join(f.parentPath, f.name)));
  }
  return out;
}

/** Every key and value of the LevelDB store, hex, in key order. */
async function recordsOf(dir: string): Promise<Array<[string, string]>> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open();
  try {
    return (await db.iterator().all()).map(([k, v]) => [k.toString("hex"), v.toString("hex")]);
  } finally {
    await db.close();
  }
}

describe("RaftNode encryption at rest (encryptionKey)", function () {
  this.timeout(30000);
  let c: Cluster;
  const key = randomBytes(32);

  beforeEach(async () => {
    c = new Cluster({ snapshotEntries: 5, compactKeepEntries: 1 });
    await c.allocate([1]);
  });
  afterEach(async () => {
    await c.cleanup();
  });

  it("keeps entries and snapshots encrypted on disk and reads them back with the same key", async () => {
    const m = await c.start(1, { encryptionKey: key });
    await c.leader();
    for (let i = 0; i < 8; i++) await m.node!.propose(put(`secret${i}`, "PLAINTEXT-MARKER"));
    await c.stop(1);
    for (const [file, bytes] of filesOf(join(c.root, "m1"))) assert.equal(bytes.includes("PLAINTEXT-MARKER"), false, `plaintext in ${file}`);
    const back = await c.start(1, { encryptionKey: key });
    assert.equal(back.sm.data.get("secret7"), "PLAINTEXT-MARKER");
    assert.equal(back.sm.log.length, 8);
  });

  it("refuses a wrong or missing key with RAFT_STORAGE_KEY_WRONG and leaves the data dir untouched", async () => {
    const m = await c.start(1, { encryptionKey: key });
    await c.leader();
    for (let i = 0; i < 3; i++) await m.node!.propose(put(`k${i}`, "v"));
    await c.stop(1);
    const before = await recordsOf(join(c.root, "m1", "raft"));

    await assert.rejects(c.start(1, { encryptionKey: randomBytes(32) }), (err: unknown) => {
      isKeyWrong("wrong-key")(err);
      assert.match((err as Error).message, /cannot decrypt raft data at .*: wrong data key/);
      return true;
    });
    await assert.rejects(c.start(1), isKeyWrong("key-missing"));
    // LevelDB reorganizes its files on open; what matters is that every record is as it was.
    assert.deepEqual(await recordsOf(join(c.root, "m1", "raft")), before);

    const back = await c.start(1, { encryptionKey: key });
    assert.deepEqual(back.sm.log, ["k0=v", "k1=v", "k2=v"]);
  });

  it("refuses a key that is not 32 bytes", async () => {
    await assert.rejects(c.start(1, { encryptionKey: randomBytes(16) }), (e) => e instanceof RaftError && e.code === "RAFT_INVALID_ARGUMENT");
  });
});
