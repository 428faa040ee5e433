// Shared test fixtures for the storage tests: temp dirs that are always removed, open stores that
// are always closed, and entry builders.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { EntryType, type Entry } from "../../src/core/types.js";
import { LevelStorage, type LevelStorageOptions } from "../../src/storage/index.js";

/** Registers afterEach hooks; call at the top of a describe block. */
export function storageFixture(): {
  dir(): string;
  open(dir: string, opts?: LevelStorageOptions): Promise<LevelStorage>;
  raw(dir: string): Promise<Level<Buffer, Buffer>>;
} {
  const dirs: string[] = [];
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    dir() {
      const d = mkdtempSync(join(tmpdir(), "shoal-raft-storage-"));
      dirs.push(d);
      return d;
    },
    async open(dir, opts) {
      const s = await LevelStorage.open(dir, opts);
      open.push(s);
      return s;
    },
    async raw(dir) {
      const db = new Level<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
      await db.open();
      open.push(db);
      return db;
    },
  };
}

/** Entry `index` at `term` whose data names both, so a misplaced entry shows up in comparisons. */
export function entry(index: number, term: number, type: EntryType = EntryType.Normal): Entry {
  return { index, term, type, data: new TextEncoder().encode(`entry ${index} term ${term}`) };
}

/** Entries lo..hi inclusive at `term`. */
export function entries(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(entry(i, term));
  return out;
}
