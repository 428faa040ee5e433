// Quick measurement (not a test): three RaftNodes in this process over loopback gRPC with fsync'd
// writes. Sequential propose→applied latency, then throughput with C proposals (then C read
// barriers) in flight.
// Run: node services/raft/dist/test/driver/bench-raft-node.js [sequentialCount] [concurrency]
import { performance } from "node:perf_hooks";
import { Cluster, put } from "./helpers.js";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 2000);
  const concurrency = Number(process.argv[3] ?? 32);
  const c = new Cluster({ tickMs: 50, electionTicks: 10 });
  try {
    await c.allocate([1, 2, 3]);
    await Promise.all([1, 2, 3].map((id) => c.start(id)));
    const l = await c.leader();
    const value = "x".repeat(100);
    for (let i = 0; i < 100; i++) await l.node!.propose(put(`warm${i}`, value));

    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await l.node!.propose(put(`k${i}`, value));
      lat.push(performance.now() - s);
    }
    const seqMs = performance.now() - t0;
    lat.sort((a, b) => a - b);
    const q = (p: number): string => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);
    process.stdout.write(
      `sequential: ${n} proposals in ${seqMs.toFixed(0)} ms = ${((n / seqMs) * 1000).toFixed(0)}/s; latency ms p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${q(1)}\n`,
    );

    const total = n * 4;
    let next = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++;
          await l.node!.propose(put(`c${i}`, value));
        }
      }),
    );
    const conMs = performance.now() - t1;
    process.stdout.write(`concurrent (${concurrency} in flight): ${total} proposals in ${conMs.toFixed(0)} ms = ${((total / conMs) * 1000).toFixed(0)}/s\n`);

    let reads = 0;
    const t2 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (reads < total) {
          reads++;
          await l.node!.readBarrier();
        }
      }),
    );
    const readMs = performance.now() - t2;
    process.stdout.write(`read barriers on the leader (${concurrency} in flight): ${total} in ${readMs.toFixed(0)} ms = ${((total / readMs) * 1000).toFixed(0)}/s\n`);
  } finally {
    await c.cleanup();
  }
}

await main();
