// What a restarting manager pays for the raft log behind its last snapshot: a one-member
// ReplicatedStore (LevelDB, encrypted as a manager's is) takes services' tasks as the orchestrators
// write them (created ASSIGNED, then two status updates each) until the log holds `mib` MiB with no
// snapshot, stops, starts again and is timed until it has applied every entry. The snapshot floor
// (SNAPSHOT_FLOOR_BYTES) bounds that log.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPorts, silentLogger, sleep } from "@shoal/common";
import { ReplicatedStore, newTask, type ReplicatedStoreOptions } from "@shoal/manager";
import { TaskState, type ServiceSpec } from "@shoal/store";

export interface ReplayBenchOptions {
  mib: number;
  progress: (msg: string) => void;
  out: (name: string, value: number, unit: string) => void;
}

const pad = (prefix: string, n: number): string => prefix + String(n).padStart(24, "0");

export async function replayBench({ mib, progress, out }: ReplayBenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "shoal-replay-"));
  let rs: ReplicatedStore | undefined;
  try {
    const [port] = await freeLoopbackPorts(1);
    const addr = `127.0.0.1:${port!}`;
    const opts: ReplicatedStoreOptions = {
      commitTimeoutMs: 10_000,
      raft: { id: 1, dataDir: join(dir, "m1"), listen: addr, peers: { 1: addr }, snapshotBytes: Number.MAX_SAFE_INTEGER, snapshotEntries: Number.MAX_SAFE_INTEGER, encryptionKey: randomBytes(32) },
    };
    rs = await ReplicatedStore.start(opts, { logger: silentLogger() });
    while (!rs.isLeader()) await sleep(20);
    const store = rs.store;
    let tasks = 0;
    for (let s = 0; rs.raft.snapshotStats().logBytesSinceSnapshot < mib * 2 ** 20; s++) {
      const spec: ServiceSpec = { annotations: { name: `replay${s}`, labels: {} }, task: { container: { image: "busybox" } }, replicated: { replicas: 1000 }, endpoint: { mode: 0 } };
      await store.update((tx) => tx.create("service", { id: pad("s", s), spec }));
      const svc = store.view((tx) => tx.get("service", pad("s", s))!);
      const ids: string[] = [];
      await store.batch((b) => {
        for (let slot = 1; slot <= 1000; slot++) {
          const id = pad("t", tasks++);
          ids.push(id);
          const t = newTask(svc, { id, slot }, Date.now());
          t.nodeId = pad("n", slot);
          t.status = { timestamp: Date.now(), state: TaskState.ASSIGNED, message: "assigned" };
          void b.update((tx) => tx.create("task", t));
        }
      });
      for (const state of [TaskState.STARTING, TaskState.RUNNING]) {
        await store.batch((b) => {
          for (const id of ids) {
            void b.update((tx) => {
              const cur = tx.get("task", id)!;
              tx.update("task", { ...cur, status: { timestamp: Date.now(), state, message: "started" } });
            });
          }
        });
      }
    }
    const logBytes = rs.raft.snapshotStats().logBytesSinceSnapshot;
    const last = store.appliedIndex;
    progress(`replay: ${tasks} tasks wrote ${(logBytes / 2 ** 20).toFixed(1)} MiB of log in ${last} entries; restarting`);
    await rs.stop();
    rs = undefined;
    const t0 = performance.now();
    rs = await ReplicatedStore.start(opts, { logger: silentLogger() });
    while (rs.store.appliedIndex < last) await sleep(5);
    const ms = performance.now() - t0;
    out("store_replay_log_mib", logBytes / 2 ** 20, "MiB");
    out("store_replay_ms", ms, "ms");
    out("store_replay_ms_per_mib", ms / (logBytes / 2 ** 20), "ms/MiB");
  } finally {
    await rs?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
