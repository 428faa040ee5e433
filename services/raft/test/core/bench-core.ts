// Throughput of the pure core over the in-test network (no disk, no sockets): how many entries per
// second the algorithm itself can commit. Run: node services/raft/dist/test/core/bench-core.js
import { Network } from "./network.js";

function run(size: number, total: number, batch: number): number {
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const net = new Network(ids);
  net.elect(1);
  const data = new Uint8Array(128);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i += batch) {
    for (let j = 0; j < batch; j++) net.node(1).raw.propose(data);
    net.stabilize();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (net.node(1).raw.status().commit !== total + 1) throw new Error("not everything committed");
  return total / seconds;
}

for (const size of [1, 3, 5]) {
  const rate = run(size, 100_000, 100);
  process.stdout.write(`${size} member(s): ${Math.round(rate)} entries/s (128-byte entries, batches of 100)\n`);
}
