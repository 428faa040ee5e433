// The safety properties of Raft (Figure 3 of the paper, plus what our driver contract adds), checked
// from observations the simulator feeds in as they happen. The checker owns no cluster: it keeps
// a global record across all time (who led which term, which entry exists at which index and term,
// what was committed and applied) and throws InvariantViolation, naming the invariant, the moment
// an observation contradicts it.

import { type Entry, type HardState, type Message, type NodeId, MessageType } from "../../src/index.js";
import { entryContent } from "./kv-state-machine.js";

export type InvariantName =
  | "election safety"
  | "log matching"
  | "leader completeness"
  | "state-machine safety"
  | "commit monotonicity"
  | "applied <= committed"
  | "term monotonicity"
  | "durability (mustSync)"
  | "configuration agreement"
  | "convergence"
  | "linearizability"
  | "core error";

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = "InvariantViolation";
  }
}

/** A member's log as the driver sees it: persisted entries plus the Ready in flight. */
export interface LogView {
  /** Term at index i, undefined when the index is past the end or compacted away. */
  term(i: number): number | undefined;
  /** Entries up to here were compacted into the snapshot. */
  snapshotIndex: number;
  lastIndex: number;
}

export interface StatusObservation {
  term: number;
  commit: number;
  applied: number;
  isLeader: boolean;
}

interface EntryRecord {
  prevTerm: number | undefined;
  content: string;
  firstSeenBy: NodeId;
}

interface MemberRecord {
  term: number;
  commit: number;
  lastHardState: HardState | undefined;
  /** Highest term of a message the member sent (other than pre-votes, which carry a future term). */
  sentTerm: number;
  /** The last vote the member granted, which its disk must remember. */
  lastGrant: { term: number; to: NodeId } | undefined;
}

export class SafetyChecker {
  /** Every leader ever seen, by term: at most one per term, across all time. */
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Every entry ever seen in any log or message, by "index:term". */
  private readonly entries = new Map<string, EntryRecord>();
  /** committedTerm[i]: term of the entry known committed at index i (-1: committed, term not seen). */
  private readonly committedTerm: number[] = [0];
  /** appliedChain.get(i): digest of the state machine after applying index i, on whichever member did it first. */
  private readonly appliedChain = new Map<number, string>([[0, "0"]]);
  private readonly members = new Map<NodeId, MemberRecord>();
  /** confAt.get(i): the configuration in force after applying index i, as the first member reported it. */
  private readonly confAt = new Map<number, { conf: string; by: NodeId }>();

  get maxCommitted(): number {
    return this.committedTerm.length - 1;
  }

  leaderFor(term: number): NodeId | undefined {
    return this.leaderOfTerm.get(term);
  }

  private member(id: NodeId): MemberRecord {
    let m = this.members.get(id);
    if (m === undefined) {
      m = { term: 0, commit: 0, lastHardState: undefined, sentTerm: 0, lastGrant: undefined };
      this.members.set(id, m);
    }
    return m;
  }

  committedTermAt(index: number): number | undefined {
    const t = this.committedTerm[index];
    return t === undefined || t === -1 ? undefined : t;
  }

  /** A message leaves a member: what it says about the member's term and vote must survive a crash. */
  observeSent(id: NodeId, msg: Message): void {
    if (msg.type === MessageType.PreVote || msg.type === MessageType.PreVoteResp) return;
    const m = this.member(id);
    if (msg.term > m.sentTerm) m.sentTerm = msg.term;
    if (msg.type === MessageType.VoteResp && !msg.reject) m.lastGrant = { term: msg.term, to: msg.to };
  }

  /**
   * A restarted member starts again from its durable state. Terms may go back to what was synced
   * (an unsynced bump is legitimately lost), but never below a term it already spoke in, and a vote
   * it granted must still be there.
   */
  observeRestart(id: NodeId, durable: HardState): void {
    const m = this.member(id);
    if (durable.term < m.sentTerm) {
      throw new InvariantViolation(
        "durability (mustSync)",
        `member ${id} restarted at term ${durable.term} after sending messages in term ${m.sentTerm}: its term was not durable`,
      );
    }
    const g = m.lastGrant;
    if (g !== undefined && durable.term === g.term && durable.vote !== g.to) {
      throw new InvariantViolation("durability (mustSync)", `member ${id} granted its vote in term ${g.term} to ${g.to} but restarted with vote ${durable.vote}`);
    }
    m.term = durable.term;
    m.commit = durable.commit;
    m.lastHardState = { ...durable };
  }

  /** Called after every step for the member the step touched. */
  observeStatus(id: NodeId, s: StatusObservation, log: LogView): void {
    const m = this.member(id);
    if (s.term < m.term) throw new InvariantViolation("term monotonicity", `member ${id} went from term ${m.term} back to ${s.term}`);
    m.term = s.term;
    if (s.commit < m.commit) throw new InvariantViolation("commit monotonicity", `member ${id} commit went back from ${m.commit} to ${s.commit}`);
    m.commit = s.commit;
    if (s.applied > s.commit) throw new InvariantViolation("applied <= committed", `member ${id} applied ${s.applied} > commit ${s.commit}`);
    if (s.isLeader) this.observeLeader(id, s.term, log);
  }

  observeLeader(id: NodeId, term: number, log: LogView): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev === id) return;
    if (prev !== undefined) throw new InvariantViolation("election safety", `members ${prev} and ${id} were both leader in term ${term}`);
    this.leaderOfTerm.set(term, id);
    // Every entry known committed so far must be in the new leader's log. By log matching it is
    // enough to look at the highest one whose term we know.
    let c = this.maxCommitted;
    while (c > 0 && this.committedTerm[c] === -1) c--;
    if (c === 0 || c <= log.snapshotIndex) return;
    const t = log.term(c);
    if (t !== this.committedTerm[c]) {
      throw new InvariantViolation(
        "leader completeness",
        `member ${id} became leader of term ${term} with ${t === undefined ? "no entry" : `term ${t}`} at index ${c}, committed earlier with term ${this.committedTerm[c]}`,
      );
    }
  }

  /**
   * A member's Ready: checks that whatever must be durable before messages go out is flagged
   * mustSync (new entries, a snapshot, a changed term or vote).
   */
  observeReady(id: NodeId, rd: { entries: Entry[]; snapshot?: unknown; hardState?: HardState | undefined; mustSync: boolean }): void {
    const m = this.member(id);
    const hs = rd.hardState;
    const prev = m.lastHardState;
    const voteChanged = hs !== undefined && (prev === undefined || hs.term !== prev.term || hs.vote !== prev.vote);
    if (!rd.mustSync && (rd.entries.length > 0 || rd.snapshot !== undefined || voteChanged)) {
      throw new InvariantViolation(
        "durability (mustSync)",
        `member ${id} produced a Ready with ${rd.entries.length} entries, snapshot ${rd.snapshot !== undefined}, hard state ${JSON.stringify(hs)} (was ${JSON.stringify(prev)}) but mustSync false`,
      );
    }
    if (hs !== undefined) m.lastHardState = { ...hs };
  }

  /**
   * Entries appearing in a member's log (or in a message): the same index and term must always
   * carry the same payload and follow the same previous term, which by induction is log matching.
   */
  observeEntries(id: NodeId, ents: readonly Entry[], prevTerm: number | undefined): void {
    let prev = prevTerm;
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      if (k > 0 && e.index !== ents[k - 1]!.index + 1) {
        throw new InvariantViolation("log matching", `member ${id}: entries not contiguous (${ents[k - 1]!.index} then ${e.index})`);
      }
      if (prev !== undefined && e.term < prev) {
        throw new InvariantViolation("log matching", `member ${id}: entry ${e.index} has term ${e.term} below its predecessor's ${prev}`);
      }
      const key = `${e.index}:${e.term}`;
      const rec = this.entries.get(key);
      if (rec === undefined) {
        this.entries.set(key, { prevTerm: prev, content: entryContent(e), firstSeenBy: id });
      } else {
        const content = entryContent(e);
        if (rec.content !== content) {
          throw new InvariantViolation(
            "log matching",
            `entry index ${e.index} term ${e.term} holds ${JSON.stringify(content)} on member ${id} but ${JSON.stringify(rec.content)} on member ${rec.firstSeenBy}`,
          );
        }
        if (prev !== undefined && rec.prevTerm !== undefined && prev !== rec.prevTerm) {
          throw new InvariantViolation(
            "log matching",
            `entry index ${e.index} term ${e.term} follows term ${prev} on member ${id} but term ${rec.prevTerm} on member ${rec.firstSeenBy}`,
          );
        }
        if (rec.prevTerm === undefined && prev !== undefined) rec.prevTerm = prev;
      }
      prev = e.term;
    }
  }

  /** A member's commit index (from its hard state), with its log as it stands when reported. */
  observeCommit(id: NodeId, commit: number, log: LogView): void {
    if (commit > log.lastIndex) {
      throw new InvariantViolation("state-machine safety", `member ${id} commit ${commit} is past its last index ${log.lastIndex}`);
    }
    const max = this.maxCommitted;
    if (commit <= max) {
      const known = this.committedTerm[commit]!;
      const t = log.term(commit);
      if (known !== -1 && t !== undefined && t !== known) {
        throw new InvariantViolation("state-machine safety", `member ${id} has commit ${commit} with term ${t}, but the entry committed there has term ${known}`);
      }
      return;
    }
    for (let i = max + 1; i <= commit; i++) this.committedTerm.push(log.term(i) ?? -1);
  }

  /** A member applied entry e and its state machine's digest became chain. */
  observeApply(id: NodeId, e: Entry, chain: string): void {
    const known = this.committedTerm[e.index];
    if (known === undefined) {
      throw new InvariantViolation("state-machine safety", `member ${id} applied index ${e.index} (term ${e.term}) that no member has committed (max ${this.maxCommitted})`);
    }
    if (known !== -1 && known !== e.term) {
      throw new InvariantViolation("state-machine safety", `member ${id} applied index ${e.index} with term ${e.term}, but the entry committed there has term ${known}`);
    }
    this.observeChain(id, e.index, chain, `applied ${JSON.stringify(entryContent(e))} at index ${e.index}`);
  }

  /** The configuration a member holds after applying (or restoring) up to index: the same everywhere. */
  observeConfState(id: NodeId, index: number, conf: string): void {
    const seen = this.confAt.get(index);
    if (seen === undefined) this.confAt.set(index, { conf, by: id });
    else if (seen.conf !== conf) {
      throw new InvariantViolation("configuration agreement", `after index ${index} member ${id} has configuration ${conf} but member ${seen.by} had ${seen.conf}`);
    }
  }

  /** A member restored its state machine from a snapshot at (index, term) whose digest is chain. */
  observeSnapshot(id: NodeId, index: number, term: number, chain: string): void {
    const known = this.committedTerm[index];
    if (known === undefined) {
      throw new InvariantViolation("state-machine safety", `member ${id} installed a snapshot at ${index} beyond anything committed (max ${this.maxCommitted})`);
    }
    if (known !== -1 && index > 0 && known !== term) {
      throw new InvariantViolation("state-machine safety", `member ${id} installed a snapshot at ${index} term ${term}, but the entry committed there has term ${known}`);
    }
    this.observeChain(id, index, chain, `installed a snapshot at ${index}`);
  }

  private observeChain(id: NodeId, index: number, chain: string, what: string): void {
    const seen = this.appliedChain.get(index);
    if (seen === undefined) this.appliedChain.set(index, chain);
    else if (seen !== chain) {
      throw new InvariantViolation("state-machine safety", `member ${id} ${what}, but its state differs from another member's at the same index (${chain} vs ${seen})`);
    }
  }
}

/**
 * The literal log matching property over complete logs (used at the end of a run): if two logs
 * have an entry with the same index and term, they are identical up to that index (over the range
 * both still hold).
 */
export function checkLogsPairwise(logs: Map<NodeId, { first: number; entries: Entry[] }>): void {
  const ids = [...logs.keys()];
  for (let a = 0; a < ids.length; a++) {
    for (let b = a + 1; b < ids.length; b++) {
      const la = logs.get(ids[a]!)!;
      const lb = logs.get(ids[b]!)!;
      const lo = Math.max(la.first, lb.first);
      const hi = Math.min(la.first + la.entries.length, lb.first + lb.entries.length) - 1;
      let match = -1;
      for (let i = hi; i >= lo; i--) {
        if (la.entries[i - la.first]!.term === lb.entries[i - lb.first]!.term) {
          match = i;
          break;
        }
      }
      for (let i = lo; i <= match; i++) {
        const ea = la.entries[i - la.first]!;
        const eb = lb.entries[i - lb.first]!;
        if (ea.term !== eb.term || entryContent(ea) !== entryContent(eb)) {
          throw new InvariantViolation(
            "log matching",
            `members ${ids[a]} and ${ids[b]} agree at index ${match} but differ at ${i} (term ${ea.term} vs ${eb.term})`,
          );
        }
      }
    }
  }
}
