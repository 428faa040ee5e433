// Helpers for the paper tests: one RawNode at a time, driven by hand-built Messages, with the
// driver's duties (persist, then hand back) done by `flush`. Only the package's public API is
// used, so these tests hold the core to the contract rather than to its internals.

import type { Random } from "@shoal/common";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type Snapshot,
  EntryType,
  MemoryStorage,
  MessageType,
  RawNode,
  decodeConfChange,
} from "../../src/index.js";

/** Every election timeout is exactly electionTicks: the tests count ticks, not luck. */
export const zeroRandom: Random = { next: () => 0, int: () => 0 };

export interface NodeOptions {
  voters: NodeId[];
  learners?: NodeId[];
  /** Entries already persisted before the node starts (a restarted member). */
  log?: Array<[index: number, term: number]>;
  hardState?: HardState;
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTicks?: number;
  heartbeatTicks?: number;
  random?: Random;
  /** Start from this snapshot instead of the index-0 configuration. */
  snapshot?: Snapshot;
  applied?: number;
}

export interface PaperNode {
  id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  /** Every normal entry the node was told to apply, in order. */
  applied: Entry[];
}

export function entry(index: number, term: number, data = ""): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

export function newNode(id: NodeId, o: NodeOptions): PaperNode {
  const confState: ConfState = { voters: [...o.voters], learners: [...(o.learners ?? [])], removed: [] };
  const storage = new MemoryStorage({ confState });
  if (o.snapshot !== undefined) storage.applySnapshot(o.snapshot);
  if (o.log !== undefined) storage.append(o.log.map(([i, t]) => entry(i, t)));
  if (o.hardState !== undefined) storage.setHardState(o.hardState);
  const raw = new RawNode({
    id,
    storage,
    random: o.random ?? zeroRandom,
    electionTicks: o.electionTicks ?? 10,
    heartbeatTicks: o.heartbeatTicks ?? 1,
    ...(o.preVote === undefined ? {} : { preVote: o.preVote }),
    ...(o.checkQuorum === undefined ? {} : { checkQuorum: o.checkQuorum }),
    ...(o.applied === undefined ? {} : { applied: o.applied }),
  });
  return { id, raw, storage, applied: [] };
}

/**
 * Plays the driver once: persists the Ready (snapshot, entries, hard state), applies committed
 * entries (conf changes through applyConfChange), advances, and returns what the Ready held.
 * Returns an empty Ready when there was nothing to do.
 */
export function flush(n: PaperNode): Ready {
  if (!n.raw.hasReady()) return { readStates: [], entries: [], committedEntries: [], messages: [], mustSync: false };
  const rd = n.raw.ready();
  if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
  n.storage.append(rd.entries);
  if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    if (e.type === EntryType.ConfChange) n.raw.applyConfChange(decodeConfChange(e.data));
    else n.applied.push(e);
  }
  n.raw.advance(rd);
  return rd;
}

/** Flushes until quiet and returns every message sent meanwhile. */
export function drainMessages(n: PaperNode): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < 100 && n.raw.hasReady(); i++) out.push(...flush(n).messages);
  return out;
}

export function msg(fields: Partial<Message> & { type: MessageType; from: NodeId; to: NodeId; term: number }): Message {
  return { logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...fields };
}

/** The persisted log as [index, term] pairs (what a restart would see). */
export function persistedLog(n: PaperNode): Array<[number, number]> {
  const s = n.storage;
  const out: Array<[number, number]> = [];
  for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push([i, s.term(i)]);
  return out;
}

export function tickN(n: PaperNode, k: number): void {
  for (let i = 0; i < k; i++) n.raw.tick();
}

/**
 * Elects `n` by answering its (pre-)vote requests with grants from `grantors`, then flushes, and
 * returns the messages the new leader sent (its first appends).
 */
export function elect(n: PaperNode, grantors: NodeId[]): Message[] {
  n.raw.campaign();
  let sent = drainMessages(n);
  if (sent.some((m) => m.type === MessageType.PreVote)) {
    const term = sent.find((m) => m.type === MessageType.PreVote)!.term;
    for (const g of grantors) n.raw.step(msg({ type: MessageType.PreVoteResp, from: g, to: n.id, term }));
    sent = drainMessages(n);
  }
  const term = n.raw.status().term;
  for (const g of grantors) n.raw.step(msg({ type: MessageType.VoteResp, from: g, to: n.id, term }));
  return drainMessages(n);
}

/** Answers every App in `sent` as a follower whose log now matches (the leader's view moves on). */
export function ackAppends(n: PaperNode, sent: Message[], from: NodeId[]): void {
  for (const m of sent) {
    if (m.type !== MessageType.App || !from.includes(m.to)) continue;
    n.raw.step(msg({ type: MessageType.AppResp, from: m.to, to: n.id, term: m.term, index: m.index + m.entries.length }));
  }
}

export function propose(n: PaperNode, data: string): { index: number; term: number } {
  return n.raw.propose(new TextEncoder().encode(data));
}

export function proposeConf(n: PaperNode, cc: ConfChange): { index: number; term: number } {
  return n.raw.proposeConfChange(cc);
}

export function text(e: Entry): string {
  return new TextDecoder().decode(e.data);
}

export function byType(msgs: Message[], t: MessageType): Message[] {
  return msgs.filter((m) => m.type === t);
}
