// Properties of scheduleBatch on random clusters (seeded): whatever it decides must be allowed.
import assert from "node:assert/strict";
import { SeededRandom } from "@shoal/common";
import { NodeAvailability, NodeState, PublishMode, type Task, type TaskSpec } from "@shoal/store";
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

  it("decides tasks that share one spec object (as stored tasks do, even across services) exactly as tasks with their own copies", () => {
    let crossService = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const copies = randomCluster(seed);
      const shared = randomCluster(seed);
      // One spec object per distinct spec, whichever service holds it; some tasks of a service
      // publish a host port and some do not.
      const specs = new Map<string, TaskSpec>();
      const tasks = shared.tasks.map((t, i) => {
        const key = JSON.stringify(t.spec);
        if (!specs.has(key)) specs.set(key, t.spec);
        return i % 5 === 0 ? { ...t, spec: specs.get(key)!, endpoint: { ports: [{ targetPort: 80, publishedPort: 9000 + i, publishMode: PublishMode.HOST }] } } : { ...t, spec: specs.get(key)! };
      });
      const servicesPerSpec = new Map<TaskSpec, Set<string>>();
      for (const t of tasks) servicesPerSpec.set(t.spec, (servicesPerSpec.get(t.spec) ?? new Set()).add(t.serviceId));
      crossService += [...servicesPerSpec.values()].filter((ids) => ids.size > 1).length;
      const expected = scheduleBatch(copies.state, copies.tasks.map((t, i) => (i % 5 === 0 ? { ...t, endpoint: tasks[i]!.endpoint! } : t)), 0);
      assert.deepEqual(scheduleBatch(shared.state, tasks, 0), expected, `seed ${seed}`);
    }
    assert.ok(crossService > 0, "some specs are shared by more than one service");
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
