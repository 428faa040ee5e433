// The driver-facing API of the Raft core (docs/CONTRACTS-raft.md): tick, step, propose, and the
// ready/advance handshake that hands out what to persist, send and apply. It owns the bookkeeping
// of what the previous Ready already reported; the algorithm itself lives in raft.ts.

import { encodeConfChange } from "./conf-change.js";
import { RaftError } from "./errors.js";
import { Raft } from "./raft.js";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ProgressStatus,
  type RaftConfig,
  type RaftStatus,
  type Ready,
  type SoftState,
  EntryType,
  MessageType,
  StateType,
} from "./types.js";
import { isLocalMessage, makeMessage } from "./util.js";

export class RawNode {
  private readonly raft: Raft;
  /** What the last Ready reported (or the initial state): a Ready carries only changes. */
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readonly maxApplyBytes: number;

  constructor(cfg: RaftConfig) {
    this.raft = new Raft(cfg);
    this.prevSoftState = { lead: this.raft.lead, state: this.raft.state };
    this.prevHardState = this.raft.hardState();
    this.maxApplyBytes = Infinity;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with a pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  /**
   * Appends data to the leader's log and says where. With `term`, only as the leader of that term:
   * a caller that staged over entries it appended in that term (the store's pipeline) must not
   * build on a log a later term may have rewritten.
   */
  propose(data: Uint8Array, term?: number): { index: number; term: number } {
    this.requireLeader();
    if (term !== undefined && this.raft.term !== term) {
      throw new RaftError("RAFT_NOT_LEADER", `member ${this.raft.id} leads term ${this.raft.term}, not term ${term}`, { leader: this.raft.lead, term: this.raft.term }, true);
    }
    this.raft.step(
      makeMessage({ type: MessageType.Prop, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }),
    );
    return { index: this.raft.raftLog.lastIndex(), term: this.raft.term };
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.requireLeader();
    if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", `conf change needs a positive node id, got ${cc.nodeId}`);
    }
    const data = encodeConfChange(cc);
    this.raft.step(
      makeMessage({ type: MessageType.Prop, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }] }),
    );
    return { index: this.raft.raftLog.lastIndex(), term: this.raft.term };
  }

  private requireLeader(): void {
    if (this.raft.state !== StateType.Leader) {
      throw new RaftError("RAFT_NOT_LEADER", `member ${this.raft.id} is not the leader`, { leader: this.raft.lead }, true);
    }
  }

  /** A message from a peer. Local message types are refused: they are driven through the API. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) {
      throw new RaftError("RAFT_STEP_LOCAL_MSG", `message type ${MessageType[m.type]} is local and cannot come from a peer`, { type: m.type });
    }
    this.raft.step(m);
  }

  /**
   * A leader's heartbeats waiting in the outbox, taken out so the driver can send them while a
   * Ready is still in flight (a slow synced write must not silence the leader). Safe ahead of
   * anything the next Ready persists: a heartbeat carries the term, durable since the campaign,
   * and a commit index no higher than what its follower acknowledged holding.
   */
  takeHeartbeats(): Message[] {
    const r = this.raft;
    if (r.state !== StateType.Leader || r.msgs.length === 0) return [];
    const beats: Message[] = [];
    const rest: Message[] = [];
    for (const m of r.msgs) (m.type === MessageType.Heartbeat ? beats : rest).push(m);
    if (beats.length > 0) r.msgs = rest;
    return beats;
  }

  hasReady(): boolean {
    const r = this.raft;
    if (r.appendsPending && r.state === StateType.Leader) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.lead !== this.prevSoftState.lead || r.state !== this.prevSoftState.state) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.raftLog.unstable.snapshot !== undefined || r.raftLog.unstable.entries.length > 0) return true;
    return r.raftLog.hasNextCommittedEntries();
  }

  ready(): Ready {
    const r = this.raft;
    r.flushAppends();
    const entries = r.raftLog.unstable.entries.slice();
    const hs = r.hardState();
    const rd: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries: r.raftLog.nextCommittedEntries(this.maxApplyBytes),
      messages: r.msgs,
      mustSync: false,
    };
    r.readStates = [];
    r.msgs = [];
    if (rd.committedEntries.length > 0) r.raftLog.applying = rd.committedEntries[rd.committedEntries.length - 1]!.index;
    const ss: SoftState = { lead: r.lead, state: r.state };
    if (ss.lead !== this.prevSoftState.lead || ss.state !== this.prevSoftState.state) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hardChanged = !hardStateEqual(hs, this.prevHardState);
    if (hardChanged) rd.hardState = hs;
    const snap = r.raftLog.unstable.snapshot;
    if (snap !== undefined) rd.snapshot = snap;
    // Term and vote must be durable before any message that depends on them; so must entries.
    rd.mustSync = entries.length > 0 || snap !== undefined || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
    return rd;
  }

  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.hardState !== undefined) this.prevHardState = { ...rd.hardState };
    if (rd.snapshot !== undefined) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      // The driver restored the state machine from it.
      if (rd.snapshot.metadata.index > r.raftLog.applied) r.raftLog.appliedTo(rd.snapshot.metadata.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(last.index, last.term);
      r.selfPersisted(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      r.raftLog.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
      r.reduceUncommittedSize(rd.committedEntries);
    }
  }

  /**
   * Entries committed after index `after`, while this member still leads `term`; otherwise none.
   * It lets the driver apply, while the leader's own synced write is still running, what a quorum
   * already holds (Raft thesis §10.2.1). The leader's match counts only once that write is done,
   * so such a commit was made by followers alone, or covers entries of earlier Readys. Below the
   * commit index a leader's log is final: it never truncates its own log. Nothing is returned if
   * an entry after `after` is already compacted (the caller would skip it) or a snapshot is
   * pending. The next Ready still lists these entries as committed; the caller skips what it
   * has applied.
   */
  committedAfter(after: number, term: number): Entry[] {
    const r = this.raft;
    if (r.state !== StateType.Leader || r.term !== term) return [];
    const log = r.raftLog;
    if (log.committed <= after || log.unstable.snapshot !== undefined || after + 1 < log.firstIndex()) return [];
    return log.slice(after + 1, log.committed + 1, Infinity);
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  transferLeader(to: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.TransferLeader, from: to }));
  }

  readIndex(ctx: Uint8Array): void {
    this.raft.step(makeMessage({ type: MessageType.ReadIndex, from: this.raft.id, context: ctx }));
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.Unreachable, from: id }));
  }

  /** `id`'s raft endpoint refuses connections: if it is our leader, forget it and campaign soon (Raft.leaderDown). */
  reportLeaderDown(id: NodeId): boolean {
    return this.raft.leaderDown(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(makeMessage({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  /** True when `id` was removed from the configuration (removed IDs are never accepted again). */
  isRemoved(id: NodeId): boolean {
    return this.raft.trk.removed.has(id);
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.state === StateType.Leader) for (const [id, pr] of r.trk.progress) progress.set(id, pr.status());
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      lead: r.lead,
      state: r.state,
      leadTransferee: r.leadTransferee,
      confState: r.trk.confState(),
      progress,
    };
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
