// Whole-buffer copies in slices: the bytes come out as one copy would make them, and the pause
// comes after every SLICE_BYTES copied, whether the source is one big buffer or many small parts.
import { strict as assert } from "node:assert";
import { SLICE_BYTES, concatInSlices, copyPartsInSlices } from "../src/index.js";

const MIB = 1024 * 1024;

function part(bytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 0xff);
}

describe("slices", () => {
  it("copyPartsInSlices pauses between slices of one big part", async () => {
    const src = part(2 * SLICE_BYTES + 5, 1);
    const dst = new Uint8Array(src.length + 3);
    let pauses = 0;
    await copyPartsInSlices(dst, 3, [src], async () => void pauses++);
    assert.equal(pauses, 2);
    assert.deepEqual(dst.subarray(3), src);
  });

  it("copyPartsInSlices pauses after every SLICE_BYTES however small the parts are", async () => {
    const parts = Array.from({ length: 20 }, (_, i) => part(MIB + i, i));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const dst = new Uint8Array(total + 7);
    let pauses = 0;
    await copyPartsInSlices(dst, 7, parts, async () => void pauses++);
    assert.equal(pauses, Math.ceil(total / SLICE_BYTES) - 1);
    assert.deepEqual(Buffer.from(dst.subarray(7)), Buffer.concat(parts));
  });

  it("concatInSlices joins parts, empty ones included, into the bytes Buffer.concat gives", async () => {
    const parts = [part(10, 1), new Uint8Array(0), part(SLICE_BYTES + 1, 2), part(3, 3)];
    let pauses = 0;
    const out = await concatInSlices(parts, async () => void pauses++);
    assert.ok(out.equals(Buffer.concat(parts)));
    assert.equal(pauses, 1);
  });
});
