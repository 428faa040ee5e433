// The in-memory key-value state machine of the Raft test harness: what committed Put entries are
// applied to, and the binary snapshot of the whole map.
//
// Owns: the entry encoding of a Put, the map, and the revision counter. The revision of the store is
// the Raft index of the last applied entry (etcd's revision is its own counter; ours uses the index
// so that a Put's revision is exactly the index the proposal committed at). Must not do IO.
import type { Entry, StateMachine } from "@shoal/raft";

export interface KvRecord {
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
}

/** A Put entry: u32 BE key length | key | value. */
export function encodePut(key: Uint8Array, value: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + key.length + value.length);
  out.writeUInt32BE(key.length, 0);
  out.set(key, 4);
  out.set(value, 4 + key.length);
  return out;
}

export function decodePut(data: Uint8Array): { key: Uint8Array; value: Uint8Array } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 4) throw new Error(`put entry of ${b.length} bytes is too short`);
  const klen = b.readUInt32BE(0);
  if (4 + klen > b.length) throw new Error(`put entry key length ${klen} runs past ${b.length} bytes`);
  return { key: b.subarray(4, 4 + klen), value: b.subarray(4 + klen) };
}

const SNAPSHOT_MAGIC = 0x4b563031; // "KV01"

export class KvStateMachine implements StateMachine {
  // Keys as latin1 strings: a lossless byte-to-string mapping, cheaper than hex or base64.
  private readonly data = new Map<string, KvRecord>();
  private rev = 0;

  /** The index of the last applied entry (0 before any). */
  get revision(): number {
    return this.rev;
  }

  get size(): number {
    return this.data.size;
  }

  apply(entry: Entry): void {
    const { key, value } = decodePut(entry.data);
    const k = Buffer.from(key).toString("latin1");
    const prev = this.data.get(k);
    // Copy the value: the entry's buffer may be a view into a larger frame kept alive otherwise.
    this.data.set(k, {
      value: Uint8Array.prototype.slice.call(value),
      createRevision: prev?.createRevision ?? entry.index,
      modRevision: entry.index,
      version: (prev?.version ?? 0) + 1,
    });
    this.rev = entry.index;
  }

  get(key: Uint8Array): KvRecord | undefined {
    return this.data.get(Buffer.from(key).toString("latin1"));
  }

  /** Keys in [key, rangeEnd) in byte order; rangeEnd "\0" means every key >= key (etcd's rule). */
  range(key: Uint8Array, rangeEnd: Uint8Array, limit: number): { key: Uint8Array; rec: KvRecord }[] {
    if (rangeEnd.length === 0) {
      const rec = this.get(key);
      return rec === undefined ? [] : [{ key, rec }];
    }
    const lo = Buffer.from(key).toString("latin1");
    const all = rangeEnd.length === 1 && rangeEnd[0] === 0;
    const hi = Buffer.from(rangeEnd).toString("latin1");
    const out: { key: Uint8Array; rec: KvRecord }[] = [];
    // latin1 strings compare code unit by code unit, which is byte order.
    for (const k of [...this.data.keys()].sort()) {
      if (k < lo || (!all && k >= hi)) continue;
      out.push({ key: Buffer.from(k, "latin1"), rec: this.data.get(k)! });
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /** "KV01" | f64 revision | u32 count | per key: u32 klen, key, u32 vlen, value, f64 create, f64 mod, f64 version. */
  snapshot(): Uint8Array {
    let size = 16;
    for (const [k, r] of this.data) size += 4 + k.length + 4 + r.value.length + 24;
    const b = Buffer.allocUnsafe(size);
    let o = b.writeUInt32BE(SNAPSHOT_MAGIC, 0);
    o = b.writeDoubleBE(this.rev, o);
    o = b.writeUInt32BE(this.data.size, o);
    for (const [k, r] of this.data) {
      o = b.writeUInt32BE(k.length, o);
      o += b.write(k, o, "latin1");
      o = b.writeUInt32BE(r.value.length, o);
      b.set(r.value, o);
      o += r.value.length;
      o = b.writeDoubleBE(r.createRevision, o);
      o = b.writeDoubleBE(r.modRevision, o);
      o = b.writeDoubleBE(r.version, o);
    }
    return b;
  }

  restore(data: Uint8Array): void {
    this.data.clear();
    this.rev = 0;
    // The bootstrap snapshot of a new cluster carries no data.
    if (data.length === 0) return;
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (b.length < 16 || b.readUInt32BE(0) !== SNAPSHOT_MAGIC) throw new Error("kv snapshot: bad magic");
    let o = 4;
    this.rev = b.readDoubleBE(o);
    o += 8;
    const n = b.readUInt32BE(o);
    o += 4;
    for (let i = 0; i < n; i++) {
      const klen = b.readUInt32BE(o);
      o += 4;
      const k = b.toString("latin1", o, o + klen);
      o += klen;
      const vlen = b.readUInt32BE(o);
      o += 4;
      const value = Uint8Array.prototype.slice.call(b, o, o + vlen);
      o += vlen;
      const createRevision = b.readDoubleBE(o);
      const modRevision = b.readDoubleBE(o + 8);
      const version = b.readDoubleBE(o + 16);
      o += 24;
      this.data.set(k, { value, createRevision, modRevision, version });
    }
    if (o !== b.length) throw new Error(`kv snapshot: ${b.length - o} trailing bytes`);
  }
}
