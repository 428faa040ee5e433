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
  const majority = Math.floor(members / 2) + 1;
  // What the operator does next: wait for (or restart) the lost managers; only if they are gone for
  // good, rebuild from this one. A write that reached this log may still apply once they are back.
  const maybe = outcomeUnknown ? "; this write may still apply when they are, so check before retrying" : "";
  return new ManagerError(
    { code: "MANAGER_NO_QUORUM", reachable, members, outcomeUnknown },
    `no quorum: cannot commit writes (${reachable} of ${members} managers reachable, ${majority} needed): bring the lost managers back${maybe}; ` +
      "if they are gone for good, recover with 'shoal swarm init --force-new-cluster' on a surviving manager (docs/OPERATIONS.md, Quorum recovery)",
    { temporary: true, cause },
  );
}
