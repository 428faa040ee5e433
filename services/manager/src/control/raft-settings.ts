// The cluster spec's raft settings, applied. SnapshotInterval and LogEntriesForSlowFollowers set
// every manager's log retention (each member takes its own snapshots): read at start and again
// whenever the cluster object changes, so `shoal swarm update --snapshot-interval N` and the
// docker equivalent take effect at the next snapshot, without a restart. Zero or unset means
// Shoal's default. The settings Shoal cannot honour are refused by checkRaftSpecChange rather
// than stored and ignored.
import { describeError, type Logger } from "@shoal/common";
import type { Cluster, ClusterSpec, MemoryStore } from "@shoal/store";
import { ControlError } from "./errors.js";

export interface LogRetention {
  snapshotEntries?: number;
  compactKeepEntries?: number;
}

/** Raft's log retention for a cluster object (fields left out: the member's defaults). */
export function logRetentionOf(cluster: Cluster | undefined): LogRetention {
  const raft = cluster?.spec.raft;
  const r: LogRetention = {};
  if (raft?.snapshotInterval !== undefined && raft.snapshotInterval > 0) r.snapshotEntries = raft.snapshotInterval;
  if (raft?.logEntriesForSlowFollowers !== undefined && raft.logEntriesForSlowFollowers > 0) r.compactKeepEntries = raft.logEntriesForSlowFollowers;
  return r;
}

/**
 * Refuses raft settings Shoal does not have, unless they are unchanged from the stored spec (a
 * client that reads the spec and sends it back whole must not fail over a value it never touched):
 * old snapshots are not kept (one snapshot, the newest), and raft timing is each manager's own
 * (shoald --tick-ms, --election-ticks), not the cluster's.
 */
export function checkRaftSpecChange(cur: ClusterSpec, next: ClusterSpec): void {
  const unsupported: [keyof NonNullable<ClusterSpec["raft"]>, string, string][] = [
    ["keepOldSnapshots", "KeepOldSnapshots", "a manager keeps only its newest snapshot; back up the state dir instead (docs/OPERATIONS.md)"],
    ["electionTick", "ElectionTick", "raft timing is set per manager (shoald --tick-ms and --election-ticks)"],
    ["heartbeatTick", "HeartbeatTick", "raft timing is set per manager (shoald --tick-ms and --election-ticks)"],
  ];
  for (const [field, docker, why] of unsupported) {
    const v = next.raft?.[field] ?? 0;
    if (v === 0 || v === (cur.raft?.[field] ?? 0)) continue;
    throw new ControlError({ code: "CLUSTER_SPEC_UNSUPPORTED", field: docker }, `Raft.${docker} ${v} is not supported: ${why}; leave it 0`);
  }
}

/** Keeps a raft member's log retention equal to the cluster spec's, from start to stop. */
export class RaftSettingsFollower {
  private readonly abort = new AbortController();
  private last = "";

  constructor(
    private readonly store: MemoryStore,
    private readonly apply: (r: LogRetention) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    const { result, watch } = this.store.viewAndWatch({ kinds: ["cluster"], signal: this.abort.signal }, (tx) => tx.find("cluster", { all: true })[0]);
    this.set(result);
    void (async () => {
      for await (const ev of watch) if (ev.kind === "cluster" && ev.action !== "delete") this.set(ev.object as Cluster);
    })().catch((err: unknown) => {
      // Overflow is the only failure, and a cluster object changes rarely: start over.
      if (this.abort.signal.aborted) return;
      this.log.warn({ err: describeError(err) }, "manager: watch of the cluster's raft settings failed; restarting it");
      this.start();
    });
  }

  stop(): void {
    this.abort.abort();
  }

  private set(cluster: Cluster | undefined): void {
    const r = logRetentionOf(cluster);
    const key = JSON.stringify(r);
    if (key === this.last) return;
    try {
      this.apply(r);
      this.last = key;
      this.log.info({ snapshotEntries: r.snapshotEntries ?? "default", keepEntries: r.compactKeepEntries ?? "default" }, "manager: raft log retention set from the cluster spec");
    } catch (err) {
      // The API validates these; a value that slipped past it keeps the previous retention.
      this.log.error({ err: describeError(err) }, "manager: the cluster's raft settings were not applied");
    }
  }
}
