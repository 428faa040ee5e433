// Whole-buffer work on snapshots (tens to hundreds of MiB) in slices, with a pause awaited between
// them: copied or transformed in one go, a 100 MiB snapshot held a manager's event loop for seconds
// (fresh pages fault in one by one in a VM), long enough for raft to elect another leader.

/** Bytes per slice: a few milliseconds of copying. */
export const SLICE_BYTES = 4 * 1024 * 1024;

/**
 * Copies the parts one after another into `dst` from `offset`, awaiting `pause()` after each
 * SLICE_BYTES copied, however the bytes are cut into parts (many small parts are one big copy).
 */
export async function copyPartsInSlices(dst: Uint8Array, offset: number, parts: readonly Uint8Array[], pause: () => Promise<void>): Promise<void> {
  let off = offset;
  let sincePause = 0;
  for (const p of parts) {
    for (let a = 0; a < p.length; ) {
      if (sincePause >= SLICE_BYTES) {
        await pause();
        sincePause = 0;
      }
      const n = Math.min(p.length - a, SLICE_BYTES - sincePause);
      dst.set(p.subarray(a, a + n), off);
      off += n;
      a += n;
      sincePause += n;
    }
  }
}

/** The parts, concatenated into one new buffer a slice at a time. */
export async function concatInSlices(parts: readonly Uint8Array[], pause: () => Promise<void>): Promise<Buffer> {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafe(total);
  await copyPartsInSlices(out, 0, parts, pause);
  return out;
}
