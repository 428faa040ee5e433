// A member's disk as the simulator sees it. Everything the driver writes is visible to the RawNode
// at once (through `mem`, the MemoryStorage it reads), but only what reached a sync point survives
// a crash: `durable` is the image as of the last sync, `unsynced` the writes since. A crash keeps
// `durable` and nothing else, which is exactly what an fsync'd log gives a real member.

import { MemoryStorage } from "../../src/index.js";
import type { ConfState, Entry, HardState, Snapshot } from "../../src/index.js";

export interface SimWrite {
  snapshot?: Snapshot | undefined;
  entries: Entry[];
  hardState?: HardState | undefined;
}

export class SimStorage {
  readonly mem: MemoryStorage;
  private readonly durable: MemoryStorage;
  private unsynced: SimWrite[] = [];

  private constructor(mem: MemoryStorage, durable: MemoryStorage) {
    this.mem = mem;
    this.durable = durable;
  }

  /** A first start: an initial member passes the cluster's voters, a joiner passes nothing. */
  static fresh(confState?: ConfState): SimStorage {
    const init = confState === undefined ? undefined : { confState };
    return new SimStorage(new MemoryStorage(init), new MemoryStorage(init));
  }

  /** Writes a Ready's persistent parts; they are durable only once `sync` (or a synced write) runs. */
  write(w: SimWrite, sync: boolean): void {
    applyWrite(this.mem, w);
    this.unsynced.push(w);
    if (sync) this.sync();
  }

  sync(): void {
    for (const w of this.unsynced) applyWrite(this.durable, w);
    this.unsynced = [];
  }

  /** Records a state-machine snapshot and drops the log up to compactTo; both are synced at once. */
  snapshotAndCompact(index: number, confState: ConfState, data: Uint8Array, compactTo: number): void {
    this.sync();
    this.mem.createSnapshot(index, confState, data);
    this.durable.createSnapshot(index, confState, data);
    if (compactTo > this.mem.firstIndex() - 1) {
      this.mem.compact(compactTo);
      this.durable.compact(compactTo);
    }
  }

  /** The storage a restarted member sees: the durable image only; unsynced writes are gone. */
  crashAndRecover(): SimStorage {
    const mem = copyStorage(this.durable);
    const durable = copyStorage(this.durable);
    return new SimStorage(mem, durable);
  }

  get durableHardState(): HardState {
    return this.durable.hardState;
  }
}

function applyWrite(s: MemoryStorage, w: SimWrite): void {
  if (w.snapshot !== undefined) s.applySnapshot(w.snapshot);
  if (w.entries.length > 0) s.append(w.entries);
  if (w.hardState !== undefined) s.setHardState(w.hardState);
}

function copyStorage(src: MemoryStorage): MemoryStorage {
  const snap = src.snapshot();
  const out = new MemoryStorage({ confState: snap.metadata.confState });
  if (snap.metadata.index > 0) out.applySnapshot(snap);
  const first = src.firstIndex();
  const last = src.lastIndex();
  if (last >= first) out.append(src.entries(first, last + 1, Number.MAX_SAFE_INTEGER));
  out.setHardState(src.hardState);
  return out;
}
