// Conversion between the core's Message (plain objects) and the wire's raftpb.Message.
//
// Owns: field mapping and defaults only. Snapshot data never travels inside a Message on the
// wire (it goes in SnapshotChunk frames), so encode strips it and the receiver puts it back.
import { raftpb } from "@shoal/proto";
import type { ConfState, Entry, Message, Snapshot } from "../core/types.js";

const EMPTY = new Uint8Array(0);

/**
 * A decoded uint64. Present fields decode as numbers, but absent ones read protobufjs' prototype
 * default, which is a Long when the generated code loaded before Long was disabled.
 */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === null || v === undefined) return 0;
  const long = v as { toNumber?: () => number };
  return typeof long.toNumber === "function" ? long.toNumber() : Number(v);
}

/**
 * The core's Message already has the wire's field names and types, so a message without a
 * snapshot is handed to protobufjs as is (no per-entry copies on the hot path).
 */
export function encodeMessage(m: Message): raftpb.IMessage {
  if (m.snapshot === undefined) return m as raftpb.IMessage;
  return { ...m, snapshot: { metadata: m.snapshot.metadata, data: EMPTY } } as raftpb.IMessage;
}

/**
 * Decoded protobufjs objects keep defaults on their prototypes; the core may spread messages, so
 * every field is copied onto a plain object. An empty context decodes as undefined.
 */
export function decodeMessage(p: raftpb.IMessage): Message {
  const entries: Entry[] = [];
  if (p.entries) {
    for (const e of p.entries) {
      entries.push({ term: num(e.term), index: num(e.index), type: e.type ?? 0, data: e.data ?? EMPTY });
    }
  }
  const m: Message = {
    type: p.type ?? 0,
    to: num(p.to),
    from: num(p.from),
    term: num(p.term),
    logTerm: num(p.logTerm),
    index: num(p.index),
    entries,
    commit: num(p.commit),
    reject: p.reject ?? false,
    rejectHint: num(p.rejectHint),
  };
  if (p.snapshot) m.snapshot = decodeSnapshot(p.snapshot);
  if (p.context && p.context.length > 0) m.context = p.context;
  return m;
}

function decodeSnapshot(s: NonNullable<raftpb.IMessage["snapshot"]>): Snapshot {
  const md = s.metadata;
  const cs = md?.confState;
  const confState: ConfState = {
    voters: cs?.voters ? cs.voters.map(num) : [],
    learners: cs?.learners ? cs.learners.map(num) : [],
    removed: cs?.removed ? cs.removed.map(num) : [],
  };
  return { metadata: { index: num(md?.index), term: num(md?.term), confState }, data: s.data ?? EMPTY };
}
