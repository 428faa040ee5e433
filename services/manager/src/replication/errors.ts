// Errors of the replication layer (raft ⇄ store), with stable codes for the API edge.
import { ShoalError } from "@shoal/common";

export type ManagerErrorCode = "MANAGER_NOT_LEADER" | "MANAGER_NO_QUORUM" | "MANAGER_STOPPED";

export type ManagerErrorMeta = { code: ManagerErrorCode } & Record<string, unknown>;

export class ManagerError extends ShoalError<ManagerErrorMeta> {}

/** Temporary: once the control API forwards writes, followers will no longer surface this. */
export function notLeaderError(leader: number, leaderAddress: string | undefined): ManagerError {
  const where = leader === 0 ? "no leader is known" : `the leader is ${leader}${leaderAddress === undefined ? "" : ` at ${leaderAddress}`}`;
  return new ManagerError({ code: "MANAGER_NOT_LEADER", leader, leaderAddress }, `this manager is not the leader; ${where}`, { temporary: true });
}

/**
 * outcomeUnknown: the entry reached this member's log before the deadline, so it may still commit
 * (and then applies, once, on every replica) if quorum returns with this log; callers re-read.
 */
export function noQuorumError(reachable: number, members: number, cause?: unknown, outcomeUnknown = false): ManagerError {
  return new ManagerError(
    { code: "MANAGER_NO_QUORUM", reachable, members, outcomeUnknown },
    `no quorum: cannot commit writes (${reachable} of ${members} managers reachable)`,
    { temporary: true, cause },
  );
}
