// Errors of the replication layer (raft ⇄ store), with stable codes for the API edge.
import { ShoalError } from "@shoal/common";

export type ManagerErrorCode =
  | "MANAGER_NOT_LEADER"
  | "MANAGER_NO_QUORUM"
  | "MANAGER_NO_LEADER"
  | "MANAGER_LEADER_UNREACHABLE"
  | "MANAGER_REMOVED"
  | "MANAGER_STOPPED";

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

/**
 * A read of cluster state on a manager that knows no leader. Its store may be stale (the others may
 * have moved on without it, or be gone), so it answers no such read rather than a picture that
 * looks current; docker's own wording comes first, as scripts know it. `reachable`: the voters this
 * manager heard from within an election timeout, itself included.
 */
export function noLeaderError(reachable: number, members: number): ManagerError {
  const majority = Math.floor(members / 2) + 1;
  const docker = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";
  const detail =
    reachable >= majority
      ? `This manager hears ${reachable} of ${members} managers (${majority} needed): an election is under way, try again in a few seconds.`
      : `This manager hears ${reachable} of ${members} managers (${majority} needed), so what it has stored may be stale and it answers no reads of cluster state: ` +
        "bring the lost managers back; if they are gone for good, recover with 'shoal swarm init --force-new-cluster' on a surviving manager " +
        "(docs/OPERATIONS.md, Quorum recovery). 'shoal cluster status' shows what this manager sees.";
  return new ManagerError({ code: "MANAGER_NO_LEADER", reachable, members }, `${docker} ${detail}`, { temporary: true });
}

/**
 * A read of cluster state on a follower that knows a leader but could not confirm with it, within
 * waitedMs, that its store holds every write acknowledged so far (a read barrier): it may be cut
 * off from the others, or far behind, so it answers no such read rather than an older picture.
 */
export function leaderUnreachableError(leader: number, leaderAddress: string | undefined, waitedMs: number): ManagerError {
  const where = `raft id ${leader}${leaderAddress === undefined ? "" : ` at ${leaderAddress}`}`;
  return new ManagerError(
    { code: "MANAGER_LEADER_UNREACHABLE", leader, leaderAddress, waitedMs },
    `this manager could not confirm with the leader (${where}) within ${(waitedMs / 1000).toFixed(1)} s that what it has stored is current, ` +
      "so it answers no reads of cluster state: it may be cut off from the other managers. Ask another manager; " +
      "'shoal cluster status' on this one shows which managers it hears.",
    { temporary: true },
  );
}

/**
 * Any call needing the raft cluster on a manager whose raft id was removed from it (`by` the
 * member that said so, its own id when it applied its own removal). A demoted manager (it applied
 * its removal, or its store shows it given the worker role) goes on as a worker: its manager role
 * is stopping. Otherwise it was retired by --force-new-cluster on another manager, or removed while
 * it was away: its store is stale for good and it counts in no quorum, so rebuilding from it would
 * split the swarm, and the way back is to leave and join again.
 */
export function removedManagerError(by: number, self: number, demoted: boolean): ManagerError {
  if (by === self || demoted) {
    return new ManagerError(
      { code: "MANAGER_REMOVED", by },
      "This node is not a swarm manager: the swarm demoted it and removed it from the raft cluster, and its manager role is stopping. " +
        "Run this command on a manager node ('shoal node ls' there lists them), or promote this node again.",
    );
  }
  return new ManagerError(
    { code: "MANAGER_REMOVED", by },
    `this manager was removed from the swarm's raft cluster (raft member ${by} refuses its messages). It was retired by --force-new-cluster ` +
      "on another manager, or removed while it was away. What it has stored is stale and it takes no part in the cluster, so do not recover from it; " +
      "on this node run 'shoal swarm leave --force', then join again with a join token from a manager of the swarm (docs/OPERATIONS.md, Quorum recovery)",
  );
}

/** A call that reaches the replicated store after it stopped: the manager role is going away here. */
export function stoppedError(): ManagerError {
  return new ManagerError(
    { code: "MANAGER_STOPPED" },
    "this node's manager is stopping (it was demoted, is leaving the swarm, or shoald is shutting down): ask another manager",
  );
}
