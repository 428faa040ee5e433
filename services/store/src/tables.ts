// The committed state: one table per kind, each a map id → frozen entry plus secondary indexes, and
// Layer, an uncommitted overlay (a transaction's or a batch's changes) read through to what is
// below it. Tables are mutated only by apply (apply.ts) and restore.
import type { Entry } from "./freeze.js";
import type { Kind, StoreObject } from "./objects/kinds.js";
import { KINDS } from "./objects/kinds.js";
import type { CompiledSelector, IndexKey } from "./selectors.js";
import { indexKeys } from "./selectors.js";

export type StoredEntry = Entry<StoreObject>;

/** Read access shared by committed tables and overlays. */
export interface Reader {
  getEntry(kind: Kind, id: string): StoredEntry | undefined;
  /** Entries matching sel. Order: committed objects in insertion order, then overlay objects. */
  findEntries(kind: Kind, sel: CompiledSelector): StoredEntry[];
}

class Table {
  // Map order is insertion order, identical on every replica since all apply the same actions.
  readonly entries = new Map<string, StoredEntry>();
  // Invariant: index[name][key] holds exactly the ids whose indexKeys() contain [name, key].
  private readonly index = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly kind: Kind) {}

  put(entry: StoredEntry): void {
    const id = entry.obj.id;
    const old = this.entries.get(id);
    if (old !== undefined) this.unindex(id, old);
    this.entries.set(id, entry);
    for (const [name, key] of indexKeys(this.kind, entry.obj)) {
      let byKey = this.index.get(name);
      if (byKey === undefined) this.index.set(name, (byKey = new Map()));
      let ids = byKey.get(key);
      if (ids === undefined) byKey.set(key, (ids = new Set()));
      ids.add(id);
    }
  }

  remove(id: string): void {
    const old = this.entries.get(id);
    if (old === undefined) return;
    this.unindex(id, old);
    this.entries.delete(id);
  }

  ids(key: IndexKey): ReadonlySet<string> | undefined {
    return this.index.get(key[0])?.get(key[1]);
  }

  private unindex(id: string, entry: StoredEntry): void {
    for (const [name, key] of indexKeys(this.kind, entry.obj)) {
      const byKey = this.index.get(name);
      const ids = byKey?.get(key);
      if (ids === undefined) continue;
      ids.delete(id);
      if (ids.size === 0) byKey!.delete(key);
    }
  }
}

export class Tables implements Reader {
  private readonly tables = new Map<Kind, Table>(KINDS.map((k) => [k, new Table(k)]));

  table(kind: Kind): Table {
    return this.tables.get(kind)!;
  }

  getEntry(kind: Kind, id: string): StoredEntry | undefined {
    return this.table(kind).entries.get(id);
  }

  findEntries(kind: Kind, sel: CompiledSelector): StoredEntry[] {
    const table = this.table(kind);
    if (sel.union !== undefined) {
      const seen = new Set<string>();
      const out: StoredEntry[] = [];
      for (const part of sel.union) {
        for (const e of this.findEntries(kind, part)) {
          if (seen.has(e.obj.id)) continue;
          seen.add(e.obj.id);
          out.push(e);
        }
      }
      return out;
    }
    if (sel.index !== undefined) {
      const ids = table.ids(sel.index);
      if (ids === undefined) return [];
      return [...ids].map((id) => table.entries.get(id)!);
    }
    const out: StoredEntry[] = [];
    for (const [id, e] of table.entries) if (sel.match(id, e.obj)) out.push(e);
    return out;
  }

  count(kind: Kind): number {
    return this.table(kind).entries.size;
  }
}

/** Uncommitted changes over a Reader: null marks a deletion. */
export class Layer implements Reader {
  readonly changes = new Map<Kind, Map<string, StoredEntry | null>>();

  constructor(private readonly lower: Reader) {}

  set(kind: Kind, id: string, entry: StoredEntry | null): void {
    let byId = this.changes.get(kind);
    if (byId === undefined) this.changes.set(kind, (byId = new Map()));
    byId.set(id, entry);
  }

  getEntry(kind: Kind, id: string): StoredEntry | undefined {
    const byId = this.changes.get(kind);
    if (byId?.has(id)) return byId.get(id) ?? undefined;
    return this.lower.getEntry(kind, id);
  }

  findEntries(kind: Kind, sel: CompiledSelector): StoredEntry[] {
    const byId = this.changes.get(kind);
    const below = this.lower.findEntries(kind, sel);
    if (byId === undefined || byId.size === 0) return below;
    const out = below.filter((e) => !byId.has(e.obj.id));
    for (const [id, e] of byId) if (e !== null && sel.match(id, e.obj)) out.push(e);
    return out;
  }

  /** Moves this layer's changes into `target` (a batch absorbing a finished transaction). */
  mergeInto(target: Layer): void {
    for (const [kind, byId] of this.changes) for (const [id, e] of byId) target.set(kind, id, e);
  }
}
