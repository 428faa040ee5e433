// What the manager asks before and during membership changes: who the members are, whether a
// learner has caught up (so promoting it does not stall commits), and whether removing a voter
// would leave a reachable majority.
//
// Owns: pure answers over a RaftNode status snapshot. It must not change membership (the manager
// decides and calls addMember / removeMember) nor make Raft decisions: it reads the core's view.
import { StateType, type NodeId, type RaftStatus } from "../core/types.js";

export interface MemberStatus {
  id: NodeId;
  /** Empty when this member never learned the address. */
  address: string;
  voter: boolean;
  /** Highest index known replicated on the member (leader's view; 0 when unknown). */
  match: number;
  /** This member heard from it within the last election timeout (always true for self). */
  recentActive: boolean;
}

/**
 * A RaftNode status plus the members heard from within the last election timeout. Not the core's
 * recentActive: CheckQuorum clears that every election timeout, so right after a check every
 * peer would look gone until its next heartbeat answer.
 */
export type MemberStatusInput = RaftStatus & { addresses: Record<NodeId, string>; active: ReadonlySet<NodeId> };

export function memberStatus(st: MemberStatusInput): MemberStatus[] {
  const cs = st.confState;
  const rows = [...cs.voters.map((id) => ({ id, voter: true })), ...cs.learners.map((id) => ({ id, voter: false }))];
  rows.sort((a, b) => a.id - b.id);
  return rows.map(({ id, voter }) => {
    const p = st.progress.get(id);
    const self = id === st.id;
    return {
      id,
      address: st.addresses[id] ?? "",
      voter,
      match: p?.match ?? (self ? st.lastIndex : 0),
      recentActive: self || st.active.has(id),
    };
  });
}

/** Leader only: `id` is a member whose match is within maxLag of the leader's last index. */
export function isCaughtUp(st: MemberStatusInput, id: NodeId, maxLag = 0): boolean {
  if (st.state !== StateType.Leader) return false;
  const p = st.progress.get(id);
  if (p === undefined) return false;
  return st.lastIndex - p.match <= maxLag;
}

/**
 * Would the voters left after removing (or demoting) `id` still have a reachable majority among
 * them? Counted from whom the leader heard within the last election timeout; a member that is not
 * the leader cannot know and says no.
 */
export function canRemoveVoter(st: MemberStatusInput, id: NodeId): { ok: boolean; reason?: string } {
  if (st.state !== StateType.Leader) return { ok: false, reason: "only the leader knows which members are reachable" };
  const voters = st.confState.voters;
  if (!voters.includes(id)) return { ok: false, reason: `member ${id} is not a voter` };
  const remaining = voters.filter((v) => v !== id);
  if (remaining.length === 0) return { ok: false, reason: "cannot remove the last voter" };
  const reachable = remaining.filter((v) => v === st.id || st.active.has(v)).length;
  const quorum = Math.floor(remaining.length / 2) + 1;
  if (reachable < quorum) {
    return {
      ok: false,
      reason: `removing ${id} would leave ${reachable} reachable of ${remaining.length} voters, fewer than the quorum of ${quorum}`,
    };
  }
  return { ok: true };
}
