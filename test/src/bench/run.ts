// The Raft benchmark: 3-member Shoal KV (fsync on) against 3-member etcd through the same gRPC
// client (puts of 256-byte values, 1 sequential client and 32 concurrent clients, sent to the
// leader; and sequential serializable reads, which measure each server's cost per unary call
// without Raft), then Shoal's failover time (SIGKILL the leader, time until a write commits through a
// surviving member). Results on stdout as `name value unit` lines; progress on stderr.
//
// Env: SHOAL_BENCH_SECONDS (measured time per workload and system, default 10),
// SHOAL_BENCH_WARMUP_SECONDS (per system, default 30), SHOAL_BENCH_ROUNDS (default 2: the
// measured time is split into rounds that alternate which system goes first; each measured slice
// follows an unmeasured lead-in of SHOAL_BENCH_LEADIN_SECONDS, default 3), SHOAL_BENCH_FAILOVERS (default 20),
// SHOAL_BENCH_ONLY (comma list of: shoal, etcd, failover, lab, replay; default all). `lab` runs the
// manager benchmarks on a lab of 3 shoald managers (lab.ts); `replay` times a manager's restart
// over SHOAL_BENCH_REPLAY_MIB (default 64) MiB of raft log (replay.ts).
import { existsSync } from "node:fs";
import { describeError, sleep } from "@shoal/common";
import { exitOnSignals } from "../cluster/child.js";
import { KvCluster } from "../cluster/kv-cluster.js";
import type { KvSystem } from "../cluster/kv-client.js";
import { labBench } from "./lab.js";
import { quantile, runPutLoad, type LoadResult } from "./load.js";
import { busiestThreadSeconds, processCpuSeconds, threadCpuSeconds } from "./proc-cpu.js";
import { replayBench } from "./replay.js";

const seconds = Number(process.env["SHOAL_BENCH_SECONDS"] ?? 10);
const failovers = Number(process.env["SHOAL_BENCH_FAILOVERS"] ?? 20);
const warmupSeconds = Number(process.env["SHOAL_BENCH_WARMUP_SECONDS"] ?? 30);
const leadInSeconds = Number(process.env["SHOAL_BENCH_LEADIN_SECONDS"] ?? 3);
const rounds = Math.max(1, Number(process.env["SHOAL_BENCH_ROUNDS"] ?? 2));
const only = new Set((process.env["SHOAL_BENCH_ONLY"] ?? "shoal,etcd,failover,lab,replay").split(",").map((s) => s.trim()));

const clusters = new Set<KvCluster>();

function out(name: string, value: number, unit: string): void {
  const v = Number.isFinite(value) ? (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)) : "NaN";
  process.stdout.write(`${name} ${v} ${unit}\n`);
}

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

interface Workload {
  name: "seq" | "c32" | "read";
  clients: number;
  connections: number;
  op: "put" | "read";
}

/**
 * The two put workloads the target is set for, and a sequential read: a serializable get from the
 * leader, answered without Raft. Its CPU per call is each server's gRPC cost per unary call
 * alone, so that the put's CPU can be split into the call and the Raft path behind it.
 */
const workloads: Workload[] = [
  { name: "seq", clients: 1, connections: 1, op: "put" },
  { name: "c32", clients: 32, connections: 8, op: "put" },
  { name: "read", clients: 1, connections: 1, op: "read" },
];

async function withCluster<T>(system: KvSystem, fn: (c: KvCluster) => Promise<T>): Promise<T> {
  const c = await KvCluster.start({ system });
  clusters.add(c);
  try {
    return await fn(c);
  } finally {
    clusters.delete(c);
    await c.destroy();
  }
}

interface Target {
  system: KvSystem;
  cluster: KvCluster;
  address: string;
  leaderIndex: number;
}

async function startTarget(system: KvSystem): Promise<Target> {
  const cluster = await KvCluster.start({ system });
  clusters.add(cluster);
  const leader = await cluster.waitForLeader(20_000);
  progress(`${system}: leader is member ${leader.index} (${leader.clientAddress})`);
  return { system, cluster, address: leader.clientAddress, leaderIndex: leader.index };
}

function runWorkload(t: Target, w: Workload, durationMs: number): Promise<LoadResult> {
  return runPutLoad({ system: t.system, address: t.address, clients: w.clients, connections: w.connections, durationMs, valueBytes: 256, op: w.op });
}

function merge(a: LoadResult | undefined, b: LoadResult): LoadResult {
  if (a === undefined) return b;
  return {
    puts: a.puts + b.puts,
    errors: a.errors + b.errors,
    elapsedMs: a.elapsedMs + b.elapsedMs,
    latenciesMs: [...a.latenciesMs, ...b.latenciesMs].sort((x, y) => x - y),
  };
}

const rate = (r: LoadResult): number => (r.puts * 1000) / r.elapsedMs;

/** What a workload's calls are called in its output lines. */
const unitOf = (w: Workload): "puts" | "reads" => (w.op === "read" ? "reads" : "puts");

/**
 * CPU seconds used during measured slices: the leader, the followers together, the client, and
 * the leader's busiest single thread.
 */
interface CpuUse {
  leader: number;
  followers: number;
  client: number;
  leaderTopThread: number;
}

/** CPU seconds of each member now (NaN for one that is gone), by member index. */
function memberCpu(t: Target): Map<number, number> {
  return new Map(t.cluster.members.map((m) => [m.index, m.child.pid === undefined ? NaN : (processCpuSeconds(m.child.pid) ?? NaN)]));
}

/** Runs one measured slice and adds what every process used in it to `cpu`. */
async function measuredSlice(t: Target, w: Workload, durationMs: number, cpu: CpuUse): Promise<LoadResult> {
  const before = memberCpu(t);
  const leaderPid = t.cluster.members.find((m) => m.index === t.leaderIndex)?.child.pid;
  const leaderThreads = leaderPid === undefined ? undefined : threadCpuSeconds(leaderPid);
  const client = process.cpuUsage();
  const r = await runWorkload(t, w, durationMs);
  const used = process.cpuUsage(client);
  cpu.client += (used.user + used.system) / 1e6;
  const leaderThreadsAfter = leaderPid === undefined ? undefined : threadCpuSeconds(leaderPid);
  if (leaderThreads !== undefined && leaderThreadsAfter !== undefined) cpu.leaderTopThread += busiestThreadSeconds(leaderThreads, leaderThreadsAfter);
  for (const [index, s] of memberCpu(t)) {
    const d = s - before.get(index)!;
    if (index === t.leaderIndex) cpu.leader += d;
    else cpu.followers += d;
  }
  return r;
}

/**
 * Throughput of every system in `systems`, measured in steady state and so that neither is
 * favoured by order: all clusters run at once; each is first warmed up with both workloads
 * (measured 2026-11-28: Shoal's sequential rate climbs for about 25 s, 150 -> 400 puts/s, while
 * V8 optimizes the servers' code, and a cold shared client alone cost etcd 30 % of its rate, so
 * whichever system went first was measured cold); then the measured time is split into rounds
 * that alternate which system goes first, each slice after a short unmeasured lead-in of the
 * same load. Per system and workload the rounds' puts and latencies are pooled.
 */
async function throughput(systems: KvSystem[]): Promise<Map<KvSystem, Map<string, LoadResult>>> {
  const targets: Target[] = [];
  const results = new Map<KvSystem, Map<string, LoadResult>>();
  const cpu = new Map<string, CpuUse>();
  try {
    for (const system of systems) targets.push(await startTarget(system));
    for (const t of targets) {
      // In 3-second slices that alternate the put workloads, so that both paths get hot (the read
      // shares the server's call path; its own lead-in below warms the rest).
      for (let left = warmupSeconds * 1000; left > 0; ) {
        for (const w of workloads.filter((x) => x.op === "put")) {
          const slice = Math.min(3000, left);
          if (slice <= 0) break;
          const r = await runWorkload(t, w, slice);
          left -= slice;
          progress(`${t.system}: warm-up ${w.name} ${rate(r).toFixed(0)} ${unitOf(w)}/s`);
        }
      }
      results.set(t.system, new Map());
    }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const w of workloads) {
        const line: string[] = [];
        for (const t of order) {
          // Unmeasured lead-in: the system sat idle while the others ran, and V8's code for both
          // the servers and the shared client cools in that time (measured: CPU per put up ~40 %
          // for the first seconds after 25 s idle); steady load is what is being compared.
          if (leadInSeconds > 0) await runWorkload(t, w, leadInSeconds * 1000);
          const key = `${t.system}/${w.name}`;
          if (!cpu.has(key)) cpu.set(key, { leader: 0, followers: 0, client: 0, leaderTopThread: 0 });
          const r = await measuredSlice(t, w, (seconds * 1000) / rounds, cpu.get(key)!);
          const byWorkload = results.get(t.system)!;
          byWorkload.set(w.name, merge(byWorkload.get(w.name), r));
          line.push(`${t.system} ${rate(r).toFixed(0)} ${unitOf(w)}/s${r.errors > 0 ? ` (${r.errors} errors)` : ""}`);
        }
        progress(`round ${round + 1}/${rounds} ${w.name}: ${line.join(", ")}`);
      }
    }
    for (const t of targets) {
      const now = await t.cluster.leader();
      if (now?.index !== t.leaderIndex) progress(`${t.system}: WARNING leadership moved during the run`);
      for (const w of workloads) {
        const r = results.get(t.system)!.get(w.name)!;
        const base = w.op === "read" ? `raft_read_seq_${t.system}` : `raft_put_${w.name}_${t.system}`;
        const unit = unitOf(w);
        out(base, rate(r), `${unit}/s`);
        out(`${base}_p50`, quantile(r.latenciesMs, 0.5), "ms");
        out(`${base}_p99`, quantile(r.latenciesMs, 0.99), "ms");
        if (r.errors > 0) out(`${base}_errors`, r.errors, "errors");
        // CPU per call (all threads of each process): the leader, one follower (their mean), and
        // the benchmark's own gRPC client, which is the same code for both systems.
        const c = cpu.get(`${t.system}/${w.name}`)!;
        const perCall = (s: number): number => (s * 1e6) / r.puts;
        const per = `us/${unit.slice(0, -1)}`;
        out(`${base}_cpu_leader`, perCall(c.leader), per);
        // Of that, what its busiest thread used: a Node.js member's main thread, which does its
        // work in series; Go spreads a member's work over threads the cores run at once.
        out(`${base}_cpu_leader_top_thread`, perCall(c.leaderTopThread), per);
        out(`${base}_cpu_follower`, perCall(c.followers / Math.max(1, t.cluster.members.length - 1)), per);
        out(`${base}_cpu_client`, perCall(c.client), per);
      }
    }
  } finally {
    for (const t of targets) {
      clusters.delete(t.cluster);
      await t.cluster.destroy();
    }
  }
  return results;
}

async function failover(): Promise<void> {
  await withCluster("shoal", async (c) => {
    const times: number[] = [];
    for (let i = 0; i < failovers; i++) {
      const old = await c.waitForLeader(20_000);
      // Every member must be up and following before the next crash, or we measure a lost quorum.
      await waitAllFollow(c, old.index);
      await c.kill(old.index);
      const t0 = performance.now();
      const survivors = c.running();
      let k = 0;
      for (;;) {
        const m = survivors[k++ % survivors.length]!;
        try {
          await m.client.put(`failover/${i}`, "x", { deadlineMs: 300 });
          break;
        } catch {
          // Not committed yet (no leader, or the forwarded put timed out): try the next survivor.
        }
        if (performance.now() - t0 > 30_000) throw new Error(`failover ${i}: no write committed within 30 s`);
      }
      const s = (performance.now() - t0) / 1000;
      times.push(s);
      progress(`failover ${i + 1}/${failovers}: killed member ${old.index}, write committed after ${s.toFixed(3)} s`);
      await c.restart(old.index);
    }
    times.sort((a, b) => a - b);
    out("raft_failover_p50", quantile(times, 0.5), "s");
    out("raft_failover_p99", quantile(times, 0.99), "s");
    out("raft_failover_max", times[times.length - 1]!, "s");
  });
}

async function waitAllFollow(c: KvCluster, leaderIndex: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const sts = await c.statuses();
    if (sts.length === c.members.length && sts.every(({ status }) => status.leader === leaderIndex)) return;
    if (Date.now() > deadline) throw new Error("members did not all follow the leader within 20 s");
    await sleep(50);
  }
}

async function main(): Promise<void> {
  exitOnSignals(async () => {
    await Promise.all([...clusters].map((c) => c.destroy()));
  });
  progress(`${seconds} s per workload in ${rounds} rounds after ${warmupSeconds} s of warm-up, ${failovers} failovers; under shared-CPU load numbers are pessimistic`);
  const systems: KvSystem[] = [];
  if (only.has("shoal")) systems.push("shoal");
  if (only.has("etcd")) {
    if (!existsSync("/usr/bin/etcd")) throw new Error("etcd is not installed at /usr/bin/etcd (run scripts/setup.sh)");
    systems.push("etcd");
  }
  if (systems.length > 0) {
    const results = await throughput(systems);
    const shoal = results.get("shoal");
    const etcd = results.get("etcd");
    if (shoal && etcd) {
      for (const w of workloads) if (w.op === "put") out(`raft_put_${w.name}_ratio`, rate(shoal.get(w.name)!) / rate(etcd.get(w.name)!), "shoal/etcd");
    }
  }
  if (only.has("failover")) await failover();
  if (only.has("lab")) await labBench({ failovers, seconds, progress, out });
  if (only.has("replay")) await replayBench({ mib: Number(process.env["SHOAL_BENCH_REPLAY_MIB"] ?? 64), progress, out });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${describeError(err)}\n`);
    process.exit(1);
  },
);
