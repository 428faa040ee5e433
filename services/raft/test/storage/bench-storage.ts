// Micro-benchmark of LevelStorage's hot path (not a test; mocha only runs *.test.js):
// sequential fsync'd saves of N entries of 256 bytes plus the hard state, as a driver does per Ready.
// Usage: node services/raft/dist/test/storage/bench-storage.js [seconds=5] [batchSizes=1,32] [dir=os.tmpdir()] [--codec] [--no-sync]
// Prints one JSON line per batch size on stdout.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { EntryType, type Entry } from "../../src/core/types.js";
import { LevelStorage, createAesGcmCodec } from "../../src/storage/index.js";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function bench(baseDir: string, seconds: number, perBatch: number, withCodec: boolean, sync: boolean): Promise<void> {
  const dir = mkdtempSync(join(baseDir, "shoal-bench-storage-"));
  try {
    const opts = withCodec ? { codec: createAesGcmCodec(randomBytes(32)) } : {};
    const s = await LevelStorage.open(dir, opts);
    await s.load();
    const data = randomBytes(256);
    const latenciesMs: number[] = [];
    let next = 1;
    const start = process.hrtime.bigint();
    const endAt = start + BigInt(Math.round(seconds * 1e9));
    while (process.hrtime.bigint() < endAt) {
      const ents: Entry[] = [];
      for (let k = 0; k < perBatch; k++, next++) ents.push({ index: next, term: 1, type: EntryType.Normal, data });
      const t0 = process.hrtime.bigint();
      await s.save({ entries: ents, hardState: { term: 1, vote: 1, commit: next - 1 } }, sync);
      latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
    await s.close();
    // Restart cost: how long a verified load of everything just written takes.
    const reopened = await LevelStorage.open(dir, opts);
    const l0 = process.hrtime.bigint();
    const loaded = await reopened.load().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    const loadMs = Number(process.hrtime.bigint() - l0) / 1e6;
    await reopened.close();
    latenciesMs.sort((a, b) => a - b);
    const result = {
      entriesPerBatch: perBatch,
      entryBytes: 256,
      codec: withCodec ? "aes-256-gcm" : "none",
      sync,
      saves: latenciesMs.length,
      savesPerSec: Math.round(latenciesMs.length / elapsedS),
      entriesPerSec: Math.round((latenciesMs.length * perBatch) / elapsedS),
      p50Ms: +percentile(latenciesMs, 50).toFixed(3),
      p99Ms: +percentile(latenciesMs, 99).toFixed(3),
      maxMs: +latenciesMs[latenciesMs.length - 1]!.toFixed(3),
      loadedEntries: loaded instanceof Error ? `load failed: ${loaded.message}` : loaded.entries.length,
      loadMs: +loadMs.toFixed(1),
    };
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const sync = !process.argv.includes("--no-sync");
  const withCodec = process.argv.includes("--codec");
  const seconds = Number(args[0] ?? 5);
  const sizes = (args[1] ?? "1,32").split(",").map(Number);
  const baseDir = args[2] ?? tmpdir();
  for (const n of sizes) await bench(baseDir, seconds, n, withCodec, sync);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-storage: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
