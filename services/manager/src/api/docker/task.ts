// Task ⇄ Docker's swarm.Task JSON (read-only: tasks are made by the orchestrators, never by the
// API). Owns the shape and the task-state names; filters live in routes/tasks.ts.
import { TaskState, type Task } from "@shoal/store";
import type { Json } from "./codec.js";
import { EnumNames } from "./enum-names.js";
import { ports } from "./service.js";
import { genericResources, taskSpecToDocker } from "./task-spec.js";
import { toRfc3339Nano } from "./time.js";

export type DockerTaskState =
  | "new"
  | "pending"
  | "assigned"
  | "accepted"
  | "preparing"
  | "ready"
  | "starting"
  | "running"
  | "complete"
  | "shutdown"
  | "failed"
  | "rejected"
  | "remove"
  | "orphaned";

export const TASK_STATES = new EnumNames<TaskState, DockerTaskState>({
  [TaskState.NEW]: "new",
  [TaskState.PENDING]: "pending",
  [TaskState.ASSIGNED]: "assigned",
  [TaskState.ACCEPTED]: "accepted",
  [TaskState.PREPARING]: "preparing",
  [TaskState.READY]: "ready",
  [TaskState.STARTING]: "starting",
  [TaskState.RUNNING]: "running",
  [TaskState.COMPLETE]: "complete",
  [TaskState.SHUTDOWN]: "shutdown",
  [TaskState.FAILED]: "failed",
  [TaskState.REJECTED]: "rejected",
  [TaskState.REMOVE]: "remove",
  [TaskState.ORPHANED]: "orphaned",
});

/**
 * Docker's swarm.Task JSON. `replicatedJob`: the task belongs to a replicated job, whose slots Docker numbers
 * from 0 (swarm's job reconciler fills 0..TotalCompletions-1, and the docker CLI's job progress
 * counts exactly those); Shoal numbers every mode's slots from 1 (slot 0 marks a per-node slot), so
 * such a task's slot is shown one lower.
 */
export function taskToDocker(t: Task, replicatedJob = false): Json {
  const o: Json = {
    ID: t.id,
    Version: { Index: t.meta.version.index },
    CreatedAt: toRfc3339Nano(t.meta.createdAt),
    UpdatedAt: toRfc3339Nano(t.meta.updatedAt),
  };
  if (t.annotations?.name) o["Name"] = t.annotations.name;
  o["Labels"] = { ...(t.annotations?.labels ?? {}) };
  o["Spec"] = taskSpecToDocker(t.spec);
  o["ServiceID"] = t.serviceId;
  const slot = replicatedJob ? t.slot - 1 : t.slot;
  if (slot > 0) o["Slot"] = slot;
  if (t.nodeId !== "") o["NodeID"] = t.nodeId;
  const st = t.status;
  const status: Json = { Timestamp: toRfc3339Nano(st.timestamp), State: TASK_STATES.name(st.state, "new"), Message: st.message ?? "" };
  if (st.err) status["Err"] = st.err;
  if (st.containerStatus !== undefined) {
    const c: Json = {};
    if (st.containerStatus.containerId !== undefined) c["ContainerID"] = st.containerStatus.containerId;
    if (st.containerStatus.pid !== undefined) c["PID"] = st.containerStatus.pid;
    c["ExitCode"] = st.containerStatus.exitCode ?? 0;
    status["ContainerStatus"] = c;
  }
  status["PortStatus"] = st.portStatus?.ports !== undefined ? { Ports: ports.encode(st.portStatus.ports) } : {};
  o["Status"] = status;
  o["DesiredState"] = TASK_STATES.name(t.desiredState, "running");
  if (t.networks !== undefined) {
    o["NetworksAttachments"] = t.networks.map((n) => ({ Network: { ID: n.networkId }, Addresses: [...(n.addresses ?? [])] }));
  }
  if (t.assignedGenericResources !== undefined) {
    o["AssignedGenericResources"] = genericResources.encode(t.assignedGenericResources);
  }
  if (t.jobIteration !== undefined) o["JobIteration"] = { Index: t.jobIteration };
  return o;
}
