// The snapshot envelope around a state machine's data: the member addresses ride with the data,
// and data given in parts is wrapped exactly as the same bytes given joined.
import { strict as assert } from "node:assert";
import { unwrapSnapshotData, wrapSnapshotData } from "../../src/driver/members.js";

describe("snapshot envelope (members.ts)", () => {
  const addresses = new Map([
    [1, "127.0.0.1:7001"],
    [2, "127.0.0.1:7002"],
  ]);

  it("wraps data given in parts as the same bytes joined, and unwraps both", async () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([4, 5])];
    const fromParts = await wrapSnapshotData(addresses, parts, async () => undefined);
    const joined = await wrapSnapshotData(addresses, new Uint8Array([1, 2, 3, 4, 5]), async () => undefined);
    assert.deepEqual(Buffer.from(fromParts), Buffer.from(joined));
    const back = unwrapSnapshotData(fromParts);
    assert.deepEqual(back.addresses, addresses);
    assert.deepEqual(Buffer.from(back.data), Buffer.from([1, 2, 3, 4, 5]));
  });

  it("pauses while copying many small parts (a store's encoding comes in 1,000-object slices)", async () => {
    const parts = Array.from({ length: 20 }, () => new Uint8Array(1024 * 1024));
    let pauses = 0;
    const wrapped = await wrapSnapshotData(addresses, parts, async () => void pauses++);
    assert.equal(unwrapSnapshotData(wrapped).data.length, 20 * 1024 * 1024);
    assert.ok(pauses >= 4, `${pauses} pauses for 20 MiB`);
  });

  it("passes data without the envelope through", () => {
    const plain = new Uint8Array([9, 9]);
    assert.deepEqual(unwrapSnapshotData(plain), { addresses: undefined, data: plain });
  });
});
