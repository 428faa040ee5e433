// Shared by the worker tests: tasks as the managers send them and polling for a condition.
import { sleep } from "@shoal/common";
import { TaskState, type Task } from "@shoal/store";

export function assignedTask(id: string, nodeId: string, env: string[] = [], desiredState = TaskState.RUNNING): Task {
  return {
    id,
    meta: { version: { index: 1 }, createdAt: 0, updatedAt: 0 },
    spec: { container: { image: "busybox", env } },
    serviceId: "svc",
    slot: 1,
    nodeId,
    status: { timestamp: 0, state: TaskState.ASSIGNED },
    desiredState,
  };
}

export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
