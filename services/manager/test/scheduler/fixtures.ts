// Builders for the scheduler's tests: nodes and tasks with just the fields placement reads.
import {
  NodeAvailability,
  NodeMembership,
  NodeRole,
  NodeState,
  PublishMode,
  TaskState,
  runtimePlugin,
  type Node,
  type Platform,
  type Task,
  type TaskSpec,
} from "@shoal/store";

export interface NodeOpts {
  hostname?: string;
  role?: NodeRole;
  state?: NodeState;
  availability?: NodeAvailability;
  nanoCpus?: number;
  memoryBytes?: number;
  /** Discrete generic resources: kind → units. */
  generic?: Record<string, number>;
  /** Named generic resources: [kind, name] (a GPU id…). */
  named?: Array<[string, string]>;
  platform?: Platform;
  labels?: Record<string, string>;
  engineLabels?: Record<string, string>;
  /** The task runtime the node reports ("simulated"); null: none (shoald without --executor). */
  runtime?: string | null;
}

const meta = { version: { index: 1 }, createdAt: 0, updatedAt: 0 };

export function makeNode(id: string, o: NodeOpts = {}): Node {
  const role = o.role ?? NodeRole.WORKER;
  return {
    id,
    meta,
    spec: {
      annotations: { name: "", labels: o.labels ?? {} },
      desiredRole: role,
      membership: NodeMembership.ACCEPTED,
      availability: o.availability ?? NodeAvailability.ACTIVE,
    },
    description: {
      hostname: o.hostname ?? id,
      platform: o.platform ?? { os: "linux", architecture: "x86_64" },
      resources: {
        nanoCpus: o.nanoCpus ?? 4e9,
        memoryBytes: o.memoryBytes ?? 8 * 2 ** 30,
        generic: [
          ...Object.entries(o.generic ?? {}).map(([kind, discrete]) => ({ kind, discrete })),
          ...(o.named ?? []).map(([kind, named]) => ({ kind, named })),
        ],
      },
      engine: { labels: o.engineLabels ?? {}, ...(o.runtime === null ? {} : { plugins: [runtimePlugin(o.runtime ?? "simulated")] }) },
    },
    status: { state: o.state ?? NodeState.READY },
    role,
  };
}

export interface TaskOpts {
  nodeId?: string;
  state?: TaskState;
  desiredState?: TaskState;
  timestampMs?: number;
  nanoCpus?: number;
  memoryBytes?: number;
  generic?: Record<string, number>;
  constraints?: string[];
  spread?: string[];
  maxReplicas?: number;
  platforms?: Platform[];
  hostPorts?: number[];
  /** Named generic resources the task holds: [kind, name]. */
  named?: Array<[string, string]>;
  slot?: number;
}

export function makeTask(id: string, serviceId: string, o: TaskOpts = {}): Task {
  const spec: TaskSpec = { container: { image: "busybox" } };
  if (o.nanoCpus !== undefined || o.memoryBytes !== undefined || o.generic !== undefined) {
    spec.resources = {
      reservations: {
        nanoCpus: o.nanoCpus ?? 0,
        memoryBytes: o.memoryBytes ?? 0,
        generic: Object.entries(o.generic ?? {}).map(([kind, discrete]) => ({ kind, discrete })),
      },
    };
  }
  if (o.constraints !== undefined || o.spread !== undefined || o.maxReplicas !== undefined || o.platforms !== undefined) {
    spec.placement = {
      constraints: o.constraints ?? [],
      preferences: (o.spread ?? []).map((d) => ({ spread: { spreadDescriptor: d } })),
      maxReplicas: o.maxReplicas ?? 0,
      platforms: o.platforms ?? [],
    };
  }
  const task: Task = {
    id,
    meta,
    spec,
    serviceId,
    slot: o.slot ?? 0,
    nodeId: o.nodeId ?? "",
    status: { timestamp: o.timestampMs ?? 0, state: o.state ?? TaskState.PENDING },
    desiredState: o.desiredState ?? TaskState.RUNNING,
  };
  if (o.named !== undefined) task.assignedGenericResources = o.named.map(([kind, named]) => ({ kind, named }));
  if (o.hostPorts !== undefined) {
    task.endpoint = { ports: o.hostPorts.map((p) => ({ targetPort: 80, publishedPort: p, publishMode: PublishMode.HOST })) };
  }
  return task;
}

/** How many of the tasks each node holds ("" for tasks on none). */
export function tasksPerNode(tasks: readonly Task[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tasks) out[t.nodeId] = (out[t.nodeId] ?? 0) + 1;
  return out;
}
