// The cluster spec's numeric settings as a manager applies them. A spec stores only what the
// operator set; each setting left unset (absent, or a value Shoal reads as "unset") takes a value
// from the manager: Shoal's default or the manager's own flag (shoald --heartbeat-ms,
// --election-ticks). The API shows the spec with those values filled in, as Docker shows its
// defaults, and a client that sends such a spec back whole (`docker swarm update`, `shoal swarm
// update`) must not pin them: keepUnsetSettings leaves a setting unset when it comes back with the
// very value shown for it. Pure: no clock, no IO.
import type { ClusterSpec } from "./cluster.js";

/** What a manager applies for each setting the cluster spec leaves unset. */
export interface ClusterSettingDefaults {
  taskHistoryRetentionLimit: number;
  snapshotInterval: number;
  logEntriesForSlowFollowers: number;
  electionTick: number;
  heartbeatTick: number;
  heartbeatPeriodNs: number;
  nodeCertExpiryNs: number;
}

interface Setting {
  key: keyof ClusterSettingDefaults;
  get(spec: ClusterSpec): number | undefined;
  /** A copy of spec with the setting at v (undefined removes it). */
  with(spec: ClusterSpec, v: number | undefined): ClusterSpec;
  /** How the component that reads it tells "unset" (then it applies its default). */
  unset(v: number | undefined): boolean;
}

type Section = "orchestration" | "raft" | "dispatcher" | "caConfig";

function setting<S extends Section>(key: keyof ClusterSettingDefaults, section: S, field: keyof NonNullable<ClusterSpec[S]>, unset: (v: number | undefined) => boolean): Setting {
  return {
    key,
    unset,
    get: (spec) => (spec[section] as Record<string, number | undefined> | undefined)?.[field as string],
    with: (spec, v) => {
      const part: Record<string, unknown> = { ...(spec[section] ?? {}) };
      if (v === undefined) delete part[field as string];
      else part[field as string] = v;
      return { ...spec, [section]: part };
    },
  };
}

const notPositive = (v: number | undefined): boolean => v === undefined || v <= 0;

const SETTINGS: readonly Setting[] = [
  // The task reaper keeps the default history for a negative limit; 0 keeps none.
  setting("taskHistoryRetentionLimit", "orchestration", "taskHistoryRetentionLimit", (v) => v === undefined || v < 0),
  setting("snapshotInterval", "raft", "snapshotInterval", notPositive),
  setting("logEntriesForSlowFollowers", "raft", "logEntriesForSlowFollowers", notPositive),
  setting("electionTick", "raft", "electionTick", (v) => v === undefined || v === 0),
  setting("heartbeatTick", "raft", "heartbeatTick", (v) => v === undefined || v === 0),
  setting("heartbeatPeriodNs", "dispatcher", "heartbeatPeriodNs", notPositive),
  setting("nodeCertExpiryNs", "caConfig", "nodeCertExpiryNs", notPositive),
];

/** The spec with every unset setting at the value the manager applies for it. */
export function withSettingDefaults(spec: ClusterSpec, d: ClusterSettingDefaults): ClusterSpec {
  let out = spec;
  for (const s of SETTINGS) if (s.unset(s.get(spec))) out = s.with(out, d[s.key]);
  return out;
}

/**
 * `next` with each setting that `cur` leaves unset and `next` sets to exactly the value shown for
 * it (d) put back as it was in cur: the client sent back what it read. The cost is that an
 * operator cannot pin a setting at the value it has anyway; it keeps following the manager.
 */
export function keepUnsetSettings(cur: ClusterSpec, next: ClusterSpec, d: ClusterSettingDefaults): ClusterSpec {
  let out = next;
  for (const s of SETTINGS) {
    const was = s.get(cur);
    if (s.unset(was) && s.get(next) === d[s.key]) out = s.with(out, was);
  }
  return out;
}
