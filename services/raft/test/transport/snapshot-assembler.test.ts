import { strict as assert } from "node:assert";
import { SnapshotAssembler } from "../../src/transport/snapshot-assembler.js";
import { encodeMessage } from "../../src/transport/codec.js";
import { MessageType } from "../../src/core/types.js";
import { msg } from "./helpers.js";

const snapMsg = encodeMessage(
  msg(1, 2, { type: MessageType.Snap, snapshot: { metadata: { index: 5, term: 1, confState: { voters: [1, 2], learners: [], removed: [] } }, data: new Uint8Array(0) } }),
);

describe("snapshot assembler", () => {
  it("returns the MsgSnap with the concatenated data after the last chunk", () => {
    const a = new SnapshotAssembler(1 << 20);
    assert.equal(a.add({ snapshotId: 1, offset: 0, totalSize: 5, data: new Uint8Array([1, 2]), message: snapMsg }), undefined);
    const m = a.add({ snapshotId: 1, offset: 2, totalSize: 5, data: new Uint8Array([3, 4, 5]), last: true });
    assert.deepEqual([...m!.snapshot!.data], [1, 2, 3, 4, 5]);
    assert.equal(m!.snapshot!.metadata.index, 5);
  });

  it("refuses a gap, a chunk without a first chunk, a short snapshot and an oversized one", () => {
    const a = new SnapshotAssembler(100);
    assert.throws(() => a.add({ snapshotId: 1, offset: 0, totalSize: 5, data: new Uint8Array([1]) }), /without a preceding first chunk/);
    a.add({ snapshotId: 1, offset: 0, totalSize: 5, data: new Uint8Array([1]), message: snapMsg });
    assert.throws(() => a.add({ snapshotId: 1, offset: 2, totalSize: 5, data: new Uint8Array([1]) }), /expected 1/);
    const b = new SnapshotAssembler(100);
    b.add({ snapshotId: 1, offset: 0, totalSize: 5, data: new Uint8Array([1]), message: snapMsg });
    assert.throws(() => b.add({ snapshotId: 1, offset: 1, totalSize: 5, data: new Uint8Array([1]), last: true }), /ended at 2 of 5/);
    assert.throws(() => new SnapshotAssembler(4).add({ snapshotId: 1, offset: 0, totalSize: 5, data: new Uint8Array(0), message: snapMsg }), /exceeds/);
  });
});
