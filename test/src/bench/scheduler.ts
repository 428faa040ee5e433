// The scheduler benchmark: 100,000 pending tasks (100 services × 1,000 tasks with CPU and memory
// reservations; a third spread over zones, a third constrained to a zone) placed by the pure core
// (SchedulerState + scheduleBatch) onto 1,000 and onto 5,000 nodes, in process. Results on stdout
// as `name value unit` lines; progress on stderr. swarmkit's scheduler does ≈ 4,400 placements/s.
//
// Then the same through the edge: the Scheduler over a MemoryStore (no raft), from the tasks'
// creation to the last ASSIGNED commit.
//
// Env: SHOAL_BENCH_SCHED_TASKS (default 100000), SHOAL_BENCH_SCHED_BATCH (tasks per scheduleBatch
// call, default all at once), SHOAL_BENCH_SCHED_NODES (comma list, default 1000,5000).
import { performance } from "node:perf_hooks";
import { silentLogger } from "@shoal/common";
import { Scheduler, SchedulerState, scheduleBatch } from "@shoal/manager";
import { MemoryStore, NodeAvailability, NodeMembership, NodeRole, NodeState, TaskState, runtimePlugin, type Node, type Task } from "@shoal/store";

const TASKS = Number(process.env["SHOAL_BENCH_SCHED_TASKS"] ?? 100_000);
const BATCH = Number(process.env["SHOAL_BENCH_SCHED_BATCH"] ?? TASKS);
const NODE_COUNTS = (process.env["SHOAL_BENCH_SCHED_NODES"] ?? "1000,5000").split(",").map(Number);
const SERVICES = 100;
const ZONES = ["a", "b", "c", "d"];
const GiB = 2 ** 30;
const meta = { version: { index: 1 }, createdAt: 0, updatedAt: 0 };

function out(name: string, value: number, unit: string): void {
  process.stdout.write(`${name} ${Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)} ${unit}\n`);
}

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function makeNodes(count: number): Node[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `node-${String(i).padStart(5, "0")}`,
    meta,
    spec: {
      annotations: { name: "", labels: { zone: ZONES[i % ZONES.length]! } },
      desiredRole: NodeRole.WORKER,
      membership: NodeMembership.ACCEPTED,
      availability: NodeAvailability.ACTIVE,
    },
    description: { hostname: `host-${i}`, platform: { os: "linux", architecture: "amd64" }, resources: { nanoCpus: 16e9, memoryBytes: 64 * GiB }, engine: { plugins: [runtimePlugin("simulated")] } },
    status: { state: NodeState.READY },
    role: NodeRole.WORKER,
  }));
}

function makeTasks(count: number): Task[] {
  const perService = Math.ceil(count / SERVICES);
  return Array.from({ length: count }, (_, i) => {
    const s = Math.floor(i / perService);
    const placement =
      s % 3 === 0 ? { preferences: [{ spread: { spreadDescriptor: "node.labels.zone" } }] } : s % 3 === 1 ? { constraints: [`node.labels.zone==${ZONES[s % ZONES.length]}`] } : undefined;
    return {
      id: `task-${i}`,
      meta,
      spec: { container: { image: "busybox" }, resources: { reservations: { nanoCpus: 1e8, memoryBytes: 128 * 2 ** 20 } }, ...(placement === undefined ? {} : { placement }) },
      serviceId: `service-${s}`,
      slot: (i % perService) + 1,
      nodeId: "",
      status: { timestamp: 0, state: TaskState.PENDING },
      desiredState: TaskState.RUNNING,
    };
  });
}

function run(nodeCount: number): void {
  const nodes = makeNodes(nodeCount);
  const tasks = makeTasks(TASKS);
  const state = SchedulerState.from(nodes, []);
  const start = performance.now();
  let placed = 0;
  let unschedulable = 0;
  for (let i = 0; i < tasks.length; i += BATCH) {
    const d = scheduleBatch(state, tasks.slice(i, i + BATCH), 0);
    placed += d.assignments.length;
    unschedulable += d.unschedulable.length;
  }
  const ms = performance.now() - start;
  progress(`${nodeCount} nodes: ${placed} placed, ${unschedulable} unschedulable in ${ms.toFixed(0)} ms (batches of ${BATCH})`);
  if (unschedulable > 0) progress(`WARNING: ${unschedulable} tasks found no node`);
  out(`scheduler_placements_per_s_${nodeCount}_nodes`, (placed * 1000) / ms, "placements/s");
  out(`scheduler_time_${nodeCount}_nodes`, ms, "ms");
}

/** Through the store: creates the nodes and tasks, starts a Scheduler, waits for every assignment. */
async function runEdge(nodeCount: number): Promise<void> {
  const store = new MemoryStore({ maxBatchActions: 1000 });
  await store.update((tx) => {
    for (const { meta: _m, ...n } of makeNodes(nodeCount)) tx.create("node", n);
  });
  const scheduler = new Scheduler({ tickMs: 10 }, { store, logger: silentLogger() });
  scheduler.start();
  // Counts assignments as they commit.
  const watch = store.watch({ kinds: ["task"], queueLimit: 10 * TASKS });
  let assigned = 0;
  const counting = (async () => {
    for await (const ev of watch) {
      if ((ev.object as Task).status.state === TaskState.ASSIGNED && (ev.oldObject as Task | undefined)?.status.state === TaskState.PENDING) assigned++;
      if (assigned === TASKS) return;
    }
  })();
  const tasks = makeTasks(TASKS);
  const start = performance.now();
  const chunk = 10_000;
  for (let i = 0; i < tasks.length; i += chunk) {
    await store.update((tx) => {
      for (const { meta: _m, ...t } of tasks.slice(i, i + chunk)) tx.create("task", t);
    });
  }
  const deadline = setTimeout(() => watch.close(), 120_000);
  await counting;
  clearTimeout(deadline);
  watch.close();
  const left = TASKS - assigned;
  const ms = performance.now() - start;
  await scheduler.stop();
  store.close();
  progress(`${nodeCount} nodes through the store: ${TASKS - left} assigned in ${ms.toFixed(0)} ms`);
  out(`scheduler_store_placements_per_s_${nodeCount}_nodes`, ((TASKS - left) * 1000) / ms, "placements/s");
}

for (const n of NODE_COUNTS) run(n);
await runEdge(NODE_COUNTS[0]!);
