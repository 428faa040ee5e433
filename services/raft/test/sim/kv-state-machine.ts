// The replicated state machine of the simulation: a string map fed by committed entries. Besides
// the data it keeps `chain`, a running digest of every entry applied so far (index, term, type,
// payload), so two members can be compared by one value and a snapshot carries the lineage of the
// state it holds.

import { type Entry, EntryType } from "../../src/index.js";

export interface KvCommand {
  /** The client operation that proposed it; unique per run (puts are never deduplicated). */
  op: number;
  key: string;
  value: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return encoder.encode(`${c.op}\u0000${c.key}\u0000${c.value}`);
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const [op, key, value] = decoder.decode(data).split("\u0000");
  if (op === undefined || key === undefined || value === undefined) throw new Error("malformed kv command");
  return { op: Number(op), key, value };
}

/** A readable, comparable form of an entry's identity and payload. */
export function entryContent(e: Entry): string {
  return e.data.length === 0 ? `${e.type}:` : `${e.type}:${decoder.decode(e.data)}`;
}

export class KvStateMachine {
  readonly data = new Map<string, string>();
  applied = 0;
  chain = "0";

  /** Applies the next committed entry; returns the command for a normal, non-empty entry. */
  apply(e: Entry): KvCommand | undefined {
    this.applied = e.index;
    this.chain = chainHash(this.chain, e);
    if (e.type !== EntryType.Normal || e.data.length === 0) return undefined;
    const cmd = decodeCommand(e.data);
    this.data.set(cmd.key, cmd.value);
    return cmd;
  }

  get(key: string): string {
    return this.data.get(key) ?? "";
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({ applied: this.applied, chain: this.chain, data: [...this.data] }));
  }

  static restore(bytes: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (bytes.length === 0) return sm;
    const o = JSON.parse(decoder.decode(bytes)) as { applied: number; chain: string; data: [string, string][] };
    sm.applied = o.applied;
    sm.chain = o.chain;
    for (const [k, v] of o.data) sm.data.set(k, v);
    return sm;
  }
}

/** FNV-1a over the previous digest and the entry: two 32-bit lanes so collisions stay negligible. */
export function chainHash(prev: string, e: Entry): string {
  const s = `${prev}|${e.index}|${e.term}|${entryContent(e)}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    h2 ^= h2 >>> 15;
  }
  return h1.toString(36) + h2.toString(36);
}
