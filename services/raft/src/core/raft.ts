// The Raft state machine of one member: roles, terms and votes, elections (with PreVote and
// CheckQuorum), replication and commitment, snapshots, single-step membership, leadership transfer
// and ReadIndex. It consumes Messages and ticks and produces Messages (in `msgs`) and state that
// RawNode packs into Ready. It performs no IO and reads no clock: time is tick().
//
// Each role installs its own step and tick functions (stepLeader / stepCandidate / stepFollower,
// tickHeartbeat / tickElection) instead of one big switch.

import { nextConfState, decodeConfChange } from "./conf-change.js";
import { RaftError } from "./errors.js";
import { Progress } from "./progress.js";
import { RaftLog } from "./raft-log.js";
import { ReadOnly } from "./read-only.js";
import { ProgressTracker, VoteResult } from "./tracker.js";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftLogger,
  type ReadState,
  type Snapshot,
  EntryType,
  MessageType,
  NONE,
  StateType,
} from "./types.js";
import { bytesEqual, makeMessage, payloadSize, voteRespType } from "./util.js";

export const DEFAULTS = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 1,
  maxSizePerMsgBytes: 1024 * 1024,
  maxInflightMsgs: 256,
  maxUncommittedEntriesBytes: 64 * 1024 * 1024,
  preVote: true,
  checkQuorum: true,
});

/** Context of a Vote sent because of a leadership transfer: it bypasses the followers' lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode("CampaignTransfer");

type CampaignKind = "pre-election" | "election" | "transfer";

const silentLogger: RaftLogger = { debug: () => {}, info: () => {}, warn: () => {} };

export class Raft {
  readonly id: NodeId;
  /** Invariant: term never decreases; persisted (HardState) before any message of this term is sent. */
  term = 0;
  /** Who we voted for in `term` (NONE if nobody). Invariant: at most one vote per term. */
  vote: NodeId = NONE;
  /** The leader of `term` as far as we know. */
  lead: NodeId = NONE;
  state: StateType = StateType.Follower;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  /** Outgoing messages; never addressed to self. Drained by RawNode.ready(). */
  msgs: Message[] = [];
  /** Answers to ReadIndex requests, drained by RawNode.ready(). */
  readStates: ReadState[] = [];

  /** Leader: the member leadership is being transferred to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Leader: index of the last conf change appended. Invariant: a new one is refused while > applied. */
  pendingConfIndex = 0;
  /** Leader: payload bytes appended but not yet committed-and-applied (bounded by maxUncommittedBytes). */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Read-index rounds started over this member's life; never reset, so contexts never repeat. */
  private readSeq = 0;
  /** Leader: proposals were appended since the last Ready; their appends are not sent yet. */
  appendsPending = false;
  /** Leader: ReadIndex requests that arrived before an entry of this term was committed. */
  private pendingReadIndexMessages: Message[] = [];

  /** Ticks since the last election timeout reset (follower/candidate) or check-quorum round (leader). */
  electionElapsed = 0;
  /** Leader: ticks since the last heartbeat broadcast. */
  heartbeatElapsed = 0;
  /** Invariant: electionTimeout <= randomizedElectionTimeout < 2*electionTimeout. */
  randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  private readonly cfg: RaftConfig;
  readonly logger: RaftLogger;

  private stepFn: (m: Message) => void = (m) => this.stepFollower(m);
  private tickFn: () => void = () => this.tickElection();

  constructor(cfg: RaftConfig) {
    if (!Number.isSafeInteger(cfg.id) || cfg.id <= 0) throw new RaftError("RAFT_INVALID_ARGUMENT", `raft id must be a positive integer, got ${cfg.id}`);
    this.cfg = cfg;
    this.id = cfg.id;
    this.electionTimeout = cfg.electionTicks ?? DEFAULTS.electionTicks;
    this.heartbeatTimeout = cfg.heartbeatTicks ?? DEFAULTS.heartbeatTicks;
    if (this.heartbeatTimeout <= 0 || this.electionTimeout <= this.heartbeatTimeout) {
      throw new RaftError("RAFT_INVALID_ARGUMENT", "need 0 < heartbeatTicks < electionTicks", {
        heartbeatTicks: this.heartbeatTimeout,
        electionTicks: this.electionTimeout,
      });
    }
    this.checkQuorum = cfg.checkQuorum ?? DEFAULTS.checkQuorum;
    this.preVote = cfg.preVote ?? DEFAULTS.preVote;
    this.maxMsgSize = cfg.maxSizePerMsgBytes ?? DEFAULTS.maxSizePerMsgBytes;
    this.maxUncommittedSize = cfg.maxUncommittedEntriesBytes ?? DEFAULTS.maxUncommittedEntriesBytes;
    this.logger = cfg.logger ?? silentLogger;
    this.trk = new ProgressTracker(cfg.maxInflightMsgs ?? DEFAULTS.maxInflightMsgs);
    this.raftLog = new RaftLog(cfg.storage);

    const { hardState, confState } = cfg.storage.initialState();
    this.trk.setConfState(confState, this.raftLog.lastIndex() + 1);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (cfg.applied !== undefined && cfg.applied > 0) this.raftLog.appliedTo(Math.min(cfg.applied, this.raftLog.committed));
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      { id: this.id, term: this.term, commit: this.raftLog.committed, applied: this.raftLog.applied, lastIndex: this.raftLog.lastIndex() },
      "raft member started",
    );
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new RaftError("RAFT_LOG_CORRUPT", `hard state commit ${hs.commit} is outside [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`, {
        commit: hs.commit,
      });
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Only voters may campaign; learners and removed or not-yet-configured members may not. */
  promotable(): boolean {
    return this.trk.voters.has(this.id);
  }

  // ---- role transitions -------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    const next = this.raftLog.lastIndex() + 1;
    for (const [id, pr] of this.trk.progress) {
      const fresh = new Progress(next, this.trk.maxInflight, pr.isLearner);
      // The leader's own match is what it has on disk; unpersisted entries count once advance() says so.
      if (id === this.id) fresh.match = this.raftLog.lastStableIndex();
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.cfg.random.int(this.electionTimeout);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = (m) => this.stepFollower(m);
    this.tickFn = () => this.tickElection();
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
    this.logger.debug({ id: this.id, term, lead }, "became follower");
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new RaftError("RAFT_INVALID_ARGUMENT", "leader cannot become pre-candidate");
    // No term change and no vote: a pre-election must not disturb anyone (thesis §9.6).
    this.stepFn = (m) => this.stepCandidate(m);
    this.tickFn = () => this.tickElection();
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
    this.logger.debug({ id: this.id, term: this.term }, "became pre-candidate");
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new RaftError("RAFT_INVALID_ARGUMENT", "leader cannot become candidate");
    this.stepFn = (m) => this.stepCandidate(m);
    this.tickFn = () => this.tickElection();
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.logger.debug({ id: this.id, term: this.term }, "became candidate");
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new RaftError("RAFT_INVALID_ARGUMENT", "follower cannot become leader directly");
    this.stepFn = (m) => this.stepLeader(m);
    this.tickFn = () => this.tickHeartbeat();
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    const self = this.trk.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Any entry after our commit may be a conf change we have not applied yet.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry commits everything of earlier terms once it commits (§5.4.2); it is
    // exempt from the uncommitted bound.
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }], true);
    this.logger.info({ id: this.id, term: this.term }, "became leader");
  }

  // ---- ticks --------------------------------------------------------------------------------

  tick(): void {
    this.tickFn();
  }

  /**
   * The driver learned that `id`'s raft endpoint refuses connections (nothing listens at its
   * address: its process is gone). A follower of `id` forgets it as leader, which also ends its
   * lease (it grants pre-votes and votes again), and brings its election timeout forward so that
   * it campaigns within a few ticks instead of up to two election timeouts. The followers that
   * learn it at once would collide, so each waits 1 + 2 x its rank among the other voters (by id)
   * ticks: one campaigns alone, and the next only if the first could not win. Timing is all this
   * changes: a campaign at any moment is safe (safety never depends on timing, §5.6), and a
   * leader that is in fact alive wins the follower back with its next heartbeat. Returns whether
   * anything changed.
   */
  leaderDown(id: NodeId): boolean {
    if (id === NONE || this.state !== StateType.Follower || this.lead !== id) return false;
    const others = [...this.trk.voters].filter((v) => v !== id).sort((a, b) => a - b);
    const rank = others.indexOf(this.id);
    this.lead = NONE;
    if (rank >= 0) this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - (1 + 2 * rank));
    this.logger.debug({ id: this.id, leader: id, term: this.term }, "leader refuses connections: forgot it as leader, campaigning soon");
    return true;
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(makeMessage({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- sending ------------------------------------------------------------------------------

  private send(m: Message): void {
    if (m.to === this.id || m.to === NONE) return; // messages to self are never sent
    if (m.from === NONE) m.from = this.id;
    const isVote = m.type === MessageType.Vote || m.type === MessageType.VoteResp || m.type === MessageType.PreVote || m.type === MessageType.PreVoteResp;
    // Vote traffic carries its term explicitly: a pre-vote speaks for a term we are not in yet.
    if (!isVote && m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) {
      // Proposals and read requests are forwarded as local messages (term 0).
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an append (or a snapshot if the peer needs compacted entries). Returns whether anything was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    if (pr.next < this.raftLog.firstIndex()) return this.sendSnapshot(to, pr);
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    let ents: Entry[];
    try {
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (err: unknown) {
      if (err instanceof RaftError && err.code === "RAFT_COMPACTED") return this.sendSnapshot(to, pr);
      throw err;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(makeMessage({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }));
    pr.sentEntries(ents.length, prevIndex + ents.length);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug({ id: this.id, to }, "not sending snapshot to an inactive member");
      return false;
    }
    const snapshot = this.raftLog.snapshot();
    this.send(makeMessage({ type: MessageType.Snap, to, snapshot }));
    pr.becomeSnapshot(snapshot.metadata.index);
    this.logger.info({ id: this.id, to, index: snapshot.metadata.index }, "sent snapshot");
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to);
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(pr?.match ?? 0, this.raftLog.committed);
    const m = makeMessage({ type: MessageType.Heartbeat, to, commit });
    if (ctx !== undefined) m.context = ctx;
    this.send(m);
  }

  bcastAppend(): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, true);
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined = this.readOnly.lastPendingContext()): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  // ---- appending and committing (leader) -----------------------------------------------------

  /** Appends entries at the end of the leader's log in this term. Throws RAFT_TOO_MANY_UNCOMMITTED. */
  private appendEntries(es: Entry[], exempt = false): void {
    const size = payloadSize(es);
    if (!exempt && this.maxUncommittedSize > 0 && this.uncommittedSize > 0 && this.uncommittedSize + size > this.maxUncommittedSize) {
      throw new RaftError(
        "RAFT_TOO_MANY_UNCOMMITTED",
        `${this.uncommittedSize} uncommitted bytes; ${size} more would pass the bound of ${this.maxUncommittedSize}`,
        { uncommittedBytes: this.uncommittedSize, maxUncommittedBytes: this.maxUncommittedSize },
        true,
      );
    }
    let li = this.raftLog.lastIndex();
    const stamped = es.map((e) => ({ ...e, term: this.term, index: ++li }));
    this.raftLog.append(stamped);
    this.uncommittedSize += size;
    // The leader's own progress moves only when advance() reports these entries persisted.
  }

  /** Recomputes the commit index from the voters' matches; returns whether it moved. */
  maybeCommit(): boolean {
    const moved = this.raftLog.maybeCommit(this.trk.committed(), this.term);
    if (moved) this.releasePendingReadIndexMessages();
    return moved;
  }

  /** Committed entries were handed to the driver: they no longer count as uncommitted. */
  reduceUncommittedSize(ents: Entry[]): void {
    this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadSize(ents));
  }

  /** advance() reports entries up to (index, term) persisted: the leader counts itself for them. */
  selfPersisted(index: number, term: number): void {
    if (this.state !== StateType.Leader) return;
    const pr = this.trk.progress.get(this.id);
    if (pr === undefined || this.raftLog.term(index) !== term) return;
    if (pr.maybeUpdate(index) && this.maybeCommit()) this.bcastAppend();
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  // ---- step ---------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.from !== this.id && this.trk.removed.has(m.from)) {
      this.logger.debug({ id: this.id, from: m.from, type: MessageType[m.type] }, "ignored message from a removed member");
      return;
    }
    if (m.term === 0) {
      // local message, or a forwarded proposal / read request
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        // One tick shorter than the election timeout: ticks of different members are not in phase,
        // so a peer whose randomized timeout is the minimum can fire while our count of ticks
        // since the leader's last heartbeat is still one short; with the full timeout as lease its
        // pre-vote would be ignored and the failover would cost a whole extra election timeout.
        // A live leader heartbeats every tick, so the lease still holds wide of any live leader.
        // A leader itself holds the lease until its quorum check fails (it then steps down): it
        // counts ticks up to that check, and the shortened lease would leave it open to any
        // follower that timed out (its own event loop stalled) in the tick before each check.
        const inLease =
          this.checkQuorum && this.lead !== NONE && (this.state === StateType.Leader || this.electionElapsed < this.electionTimeout - 1);
        if (!force && inLease) {
          // We heard from a leader recently: a disruptive candidate (e.g. one back from a
          // partition) must not depose it (thesis §4.2.3).
          this.logger.debug({ id: this.id, from: m.from, term: m.term }, "ignored vote request within the leader lease");
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; we take it only when we campaign.
      } else {
        const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader cut off by a partition learns our term this way and steps down; with
        // pre-vote it could otherwise never hear of the newer term.
        this.send(makeMessage({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(makeMessage({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? "pre-election" : "election");
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send(makeMessage({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(makeMessage({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.stepFn(m);
    }
  }

  private hup(kind: CampaignKind): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) {
      this.logger.debug({ id: this.id }, "not a voter: not campaigning");
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      // Our configuration may be about to change; campaigning on the old one could be unsafe.
      this.logger.warn({ id: this.id }, "not campaigning: committed conf changes are not applied yet");
      return;
    }
    this.campaign(kind);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.committed <= this.raftLog.applied) return false;
    const ents = this.raftLog.slice(Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex()), this.raftLog.committed + 1, Infinity);
    return ents.some((e) => e.type === EntryType.ConfChange);
  }

  campaign(kind: CampaignKind): void {
    let voteType: MessageType;
    let term: number;
    if (kind === "pre-election") {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign in
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // Alone in the configuration.
      if (kind === "pre-election") this.campaign("election");
      else this.winElection();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      const m = makeMessage({ type: voteType, to: id, term, index: lastIndex, logTerm: lastTerm });
      if (kind === "transfer") m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  private winElection(): void {
    this.becomeLeader();
    this.bcastAppend();
  }

  // ---- follower -----------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) {
          this.dropProposal(m, "no leader");
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) {
          this.logger.info({ id: this.id }, "no leader: dropped leadership transfer request");
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.TimeoutNow:
        // Transfers skip pre-vote: the leader asked for this election.
        this.logger.info({ id: this.id, term: this.term, from: m.from }, "received TimeoutNow: campaigning for a transfer");
        this.hup("transfer");
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) {
          this.logger.info({ id: this.id }, "no leader: dropped read index request");
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array(0) });
        return;
      default:
        return;
    }
  }

  private dropProposal(m: Message, why: string): void {
    if (m.from === this.id || m.from === NONE) {
      throw new RaftError("RAFT_PROPOSAL_DROPPED", `proposal dropped: ${why}`, { leader: this.lead }, true);
    }
    this.logger.debug({ id: this.id, from: m.from, why }, "dropped a forwarded proposal");
  }

  private handleAppendEntries(m: Message): void {
    if (this.trk.isEmpty()) {
      // A joining member without a configuration must not build a log on top of the index-0
      // placeholder: rejecting down to index 0 makes the leader send its snapshot (which carries
      // the configuration) instead.
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: 0 }));
      return;
    }
    if (m.index < this.raftLog.committed) {
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Tell the leader the last index <= m.index whose term is <= m.logTerm: everything after it
    // surely conflicts, so the leader can skip whole terms (thesis §5.3's optimization).
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const [hi, ht] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hi, logTerm: ht }));
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(Math.min(m.commit, this.raftLog.lastIndex()));
    const resp = makeMessage({ type: MessageType.HeartbeatResp, to: m.from });
    if (m.context !== undefined) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.restore(s)) {
      this.logger.info({ id: this.id, index: s.metadata.index, term: s.metadata.term }, "restored snapshot");
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot newer than our commit; returns false when it was ignored. */
  restore(s: Snapshot): boolean {
    const md = s.metadata;
    const cs = md.confState;
    const joining = this.trk.isEmpty() && (cs.voters.length > 0 || cs.learners.length > 0);
    if (!joining) {
      if (md.index <= this.raftLog.committed) return false;
      // The driver is applying committed entries from an earlier Ready. Installing the snapshot
      // now would let an older conf change from those entries be applied on top of the newer
      // configuration; refuse, and the leader sends the snapshot again later.
      if (this.raftLog.isApplying()) return false;
      if (this.raftLog.matchTerm(md.index, md.term)) {
        // We already hold this prefix: just move commit forward, keep our log and configuration.
        this.raftLog.commitTo(md.index);
        return false;
      }
    }
    if (this.state !== StateType.Follower) return false;
    this.raftLog.restore(s);
    this.trk.setConfState(cs, this.raftLog.lastIndex() + 1);
    return true;
  }

  // ---- candidate ----------------------------------------------------------------------------

  private stepCandidate(m: Message): void {
    const myRespType = this.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        this.dropProposal(m, "no leader (election in progress)");
        return;
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp: {
        if (m.type !== myRespType) return;
        const res = this.poll(m.from, !m.reject);
        if (res === VoteResult.Won) {
          if (this.state === StateType.PreCandidate) this.campaign("election");
          else this.winElection();
        } else if (res === VoteResult.Lost) {
          // A pre-vote loss keeps our term (the response's term may be newer only if rejected and
          // handled above); a vote loss stays in this term as a follower.
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  // ---- leader -------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive()) {
          this.logger.warn({ id: this.id, term: this.term }, "stepped down: no quorum heard from within an election timeout");
          this.becomeFollower(this.term, NONE);
          return;
        }
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case MessageType.Prop:
        try {
          this.leaderPropose(m);
        } catch (err: unknown) {
          // The local caller gets the error; a member that forwarded a proposal does not wait for
          // an answer (its driver times out), so its refusal is only logged.
          if (m.from === this.id || m.from === NONE || !(err instanceof RaftError)) throw err;
          this.logger.info({ id: this.id, from: m.from, code: err.code }, "refused a forwarded proposal");
        }
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m);
        return;
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) {
      this.logger.debug({ id: this.id, from: m.from }, "message from an unknown member");
      return;
    }
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResp:
        this.handleHeartbeatResponse(m, pr);
        return;
      case MessageType.SnapStatus:
        if (pr.state !== "snapshot") return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat answer) before probing.
        pr.probeSent = true;
        return;
      case MessageType.Unreachable:
        // Optimistic pipelining to an unreachable peer only loses messages: probe instead.
        if (pr.state === "replicate") pr.becomeProbe();
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m.from, pr);
        return;
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    if (m.entries.length === 0) throw new RaftError("RAFT_INVALID_ARGUMENT", "empty proposal");
    if (!this.trk.progress.has(this.id)) {
      this.dropProposal(m, "this member was removed from the configuration");
      return;
    }
    if (this.leadTransferee !== NONE) {
      this.dropProposal(m, `leadership transfer to ${this.leadTransferee} in progress`);
      return;
    }
    let confIndex = 0;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      const refusal = this.confChangeRefusal(decodeConfChange(e.data), confIndex !== 0);
      if (refusal !== undefined) throw refusal;
      confIndex = this.raftLog.lastIndex() + 1 + i;
    }
    this.appendEntries(m.entries);
    if (confIndex !== 0) this.pendingConfIndex = confIndex;
    // Appends go out when the driver next asks for a Ready, so a burst of proposals leaves in
    // one message per follower instead of one per proposal.
    this.appendsPending = true;
  }

  /** Sends the appends deferred by proposals (called by RawNode before building a Ready). */
  flushAppends(): void {
    if (!this.appendsPending) return;
    this.appendsPending = false;
    if (this.state !== StateType.Leader) return;
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  /** Why cc may not be proposed now, or undefined if it may. */
  confChangeRefusal(cc: ConfChange, anotherInBatch = false): RaftError | undefined {
    if (anotherInBatch || this.pendingConfIndex > this.raftLog.applied) {
      return new RaftError(
        "RAFT_CONF_CHANGE_PENDING",
        `a conf change (index ${this.pendingConfIndex}) is not applied yet (applied ${this.raftLog.applied})`,
        { pendingConfIndex: this.pendingConfIndex, applied: this.raftLog.applied },
        true,
      );
    }
    if (this.trk.removed.has(cc.nodeId)) {
      return new RaftError("RAFT_MEMBER_REMOVED", `member ${cc.nodeId} was removed; its ID is never reused`, { nodeId: cc.nodeId });
    }
    const next = nextConfState(this.trk.confState(), cc);
    if (next.voters.length === 0) {
      return new RaftError("RAFT_INVALID_ARGUMENT", `removing the last voter ${cc.nodeId} would leave no quorum`, { nodeId: cc.nodeId });
    }
    return undefined;
  }

  private leaderReadIndex(m: Message): void {
    if (!this.committedEntryInCurrentTerm()) {
      // Until an entry of this term commits, our commit index may lag the true one (§6.4).
      this.pendingReadIndexMessages.push(m);
      return;
    }
    if (this.trk.voters.size === 1 && this.trk.voters.has(this.id)) {
      this.answerReadIndex(m, this.raftLog.committed);
      return;
    }
    // Heartbeats carry a context of our own, not the caller's: two members' drivers may well use
    // the same request context, and a collision must never confirm the wrong request.
    const ctx = this.nextReadContext();
    this.readOnly.addRequest(this.raftLog.committed, m, ctx);
    const acks = this.readOnly.recvAck(this.id, ctx);
    if (acks !== undefined && this.trk.voteResult((id) => (acks.has(id) ? true : undefined)) === VoteResult.Won) {
      for (const rs of this.readOnly.advance(ctx)) this.answerReadIndex(rs.req, rs.index);
      return;
    }
    this.bcastHeartbeat(ctx);
  }

  private nextReadContext(): Uint8Array {
    this.readSeq++;
    const b = new Uint8Array(9);
    b[0] = 0x72; // 'r': marks a read-index round
    new DataView(b.buffer).setFloat64(1, this.readSeq);
    return b;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.leaderReadIndex(m);
  }

  private answerReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context ?? new Uint8Array(0) });
      return;
    }
    const resp = makeMessage({ type: MessageType.ReadIndexResp, to: req.from, index });
    if (req.context !== undefined) resp.context = req.context;
    this.send(resp);
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      if (m.index === 0 && m.rejectHint === 0) {
        // Only a member without a configuration rejects index 0: it needs our snapshot.
        if (pr.state !== "snapshot") {
          pr.becomeProbe();
          this.sendSnapshot(m.from, pr);
        }
        return;
      }
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    const updated = pr.maybeUpdate(m.index);
    if (pr.state === "snapshot" && m.index >= pr.pendingSnapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The snapshot landed (possibly the index-0 one a joiner needs, which moves no match):
      // ordinary appends continue from match.
      pr.becomeProbe();
      pr.becomeReplicate();
      this.maybeSendAppend(m.from, false);
    }
    if (updated) {
      if (pr.state === "probe") pr.becomeReplicate();
      else if (pr.state === "replicate") pr.inflights.freeLE(m.index);

      if (this.maybeCommit()) this.bcastAppend();
      else if (wasPaused) this.maybeSendAppend(m.from, true);
      // Fill the window with whatever else is waiting.
      while (this.maybeSendAppend(m.from, false)) {
        /* keep sending */
      }
      if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
        this.logger.info({ id: this.id, to: m.from }, "transferee caught up: sending TimeoutNow");
        this.sendTimeoutNow(m.from);
      }
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    // If appends in the window were lost, the window stays full forever: let one more through,
    // whose rejection (or acceptance) resynchronizes the progress.
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.raftLog.lastIndex()) this.maybeSendAppend(m.from, true);
    if (m.context === undefined || m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined) return;
    if (this.trk.voteResult((id) => (acks.has(id) ? true : undefined)) !== VoteResult.Won) return;
    for (const rs of this.readOnly.advance(m.context)) this.answerReadIndex(rs.req, rs.index);
  }

  private handleTransferLeader(transferee: NodeId, pr: Progress): void {
    if (pr.isLearner) {
      this.logger.info({ id: this.id, transferee }, "ignored transfer to a learner");
      return;
    }
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within an election timeout (tickHeartbeat aborts it otherwise).
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    this.logger.info({ id: this.id, term: this.term, transferee }, "starting leadership transfer");
    if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
    else this.maybeSendAppend(transferee, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(makeMessage({ type: MessageType.TimeoutNow, to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- membership ---------------------------------------------------------------------------

  /** Applies a committed conf change to the configuration and progress; returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState {
    const before = this.trk.confState();
    const after = nextConfState(before, cc);
    if (after.voters.length === 0 && before.voters.length > 0) {
      // Refused at proposal time; a committed one would leave no quorum, so it is ignored.
      this.logger.warn({ id: this.id, nodeId: cc.nodeId }, "ignored conf change that would remove the last voter");
      return before;
    }
    const next = this.raftLog.lastIndex() + 1;
    const progress = new Map<NodeId, Progress>();
    for (const id of after.voters) progress.set(id, this.trk.progress.get(id) ?? new Progress(next, this.trk.maxInflight, false));
    for (const id of after.learners) progress.set(id, this.trk.progress.get(id) ?? new Progress(next, this.trk.maxInflight, true));
    for (const id of after.voters) progress.get(id)!.isLearner = false;
    for (const id of after.learners) progress.get(id)!.isLearner = true;
    this.trk.voters = new Set(after.voters);
    this.trk.learners = new Set(after.learners);
    this.trk.removed = new Set(after.removed);
    this.trk.progress = progress;
    this.logger.info({ id: this.id, change: cc, confState: after }, "applied conf change");

    if (this.state !== StateType.Leader) return after;
    if (!this.trk.voters.has(this.id)) {
      // Removed or demoted: tell the others how far we committed, then step down; we no longer
      // count toward any quorum and must not keep leading.
      this.bcastAppend();
      this.becomeFollower(this.term, NONE);
      this.logger.info({ id: this.id, term: this.term }, "stepped down: no longer a voter");
      return after;
    }
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.trk.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    return after;
  }

}
