// Compact, stable text for the core's outputs, so that golden traces read like the paper:
// "1->2 MsgApp Term:1 Log:1/3 Commit:3 Entries:[1/4 EntryNormal "x"]".

import { type ConfState, type Entry, type HardState, type Message, type Ready, type Snapshot, ConfChangeType, EntryType, MessageType, decodeConfChange } from "../../src/index.js";

const dec = new TextDecoder();

export function renderConfChange(data: Uint8Array): string {
  const cc = decodeConfChange(data);
  const letter = cc.type === ConfChangeType.AddVoter ? "v" : cc.type === ConfChangeType.AddLearner ? "l" : "r";
  return `${letter}${cc.nodeId}`;
}

export function renderEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) return `${e.term}/${e.index} EntryConfChange ${renderConfChange(e.data)}`;
  return `${e.term}/${e.index} EntryNormal ${JSON.stringify(dec.decode(e.data))}`;
}

export function renderIds(ids: readonly number[]): string {
  return `(${[...ids].sort((a, b) => a - b).join(",")})`;
}

export function renderConfState(cs: ConfState): string {
  let s = `Voters:${renderIds(cs.voters)}`;
  if (cs.learners.length > 0) s += ` Learners:${renderIds(cs.learners)}`;
  if (cs.removed.length > 0) s += ` Removed:${renderIds(cs.removed)}`;
  return s;
}

export function renderSnapshot(s: Snapshot): string {
  return `Index:${s.metadata.index} Term:${s.metadata.term} ${renderConfState(s.metadata.confState)}`;
}

export function renderHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function renderMessage(m: Message): string {
  let s = `${m.from}->${m.to} Msg${MessageType[m.type]} Term:${m.term}`;
  switch (m.type) {
    case MessageType.App:
      s += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`;
      if (m.entries.length > 0) s += ` Entries:[${m.entries.map(renderEntry).join(", ")}]`;
      break;
    case MessageType.AppResp:
      s += ` Log:${m.logTerm}/${m.index}`;
      if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      s += ` Log:${m.logTerm}/${m.index}`;
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      if (m.reject) s += " Rejected";
      break;
    case MessageType.Heartbeat:
      s += ` Commit:${m.commit}`;
      break;
    case MessageType.Snap:
      if (m.snapshot !== undefined) s += ` Snapshot: ${renderSnapshot(m.snapshot)}`;
      break;
    case MessageType.Prop:
      s += ` Entries:[${m.entries.map(renderEntry).join(", ")}]`;
      break;
    case MessageType.ReadIndexResp:
      s += ` Index:${m.index}`;
      break;
    default:
      break;
  }
  if (m.context !== undefined && m.context.length > 0) s += ` Context:${renderBytes(m.context)}`;
  return s;
}

/** Printable text in quotes; anything else (the core's own binary contexts) as hex. */
export function renderBytes(b: Uint8Array): string {
  if (b.every((x) => x >= 0x20 && x < 0x7f)) return JSON.stringify(dec.decode(b));
  return `0x${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/** The Ready as indented lines; empty sections are left out. */
export function renderReady(rd: Ready): string[] {
  const out: string[] = [];
  if (rd.softState !== undefined) out.push(`Lead:${rd.softState.lead} State:${rd.softState.state}`);
  if (rd.hardState !== undefined) out.push(`HardState ${renderHardState(rd.hardState)}`);
  if (rd.snapshot !== undefined) out.push(`Snapshot ${renderSnapshot(rd.snapshot)}`);
  if (rd.entries.length > 0) out.push("Entries:", ...rd.entries.map((e) => `  ${renderEntry(e)}`));
  if (rd.committedEntries.length > 0) out.push("CommittedEntries:", ...rd.committedEntries.map((e) => `  ${renderEntry(e)}`));
  if (rd.messages.length > 0) out.push("Messages:", ...rd.messages.map((m) => `  ${renderMessage(m)}`));
  if (rd.readStates.length > 0) {
    out.push("ReadStates:", ...rd.readStates.map((r) => `  Index:${r.index} Context:${renderBytes(r.requestCtx)}`));
  }
  return out;
}
