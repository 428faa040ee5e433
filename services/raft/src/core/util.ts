// Small helpers shared by the core: entry sizes, size-limited slices, message construction.
// No state lives here.

import { type Entry, type Message, MessageType, NONE, type ConfState } from "./types.js";

/** Bytes an entry counts for size limits: its payload plus a fixed overhead for index/term/type. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

/** Bytes an entry counts against the uncommitted bound: payload only, so empty entries are free. */
export function payloadSize(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.length;
  return n;
}

/** The longest prefix of `ents` within `maxSizeBytes`, but always at least one entry if any. */
export function limitSize(ents: Entry[], maxSizeBytes: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSizeBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/** A message with every field defaulted; callers set what matters. */
export function makeMessage(fields: Partial<Message> & { type: MessageType }): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

/** Messages that never leave the node: they drive the state machine from tick() and the API. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus ||
    t === MessageType.CheckQuorum
  );
}

/** The response type that answers a vote request type. */
export function voteRespType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], removed: [] };
}

export function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners], removed: [...cs.removed] };
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A map key for an opaque context (ReadIndex requests are matched by their bytes). */
export function bytesKey(b: Uint8Array | undefined): string {
  if (b === undefined) return "";
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
