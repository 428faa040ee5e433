// Child process for crash-safety.test: appends fsync'd batches forever and acknowledges each one on
// stdout only after save() resolved, so the parent can SIGKILL it mid-stream and check that every
// acknowledged batch survived. Not a test file. Usage: node crash-writer.js <dir> <entriesPerBatch>
import { writeSync } from "node:fs";
import { EntryType, type Entry } from "../../src/core/types.js";
import { LevelStorage } from "../../src/storage/index.js";

/** The data of entry i: 256 bytes derived from i, so the parent can check content, not just count. */
export function crashEntryData(i: number): Uint8Array {
  const data = new Uint8Array(256);
  for (let b = 0; b < data.length; b++) data[b] = (i * 31 + b) & 0xff;
  return data;
}

async function main(): Promise<void> {
  const [dir, perBatchArg] = process.argv.slice(2);
  if (dir === undefined || perBatchArg === undefined) throw new Error("usage: crash-writer <dir> <entriesPerBatch>");
  const perBatch = Number(perBatchArg);
  const s = await LevelStorage.open(dir);
  const loaded = await s.load();
  let next = (loaded.entries.at(-1)?.index ?? 0) + 1;
  writeSync(1, `ready ${next - 1}\n`);
  while (true) {
    const ents: Entry[] = [];
    for (let k = 0; k < perBatch; k++, next++) ents.push({ index: next, term: 1, type: EntryType.Normal, data: crashEntryData(next) });
    await s.save({ entries: ents, hardState: { term: 1, vote: 1, commit: next - 1 } }, true);
    writeSync(1, `ack ${next - 1}\n`);
  }
}

// Only run when executed, not when the test imports crashEntryData.
if (process.argv[1]?.endsWith("crash-writer.js")) {
  main().catch((err: unknown) => {
    process.stderr.write(`crash-writer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
