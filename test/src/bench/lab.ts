// Manager benchmarks on the lab (3 shoald managers + 5 workers in network namespaces, default raft
// timing):
// failover — SIGKILL the leader, time until the survivors agree on a new leader (and, in the first
// rounds, until the new leader marks the old one's node DOWN so its tasks move), restart the old
// one, repeat — and node-update writes per second through the REST API (concurrent clients spread
// over the three managers' sockets; followers forward to the leader); node-list reads on the leader
// and on a follower (which has the leader confirm its store is current first); and partition
// drills: cut the leader off for a few seconds, heal, time until it serves reads again.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger, sleep } from "@shoal/common";
import { Lab, apiCall, apiJson, formSwarm, randomLabId, shoaldCommand, type HostRecord } from "@shoal/lab";
import { quantile } from "./load.js";

export type Out = (name: string, value: number, unit: string) => void;

/** Failover rounds that also wait for the old leader's node to be marked DOWN. */
const DOWN_ROUNDS = 3;

/** How long each partition drill cuts the leader off, in seconds. */
const PARTITION_SECONDS = [2, 4, 6, 8];

interface ClusterStatus {
  raftId: number;
  leaderRaftId: number;
  members: { suffrage: string }[];
}

async function agreedLeader(among: HostRecord[], timeoutMs: number): Promise<HostRecord> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(among.map((m) => apiJson<ClusterStatus>(m.apiSocket, "GET", "/shoal/cluster", undefined, 1_000).catch(() => undefined)));
    const lead = views[0]?.leaderRaftId ?? 0;
    if (lead !== 0 && views.every((v) => v?.leaderRaftId === lead)) {
      const i = views.findIndex((v) => v?.raftId === lead);
      if (i >= 0) return among[i] as HostRecord;
    }
    await sleep(20);
  }
  throw new Error(`no agreed leader within ${timeoutMs} ms`);
}

export async function labBench(opts: { failovers: number; seconds: number; progress: (m: string) => void; out: Out }): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "shoal-bench-lab-"));
  const lab = new Lab({ labId: randomLabId(), root }, { logger: silentLogger() });
  try {
    const rec = await lab.up({ managers: 3, workers: 5, command: shoaldCommand({ logLevel: "warn" }) });
    await formSwarm(rec, { logger: silentLogger() });
    const managers = rec.hosts.filter((h) => h.role === "manager");
    opts.progress("lab: 3 managers and 5 workers up");

    // Node-update writes through the REST API: one client per node object (so clients do not race
    // each other's versions), spread over the three managers' sockets.
    const nodes = await apiJson<{ ID: string; Description: { Hostname: string } }[]>(managers[0]!.apiSocket, "GET", "/nodes");
    const clients = nodes.length;
    let ok = 0;
    let conflicts = 0;
    let errors = 0;
    const latencies: number[] = [];
    const stopAt = Date.now() + opts.seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const via = managers[c % managers.length]!;
        const node = nodes[c % nodes.length]!;
        for (let i = 0; Date.now() < stopAt; i++) {
          const t0 = performance.now();
          const cur = await apiJson<{ Version: { Index: number }; Spec: { Labels?: Record<string, string> } }>(via.apiSocket, "GET", `/nodes/${node.ID}`);
          const r = await apiCall(via.apiSocket, "POST", `/nodes/${node.ID}/update?version=${cur.Version.Index}`, { ...cur.Spec, Labels: { ...(cur.Spec.Labels ?? {}), [`c${c}`]: String(i) } });
          if (r.status === 200) {
            ok++;
            latencies.push(performance.now() - t0);
          } else if (r.status === 409) conflicts++;
          else errors++;
        }
      }),
    );
    opts.out("api_node_update_writes_per_s", ok / opts.seconds, "writes/s");
    opts.out("api_node_update_p50", quantile(latencies.sort((a, b) => a - b), 0.5), "ms");
    opts.out("api_node_update_conflicts", conflicts, "conflicts");
    if (errors > 0) opts.out("api_node_update_errors", errors, "errors");

    // Reads of cluster state, sequential: the caught-up leader answers from its store; a follower
    // first has the leader confirm that its store is current (a read barrier).
    const lead = await agreedLeader(managers, 15_000);
    const follower = managers.find((m) => m !== lead)!;
    for (const [who, via] of [["leader", lead], ["follower", follower]] as const) {
      const took: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        await apiJson(via.apiSocket, "GET", "/nodes");
        if (i >= 20) took.push(performance.now() - t0);
      }
      took.sort((a, b) => a - b);
      opts.out(`api_node_list_${who}_p50`, quantile(took, 0.5), "ms");
      opts.out(`api_node_list_${who}_p99`, quantile(took, 0.99), "ms");
    }

    const times: number[] = [];
    const downTimes: number[] = [];
    for (let i = 0; i < opts.failovers; i++) {
      const old = await agreedLeader(managers, 30_000);
      await lab.kill(old.name);
      const t0 = performance.now();
      const next = await agreedLeader(managers.filter((m) => m !== old), 30_000);
      const s = (performance.now() - t0) / 1000;
      times.push(s);
      opts.progress(`lab failover ${i + 1}/${opts.failovers}: killed ${old.name}, new leader agreed after ${s.toFixed(3)} s`);
      // The old leader's node runs tasks too: how long until the new leader gives up on it (a few
      // rounds only; each waits out a grace period).
      if (i < DOWN_ROUNDS) {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const list = await apiJson<{ Description: { Hostname: string }; Status: { State: string } }[]>(next.apiSocket, "GET", "/nodes").catch(() => []);
          if (list.some((n) => n.Description.Hostname === old.name && n.Status.State === "down")) break;
          if (Date.now() > deadline) throw new Error(`${old.name} was not marked down within 60 s of the kill`);
          await sleep(100);
        }
        downTimes.push((performance.now() - t0) / 1000);
        opts.progress(`lab failover ${i + 1}: ${old.name} marked down ${downTimes[downTimes.length - 1]!.toFixed(2)} s after the kill`);
      }
      await lab.start(old.name);
      await agreedLeader(managers, 60_000);
    }
    times.sort((a, b) => a - b);
    opts.out("lab_failover_p50", quantile(times, 0.5), "s");
    opts.out("lab_failover_p99", quantile(times, 0.99), "s");
    opts.out("lab_failover_max", times[times.length - 1] ?? NaN, "s");
    downTimes.sort((a, b) => a - b);
    opts.out("lab_failover_old_leader_down_p50", quantile(downTimes, 0.5), "s");
    opts.out("lab_failover_old_leader_down_max", downTimes[downTimes.length - 1] ?? NaN, "s");

    // Partition drills: the leader is cut off (its switch port moved to a bridge of its own, so
    // packets vanish, no resets), the majority elects another, the network heals; timed from the
    // heal until the old leader answers a read again (it must know the new leader and catch up).
    const heals: number[] = [];
    for (const secs of PARTITION_SECONDS) {
      const old = await agreedLeader(managers, 30_000);
      await lab.partition([old.name]);
      try {
        await sleep(secs * 1000);
      } finally {
        await lab.heal();
      }
      const t0 = performance.now();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = await apiCall(old.apiSocket, "GET", "/nodes", undefined, 2_000).catch(() => undefined);
        if (r?.status === 200) break;
        if (Date.now() > deadline) throw new Error(`${old.name} did not serve a read within 60 s of the heal`);
        await sleep(20);
      }
      const s = (performance.now() - t0) / 1000;
      heals.push(s);
      opts.progress(`lab partition of ${old.name} for ${secs} s: it served reads ${s.toFixed(3)} s after the heal`);
      await agreedLeader(managers, 60_000);
    }
    heals.sort((a, b) => a - b);
    opts.out("lab_partition_heal_read_p50", quantile(heals, 0.5), "s");
    opts.out("lab_partition_heal_read_max", heals[heals.length - 1] ?? NaN, "s");
  } finally {
    await lab.down().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
