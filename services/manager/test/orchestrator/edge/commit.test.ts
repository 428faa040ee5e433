import assert from "node:assert/strict";
import { FakeClock, silentLogger } from "@shoal/common";
import { MemoryStore, TaskState } from "@shoal/store";
import { commitPlan } from "../../../src/orchestrator/edge/index.js";
import { newTask, type Plan } from "../../../src/orchestrator/index.js";
import { NOW, service } from "../fixtures.js";

describe("orchestrator edge: committing a plan", () => {
  const svc = service("s", { replicated: { replicas: 2 } });

  async function storeWithTask(): Promise<MemoryStore> {
    const store = new MemoryStore({}, { clock: new FakeClock(NOW) });
    await store.update((tx) => {
      tx.create("service", svc);
      tx.create("task", newTask(svc, { id: "t1", slot: 1 }, NOW));
    });
    return store;
  }

  it("skips a change whose task changed since it was read and commits the others", async () => {
    const store = await storeWithTask();
    const read = store.view((tx) => tx.get("task", "t1"))!;
    await store.update((tx) => tx.update("task", { ...read, status: { ...read.status, state: TaskState.PENDING } }));
    const plan: Plan = {
      services: [],
      changes: [
        { reason: "stale", serviceId: "s", guard: [{ id: "t1", version: read.meta.version.index }], desired: [{ taskId: "t1", desiredState: TaskState.SHUTDOWN }], create: [] },
        { reason: "scale up", serviceId: "s", guard: [], slot: { serviceId: "s", slot: 2, nodeId: "" }, desired: [], create: [newTask(svc, { id: "t2", slot: 2 }, NOW)] },
      ],
    };
    const result = await commitPlan(store, plan, silentLogger());
    assert.deepEqual(result.committed.map((c) => c.reason), ["scale up"]);
    assert.deepEqual([...result.conflicted], ["s"]);
    assert.equal(store.view((tx) => tx.get("task", "t1"))!.desiredState, TaskState.RUNNING);
    assert.ok(store.view((tx) => tx.get("task", "t2")));
  });

  it("refuses to fill a slot that gained a task since it was read", async () => {
    const store = await storeWithTask();
    const plan: Plan = {
      services: [],
      changes: [{ reason: "scale up", serviceId: "s", guard: [], slot: { serviceId: "s", slot: 1, nodeId: "" }, desired: [], create: [newTask(svc, { id: "dup", slot: 1 }, NOW)] }],
    };
    const result = await commitPlan(store, plan, silentLogger());
    assert.deepEqual(result.committed, []);
    assert.equal(store.view((tx) => tx.get("task", "dup")), undefined);
  });
});
