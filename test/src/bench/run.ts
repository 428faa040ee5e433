// The Raft benchmark: 3-member Shoal KV (fsync on) against 3-member etcd through the same gRPC
// client (puts of 256-byte values, 1 sequential client and 32 concurrent clients, sent to the
// leader), then Shoal's failover time (SIGKILL the leader, time until a write commits through a
// surviving member). Results on stdout as `name value unit` lines; progress on stderr.
//
// Env: SHOAL_BENCH_SECONDS (per workload, default 10), SHOAL_BENCH_FAILOVERS (default 20),
// SHOAL_BENCH_ONLY (comma list of: shoal, etcd, failover, lab; default all). `lab` runs the manager
// benchmarks on a lab of 3 shoald managers (lab.ts).
import { existsSync } from "node:fs";
import { describeError, sleep } from "@shoal/common";
import { exitOnSignals } from "../cluster/child.js";
import { KvCluster } from "../cluster/kv-cluster.js";
import type { KvSystem } from "../cluster/kv-client.js";
import { labBench } from "./lab.js";
import { quantile, runPutLoad, type LoadResult } from "./load.js";

const seconds = Number(process.env["SHOAL_BENCH_SECONDS"] ?? 10);
const failovers = Number(process.env["SHOAL_BENCH_FAILOVERS"] ?? 20);
const only = new Set((process.env["SHOAL_BENCH_ONLY"] ?? "shoal,etcd,failover,lab").split(",").map((s) => s.trim()));

const clusters = new Set<KvCluster>();

function out(name: string, value: number, unit: string): void {
  const v = Number.isFinite(value) ? (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)) : "NaN";
  process.stdout.write(`${name} ${v} ${unit}\n`);
}

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

interface Workload {
  name: "seq" | "c32";
  clients: number;
  connections: number;
}

const workloads: Workload[] = [
  { name: "seq", clients: 1, connections: 1 },
  { name: "c32", clients: 32, connections: 8 },
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

async function throughput(system: KvSystem): Promise<Map<string, LoadResult>> {
  const results = new Map<string, LoadResult>();
  await withCluster(system, async (c) => {
    const leader = await c.waitForLeader(20_000);
    progress(`${system}: leader is member ${leader.index} (${leader.clientAddress})`);
    // Warm-up: connections, JIT, the storage's first allocations.
    await runPutLoad({ system, address: leader.clientAddress, clients: 8, connections: 2, durationMs: 1000, valueBytes: 256 });
    for (const w of workloads) {
      const r = await runPutLoad({
        system,
        address: leader.clientAddress,
        clients: w.clients,
        connections: w.connections,
        durationMs: seconds * 1000,
        valueBytes: 256,
      });
      const now = await c.leader();
      if (now !== leader) progress(`${system}: WARNING leadership moved during ${w.name} (errors ${r.errors})`);
      results.set(w.name, r);
      const base = `raft_put_${w.name}_${system}`;
      out(base, (r.puts * 1000) / r.elapsedMs, "puts/s");
      out(`${base}_p50`, quantile(r.latenciesMs, 0.5), "ms");
      out(`${base}_p99`, quantile(r.latenciesMs, 0.99), "ms");
      if (r.errors > 0) out(`${base}_errors`, r.errors, "errors");
    }
  });
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
  progress(`${seconds} s per workload, ${failovers} failovers; under shared-CPU load numbers are pessimistic`);
  let shoal: Map<string, LoadResult> | undefined;
  let etcd: Map<string, LoadResult> | undefined;
  if (only.has("shoal")) shoal = await throughput("shoal");
  if (only.has("etcd")) {
    if (!existsSync("/usr/bin/etcd")) throw new Error("etcd is not installed at /usr/bin/etcd (run scripts/setup.sh)");
    etcd = await throughput("etcd");
  }
  if (shoal && etcd) {
    for (const w of workloads) {
      const s = shoal.get(w.name)!;
      const e = etcd.get(w.name)!;
      out(`raft_put_${w.name}_ratio`, (s.puts / s.elapsedMs) / (e.puts / e.elapsedMs), "shoal/etcd");
    }
  }
  if (only.has("failover")) await failover();
  if (only.has("lab")) await labBench({ failovers, seconds, progress, out });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${describeError(err)}\n`);
    process.exit(1);
  },
);
