// Properties of scheduleBatch on random clusters (seeded): whatever it decides must be allowed.
import assert from "node:assert/strict";
import { SeededRandom } from "@shoal/common";
import { NodeAvailability, NodeState, type Task } from "@shoal/store";
import { SchedulerState, matchesConstraints, parseConstraints, scheduleBatch } from "../../src/scheduler/index.js";
import { makeNode, makeTask } from "./fixtures.js";

const GiB = 2 ** 30;

function randomCluster(seed: number): { state: SchedulerState; tasks: Task[] } {
  const r = new SeededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
  const nodes = Array.from({ length: 5 + r.int(20) }, (_, i) =>
    makeNode(`n${i}`, {
      memoryBytes: (1 + r.int(8)) * GiB,
      nanoCpus: (1 + r.int(4)) * 1e9,
      labels: r.int(4) === 0 ? {} : { zone: pick(["a", "b", "c"]) },
      state: r.int(8) === 0 ? NodeState.DOWN : NodeState.READY,
      availability: r.int(8) === 0 ? NodeAvailability.DRAIN : NodeAvailability.ACTIVE,
    }),
  );
  const tasks: Task[] = [];
  for (let s = 0; s < 6; s++) {
    const opts = {
      memoryBytes: r.int(3) * GiB,
      nanoCpus: r.int(3) * 5e8,
      ...(r.int(2) === 0 ? { constraints: [`node.labels.zone!=${pick(["a", "b", "c"])}`] } : {}),
      ...(r.int(2) === 0 ? { spread: ["node.labels.zone"] } : {}),
      ...(r.int(3) === 0 ? { maxReplicas: 1 + r.int(2) } : {}),
      ...(r.int(4) === 0 ? { hostPorts: [8000 + s] } : {}),
    };
    for (let i = 0; i < 1 + r.int(30); i++) tasks.push(makeTask(`s${s}.${i}`, `s${s}`, opts));
  }
  return { state: SchedulerState.from(nodes, []), tasks };
}

describe("scheduler: scheduleBatch properties (random clusters)", () => {
  it("never overcommits a node, breaks a constraint, exceeds max replicas or reuses a host port", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const { state, tasks } = randomCluster(seed);
      const d = scheduleBatch(state, tasks, 0);
      assert.equal(d.assignments.length + d.unschedulable.length, tasks.length, `seed ${seed}: every task decided`);
      const byId = new Map(tasks.map((t) => [t.id, t]));
      const perNodeService = new Map<string, number>();
      const ports = new Set<string>();
      for (const a of d.assignments) {
        const t = byId.get(a.taskId)!;
        const info = state.nodes.get(a.nodeId)!;
        assert.ok(info.acceptsTasks, `seed ${seed}: ${t.id} on a node that takes no tasks`);
        assert.ok(matchesConstraints(info.node, parseConstraints(t.spec.placement?.constraints)), `seed ${seed}: ${t.id} breaks a constraint`);
        const k = `${a.nodeId}/${t.serviceId}`;
        perNodeService.set(k, (perNodeService.get(k) ?? 0) + 1);
        const max = t.spec.placement?.maxReplicas ?? 0;
        if (max > 0) assert.ok(perNodeService.get(k)! <= max, `seed ${seed}: max replicas exceeded on ${k}`);
        for (const p of t.endpoint?.ports ?? []) {
          const pk = `${a.nodeId}/${p.publishedPort}`;
          assert.ok(!ports.has(pk), `seed ${seed}: host port reused ${pk}`);
          ports.add(pk);
        }
      }
      for (const info of state.nodes.values()) {
        assert.ok(info.available.memoryBytes >= 0 && info.available.nanoCpus >= 0, `seed ${seed}: ${info.id} overcommitted`);
      }
      for (const u of d.unschedulable) assert.match(u.message, /^no suitable node \(.+\)$/, `seed ${seed}`);
    }
  });

  it("fills a cluster evenly: 1,000 tasks on 10 equal nodes is 100 each", () => {
    const state = SchedulerState.from(
      Array.from({ length: 10 }, (_, i) => makeNode(`n${i}`)),
      [],
    );
    const tasks = Array.from({ length: 1000 }, (_, i) => makeTask(`t${i}`, `s${i % 7}`));
    const d = scheduleBatch(state, tasks, 0);
    assert.equal(d.assignments.length, 1000);
    for (const info of state.nodes.values()) assert.equal(info.activeTasks, 100);
  });
});
