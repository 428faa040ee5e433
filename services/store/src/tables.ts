// The committed state: one table per kind, each a map id → frozen entry plus secondary indexes, and
// Layer, an uncommitted overlay (a transaction's or a batch's changes) read through to what is
// below it. Tables are mutated only by apply (apply.ts) and restore.
import { withVersionIndex, type Entry } from "./freeze.js";
import type { Kind, StoreObject } from "./objects/kinds.js";
import { KINDS } from "./objects/kinds.js";
import type { CompiledSelector, IndexKey } from "./selectors.js";
import { indexKeys, sameIndexedFields } from "./selectors.js";

export type StoredEntry = Entry<StoreObject>;

/** Read access shared by committed tables and overlays. */
export interface Reader {
  getEntry(kind: Kind, id: string): StoredEntry | undefined;
  /** Entries matching sel. Order: committed objects in insertion order, then overlay objects. */
  findEntries(kind: Kind, sel: CompiledSelector): StoredEntry[];
}

// A secondary index bucket: one id held inline (names and slots are nearly unique, and a Set per
// key would dominate memory), promoted to a Set when a second id arrives.
type Bucket = string | Set<string>;

function keyString(k: IndexKey): string {
  return k[0] + "\u0001" + k[1];
}

/**
 * A membership test for `keys`. Most objects have a handful of index keys (a task about six), and
 * a scan of those beats building a set of joined strings, which was most of a replica's cost of
 * applying a task update; an object with many labels gets the set.
 */
function keyTest(keys: readonly IndexKey[]): (k: IndexKey) => boolean {
  if (keys.length > 16) {
    const set = new Set(keys.map(keyString));
    return (k) => set.has(keyString(k));
  }
  return (k) => {
    for (const x of keys) if (x[1] === k[1] && x[0] === k[0]) return true;
    return false;
  };
}

class Table {
  // Map order is insertion order, identical on every replica since all apply the same actions.
  readonly entries = new Map<string, StoredEntry>();
  // Invariant: index[name][key] holds exactly the ids whose indexKeys() contain [name, key].
  private readonly index = new Map<string, Map<string, Bucket>>();

  constructor(private readonly kind: Kind) {}

  put(entry: StoredEntry): void {
    const id = entry.obj.id;
    const old = this.entries.get(id);
    this.entries.set(id, entry);
    // Most updates (task status) leave every indexed field as it was: nothing to re-index.
    if (old !== undefined && sameIndexedFields(this.kind, old.obj, entry.obj)) return;
    const next = indexKeys(this.kind, entry.obj);
    if (old === undefined) {
      for (const k of next) this.add(k, id);
      return;
    }
    // Touch only the keys that changed: re-adding to large buckets (all RUNNING tasks) is costly.
    const prev = indexKeys(this.kind, old.obj);
    const inNext = keyTest(next);
    const inPrev = keyTest(prev);
    for (const k of prev) if (!inNext(k)) this.drop(k, id);
    for (const k of next) if (!inPrev(k)) this.add(k, id);
  }

  remove(id: string): void {
    const old = this.entries.get(id);
    if (old === undefined) return;
    for (const k of indexKeys(this.kind, old.obj)) this.drop(k, id);
    this.entries.delete(id);
  }

  ids(key: IndexKey): readonly string[] {
    const b = this.index.get(key[0])?.get(key[1]);
    if (b === undefined) return [];
    return typeof b === "string" ? [b] : [...b];
  }

  private add([name, key]: IndexKey, id: string): void {
    let byKey = this.index.get(name);
    if (byKey === undefined) this.index.set(name, (byKey = new Map()));
    const b = byKey.get(key);
    if (b === undefined) byKey.set(key, id);
    else if (typeof b === "string") {
      if (b !== id) byKey.set(key, new Set([b, id]));
    } else b.add(id);
  }

  private drop([name, key]: IndexKey, id: string): void {
    const byKey = this.index.get(name);
    const b = byKey?.get(key);
    if (b === undefined) return;
    if (typeof b === "string") {
      if (b === id) byKey!.delete(key);
      return;
    }
    b.delete(id);
    if (b.size === 1) byKey!.set(key, b.values().next().value!);
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
      return table.ids(sel.index).map((id) => table.entries.get(id)!);
    }
    const out: StoredEntry[] = [];
    for (const [id, e] of table.entries) if (sel.match(id, e.obj)) out.push(e);
    return out;
  }

  count(kind: Kind): number {
    return this.table(kind).entries.size;
  }
}

/**
 * A layer holding at least this many changes of a kind answers indexed finds from an index of its
 * own: a batch's layer holds up to maxBatchActions (500) tasks, and scanning them on every find
 * made a scheduler or orchestrator pass quadratic.
 */
const LAYER_INDEX_MIN = 32;

/** An overlay's own secondary index: built on first use, then kept current by Layer.set. */
class LayerIndex {
  private readonly byKey = new Map<string, Set<string>>();
  private readonly keysOf = new Map<string, string[]>();

  constructor(
    private readonly kind: Kind,
    byId: Map<string, StoredEntry | null>,
  ) {
    for (const [id, e] of byId) this.set(id, e);
  }

  set(id: string, entry: StoredEntry | null): void {
    const old = this.keysOf.get(id);
    const next = entry === null ? [] : indexKeys(this.kind, entry.obj).map(keyString);
    if (old !== undefined) for (const k of old) if (!next.includes(k)) this.byKey.get(k)?.delete(id);
    for (const k of next) {
      let ids = this.byKey.get(k);
      if (ids === undefined) this.byKey.set(k, (ids = new Set()));
      ids.add(id);
    }
    this.keysOf.set(id, next);
  }

  ids(key: IndexKey): Iterable<string> {
    return this.byKey.get(keyString(key)) ?? [];
  }
}

/** Uncommitted changes over a Reader: null marks a deletion. */
export class Layer implements Reader {
  readonly changes = new Map<Kind, Map<string, StoredEntry | null>>();
  private readonly indexes = new Map<Kind, LayerIndex>();

  constructor(private lower: Reader) {}

  set(kind: Kind, id: string, entry: StoredEntry | null): void {
    let byId = this.changes.get(kind);
    if (byId === undefined) this.changes.set(kind, (byId = new Map()));
    byId.set(id, entry);
    this.indexes.get(kind)?.set(id, entry);
  }

  /** Reads what is not changed here from `lower` from now on (a stack of layers losing one). */
  rebase(lower: Reader): void {
    this.lower = lower;
  }

  /**
   * Gives every object changed here the version `index` (its writer's entry was appended there):
   * as it will be once applied. The index keys do not change, so neither does this layer's index.
   */
  setVersions(index: number): void {
    for (const byId of this.changes.values()) {
      for (const [id, e] of byId) if (e !== null) byId.set(id, withVersionIndex(e, index));
    }
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
    if (sel.index !== undefined && byId.size >= LAYER_INDEX_MIN) {
      let index = this.indexes.get(kind);
      if (index === undefined) this.indexes.set(kind, (index = new LayerIndex(kind, byId)));
      for (const id of index.ids(sel.index)) {
        const e = byId.get(id);
        if (e != null) out.push(e);
      }
      return out;
    }
    for (const [id, e] of byId) if (e !== null && sel.match(id, e.obj)) out.push(e);
    return out;
  }

  /** Moves this layer's changes into `target` (a batch absorbing a finished transaction). */
  mergeInto(target: Layer): void {
    for (const [kind, byId] of this.changes) for (const [id, e] of byId) target.set(kind, id, e);
  }
}
