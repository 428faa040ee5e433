// The node's Prometheus metrics (GET /metrics). Gauges are read at scrape time from whatever the
// daemon runs then (the manager comes and goes with role changes and locks), so no component has
// to push numbers and nothing is registered twice.
import { Counter, Gauge, type Registry } from "@shoal/common";
import { NodeState, type WriteStats } from "@shoal/store";
import type { Manager } from "@shoal/manager";
import type { RaftSilenceStats } from "@shoal/raft";

export function registerNodeMetrics(registry: Registry, view: { manager(): Manager | undefined; phase(): string }): void {
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge) {
        this.reset();
        collect(this);
      },
    });
  };
  // Cumulative counts a manager keeps (its store's writes, raft's silences), as counters: read at
  // scrape time, they restart with a new manager.
  const managerCounter = (name: string, help: string, read: (m: Manager) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        const m = view.manager();
        if (m !== undefined) this.inc(read(m));
      },
    });
  };
  const storeCounter = (name: string, help: string, read: (s: WriteStats) => number): void => managerCounter(name, help, (m) => read(m.store.writeStats()));
  storeCounter("shoal_store_proposals_total", "raft entries this manager's store proposed", (s) => s.proposals);
  storeCounter("shoal_store_proposed_actions_total", "store actions (object writes) those entries carried", (s) => s.actions);
  storeCounter("shoal_store_commit_wait_seconds_total", "time writers waited for their entries to commit and apply", (s) => s.commitWaitSeconds);
  storeCounter(
    "shoal_store_write_lock_held_seconds_total",
    "time the store's write lock was held (a rate near 1 means writes queue behind the raft round trip)",
    (s) => s.lockHeldSeconds,
  );
  // The leader's assignment streams: changes per message says how well increments are batched;
  // a pace above 0 means busy streams wait up to that long between messages (ARCHITECTURE).
  managerCounter("shoal_dispatcher_assignment_messages_total", "incremental assignment messages this manager sent to nodes", (m) => m.assignmentStats().messages);
  managerCounter("shoal_dispatcher_assignment_changes_total", "task changes and removals those messages carried", (m) => m.assignmentStats().changes);
  // The agents' status reports: updates per report says how well they batch (each is a message,
  // an ack, and a turn of the store's write path on the leader).
  managerCounter("shoal_dispatcher_status_reports_total", "task status reports the nodes sent this manager", (m) => m.assignmentStats().statusReports);
  managerCounter("shoal_dispatcher_status_updates_total", "task status updates those reports carried", (m) => m.assignmentStats().statusUpdates);
  gauge("shoal_dispatcher_assignment_pace_seconds", "how long a busy node's assignment stream now waits between messages (0: not paced)", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.assignmentStats().paceMs / 1000);
  });
  // Silences raft warned of (its log has each): at a full election timeout one costs the leader.
  const silenceCounter = (name: string, help: string, read: (s: RaftSilenceStats) => number): void => managerCounter(name, help, (m) => read(m.rs.raft.silenceStats()));
  silenceCounter("shoal_raft_leader_silences_total", "times this manager, leading, sent a member nothing for half an election timeout or more (event loop held or short of CPU)", (s) => s.leaderSilences);
  silenceCounter("shoal_raft_follower_silences_total", "times this manager, following, heard from the leader only after half an election timeout", (s) => s.followerSilences);
  gauge("shoal_raft_longest_silence_seconds", "the longest of those silences since the manager started, by side", ["side"], (g) => {
    const m = view.manager();
    if (m === undefined) return;
    const s = m.rs.raft.silenceStats();
    g.set({ side: "leader" }, s.longestLeaderSilenceMs / 1000);
    g.set({ side: "follower" }, s.longestFollowerSilenceMs / 1000);
  });
  // Snapshots: their count shows how often the store is re-encoded in full (CPU and memory for
  // a few seconds each); the log since the last one is what a restart would replay.
  managerCounter("shoal_raft_snapshots_total", "snapshots this manager took of its store (not those received from the leader)", (m) => m.rs.raft.snapshotStats().taken);
  gauge("shoal_raft_snapshot_bytes", "size of this manager's last raft snapshot", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.rs.raft.snapshotStats().lastBytes);
  });
  gauge("shoal_raft_log_bytes_since_snapshot", "bytes of raft log applied since the last snapshot (the next is taken at shoal_raft_snapshot_threshold_bytes)", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.rs.raft.snapshotStats().logBytesSinceSnapshot);
  });
  gauge("shoal_raft_snapshot_threshold_bytes", "log bytes behind a snapshot at which this manager takes the next one", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.rs.raft.snapshotStats().thresholdBytes);
  });
  gauge("shoal_node_state", "1 for the node's current swarm state", ["state"], (g) => g.set({ state: view.phase() }, 1));
  gauge("shoal_raft_is_leader", "1 when this manager is the raft leader", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.rs.isLeader() ? 1 : 0);
  });
  // For alerts: 0 for longer than an election means this manager answers no reads (quorum lost, or
  // it is cut off); 1 in shoal_raft_removed, that it was retired and must leave and join again.
  gauge("shoal_raft_has_leader", "1 when this manager knows a raft leader (itself or another)", [], (g) => {
    const m = view.manager();
    // The raft view alone: clusterStatus() would also scan every node object on each scrape.
    if (m !== undefined) g.set(m.rs.leaderInfo().id !== 0 ? 1 : 0);
  });
  gauge("shoal_raft_removed", "1 when this manager learned that its raft id was removed from the cluster", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.rs.raft.removedBy() !== 0 ? 1 : 0);
  });
  gauge("shoal_raft_term", "current raft term", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.clusterStatus().term);
  });
  gauge("shoal_raft_commit_index", "highest committed raft index known here", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.clusterStatus().commitIndex);
  });
  gauge("shoal_raft_applied_index", "highest raft index applied to the store here", [], (g) => {
    const m = view.manager();
    if (m !== undefined) g.set(m.clusterStatus().appliedIndex);
  });
  gauge("shoal_raft_members", "raft members by suffrage", ["suffrage"], (g) => {
    const m = view.manager();
    if (m === undefined) return;
    const members = m.clusterStatus().members;
    g.set({ suffrage: "voter" }, members.filter((x) => x.suffrage === "voter").length);
    g.set({ suffrage: "learner" }, members.filter((x) => x.suffrage === "learner").length);
  });
  gauge("shoal_nodes", "nodes of the swarm by state (managers only)", ["state"], (g) => {
    const m = view.manager();
    if (m === undefined) return;
    const counts = new Map<string, number>();
    for (const n of m.store.view((tx) => tx.find("node", { all: true }))) {
      const s = (NodeState[n.status.state] ?? "UNKNOWN").toLowerCase();
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    for (const [state, c] of counts) g.set({ state }, c);
  });
}
