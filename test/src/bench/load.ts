// Closed-loop load against one endpoint: `clients` concurrent loops, each sending its next call
// when the previous one returns, for a fixed duration; latencies recorded per call. The calls are
// puts, or (`op: "read"`) serializable reads of one key: a unary call that the server answers from
// its own state without Raft, so its cost is the gRPC server's per-call cost alone.
import { randomBytes } from "node:crypto";
import { KvClient, type KvSystem } from "../cluster/kv-client.js";

export interface LoadOptions {
  system: KvSystem;
  address: string;
  clients: number;
  /** gRPC channels shared round-robin by the clients (etcd's benchmark --conns). */
  connections: number;
  durationMs: number;
  valueBytes: number;
  /** Keys are drawn uniformly from this many (etcd's benchmark --key-space-size). */
  keySpace?: number;
  deadlineMs?: number;
  /** "put" (default), or "read": serializable reads of one key (`bench/read`, written first). */
  op?: "put" | "read";
}

export interface LoadResult {
  /** Calls that succeeded: puts, or reads with `op: "read"` (the seeding put is not counted). */
  puts: number;
  errors: number;
  elapsedMs: number;
  /** Sorted ascending, ms. */
  latenciesMs: number[];
}

export async function runPutLoad(opts: LoadOptions): Promise<LoadResult> {
  const conns = Array.from({ length: opts.connections }, () => new KvClient(opts.address, { system: opts.system, deadlineMs: opts.deadlineMs ?? 5000 }));
  const value = randomBytes(opts.valueBytes);
  const keySpace = opts.keySpace ?? 10_000;
  const latencies: number[] = [];
  let errors = 0;
  const read = opts.op === "read";
  if (read) await conns[0]!.put("bench/read", value);
  const start = performance.now();
  const end = start + opts.durationMs;
  try {
    await Promise.all(
      Array.from({ length: opts.clients }, async (_, i) => {
        const c = conns[i % conns.length]!;
        let n = i;
        while (performance.now() < end) {
          // A cheap deterministic key walk: spreads keys without a random draw per put.
          n = (n * 7919 + 104729) % keySpace;
          const t0 = performance.now();
          try {
            if (read) await c.range("bench/read", { serializable: true });
            else await c.put(`bench/${n}`, value);
            latencies.push(performance.now() - t0);
          } catch {
            errors++;
          }
        }
      }),
    );
  } finally {
    for (const c of conns) c.close();
  }
  const elapsedMs = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return { puts: latencies.length, errors, elapsedMs, latenciesMs: latencies };
}

/** The q-quantile (0..1) of ascending values, nearest rank; NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
