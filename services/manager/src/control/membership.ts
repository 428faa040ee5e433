// Raft membership, leader only. Promotes learners once they have caught up with the log, and
// carries out demotions: a node whose desired role went to worker leaves raft first (leadership is
// handed over first when it is this node) and only then gets role WORKER, so its certificate
// renewal yields a worker certificate. The quorum guards that refuse a demotion or removal which
// would lose quorum live here too, so the API and this loop judge the same way. It also keeps each
// manager node's stored reachability equal to the leader's view, for the followers' API (a
// follower hears only from the leader, so it cannot tell whether another follower is up).
import { systemClock, type Clock, type Logger, type TimerHandle } from "@shoal/common";
import { NodeRole, Reachability, type Node } from "@shoal/store";
import type { ReplicatedStore } from "../replication/index.js";
import { ControlError } from "./errors.js";

export interface MembershipOptions {
  /** How often the leader reconciles (default 500 ms). */
  intervalMs?: number;
  /** A learner within this many entries of the leader's log is promoted (default 50). */
  maxLagEntries?: number;
  /**
   * How long a new leader waits before it writes reachability (default 2 s): as a follower it
   * heard only from the old leader, so until its peers have answered it every one looks gone.
   */
  reachabilitySettleMs?: number;
}

export interface MembershipModules {
  rs: ReplicatedStore;
  logger: Logger;
  clock?: Clock;
}

/** Would taking voter `raftId` out leave a reachable majority of the remaining voters? (leader only) */
export function checkVoterRemoval(rs: ReplicatedStore, raftId: number, what: string): void {
  const members = rs.raft.memberStatus();
  const voters = members.filter((m) => m.voter);
  if (!voters.some((m) => m.id === raftId)) return;
  const remaining = voters.filter((m) => m.id !== raftId);
  if (remaining.length === 0) throw new ControlError({ code: "MANAGER_QUORUM_GUARD" }, `cannot ${what}: it is the last manager of the swarm`);
  // Heard from within an election timeout (the driver's view, not the core's per-round flags).
  const reachable = remaining.filter((m) => m.recentActive).length;
  const needed = Math.floor(remaining.length / 2) + 1;
  if (reachable < needed) {
    throw new ControlError(
      { code: "MANAGER_QUORUM_GUARD", reachable, needed },
      `cannot ${what}: only ${reachable} of the remaining ${remaining.length} managers are reachable and ${needed} are needed for quorum`,
    );
  }
}

export class Membership {
  private readonly log: Logger;
  private readonly clock: Clock;
  private timer: TimerHandle | undefined;
  private busy = false;
  private startedAt = 0;

  constructor(
    private readonly opts: MembershipOptions,
    private readonly modules: MembershipModules,
  ) {
    this.log = modules.logger.child({ component: "membership" });
    this.clock = modules.clock ?? systemClock;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.startedAt = this.clock.monotonicMs();
    this.timer = this.clock.setInterval(() => void this.reconcile(), this.opts.intervalMs ?? 500);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async reconcile(): Promise<void> {
    const rs = this.modules.rs;
    if (this.busy || !rs.isLeader()) return;
    this.busy = true;
    try {
      await this.promoteLearners();
      await this.demote();
      await this.syncReachability();
    } catch (err) {
      this.log.warn({ err }, "membership: reconcile failed; will retry");
    } finally {
      this.busy = false;
    }
  }

  private async promoteLearners(): Promise<void> {
    const rs = this.modules.rs;
    const st = rs.raft.status();
    const last = st.progress.get(st.id)?.match ?? 0;
    for (const id of st.confState.learners) {
      const p = st.progress.get(id);
      if (p === undefined || !rs.raft.isCaughtUp(id, this.opts.maxLagEntries ?? 50)) continue;
      const addr = st.addresses[id];
      if (addr === undefined) continue;
      this.log.info({ raftId: id, match: p.match, last }, "membership: learner caught up; promoting to voter");
      await rs.raft.addMember(id, addr, { learner: false });
    }
  }

  /**
   * Writes each manager node's reachability where the leader's view (heard within an election
   * timeout) differs. A manager node whose raft id was removed from the cluster (retired by
   * --force-new-cluster, or removed while its node object still says manager) is unreachable: no
   * member will ever hear from it under that id again.
   */
  private async syncReachability(): Promise<void> {
    const rs = this.modules.rs;
    if (this.clock.monotonicMs() - this.startedAt < (this.opts.reachabilitySettleMs ?? 2_000)) return;
    const view = new Map(rs.raft.memberStatus().map((m) => [m.id, m.recentActive ? Reachability.REACHABLE : Reachability.UNREACHABLE]));
    for (const id of rs.raft.status().confState.removed) if (!view.has(id)) view.set(id, Reachability.UNREACHABLE);
    const stale = rs.store
      .view((tx) => tx.find("node", { role: NodeRole.MANAGER }))
      .filter((n) => {
        const want = view.get(n.managerStatus?.raftId ?? 0);
        return want !== undefined && n.managerStatus !== undefined && n.managerStatus.reachability !== want;
      });
    if (stale.length === 0) return;
    await rs.store.update((tx) => {
      for (const n of stale) {
        const cur = tx.get("node", n.id);
        const want = view.get(cur?.managerStatus?.raftId ?? 0);
        if (cur?.managerStatus === undefined || want === undefined || cur.managerStatus.reachability === want) continue;
        tx.update("node", { ...cur, managerStatus: { ...cur.managerStatus, reachability: want } });
      }
    });
    for (const n of stale) this.log.info({ nodeId: n.id, hostname: n.description?.hostname, reachable: view.get(n.managerStatus?.raftId ?? 0) === Reachability.REACHABLE }, "membership: manager reachability changed");
  }

  private async demote(): Promise<void> {
    const rs = this.modules.rs;
    const pending = rs.store.view((tx) => tx.find("node", { role: NodeRole.MANAGER })).filter((n: Node) => n.spec.desiredRole === NodeRole.WORKER);
    for (const node of pending) {
      const raftId = node.managerStatus?.raftId ?? 0;
      const st = rs.raft.status();
      const member = st.confState.voters.includes(raftId) || st.confState.learners.includes(raftId);
      if (member) {
        if (raftId === st.id) {
          // The leader cannot remove itself cleanly: hand leadership to a caught-up voter first;
          // the new leader finishes the demotion.
          const active = new Set(rs.raft.memberStatus().filter((m) => m.recentActive).map((m) => m.id));
          const to = st.confState.voters.find((v) => v !== st.id && active.has(v));
          if (to === undefined) continue;
          this.log.info({ to }, "membership: transferring leadership before demoting this manager");
          await rs.raft.transferLeadership(to);
          return;
        }
        checkVoterRemoval(rs, raftId, `demote ${node.description?.hostname ?? node.id}`);
        await rs.raft.removeMember(raftId);
        this.log.info({ nodeId: node.id, raftId }, "membership: manager removed from raft");
      }
      await rs.store.update((tx) => {
        const cur = tx.get("node", node.id);
        if (cur === undefined) return;
        const next: Node = { ...cur, role: NodeRole.WORKER };
        delete next.managerStatus;
        tx.update("node", next);
      });
      this.log.info({ nodeId: node.id }, "membership: node demoted to worker");
    }
  }
}
