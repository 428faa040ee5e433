// Small builders for test objects: just the fields the store looks at, plus enough realism to
// catch mistakes in copying nested data (arrays, maps, bytes).
import { FakeClock, SeededRandom } from "@shoal/common";
import {
  MemoryStore,
  NodeAvailability,
  NodeMembership,
  NodeRole,
  NodeState,
  TaskState,
  encodeStoreActions,
  generateId,
  type NewObject,
  type Proposer,
  type StoreAction,
} from "../src/index.js";

/** A proposer that records each entry as bytes, the way the raft log would carry it. */
export class RecordingProposer implements Proposer {
  readonly log: Array<{ index: number; data: Uint8Array }> = [];
  private next = 1;
  proposeValue(actions: StoreAction[]): Promise<{ index: number }> {
    const index = this.next++;
    this.log.push({ index, data: encodeStoreActions(actions) });
    return Promise.resolve({ index });
  }
}

export function ids(seed = 1): () => string {
  const random = new SeededRandom(seed);
  return () => generateId(random);
}

export function newStore(proposer?: Proposer, clock = new FakeClock(), opts = {}): { store: MemoryStore; clock: FakeClock } {
  return { store: new MemoryStore(opts, proposer === undefined ? { clock } : { clock, proposer }), clock };
}

export function service(id: string, name: string, labels: Record<string, string> = {}): NewObject<"service"> {
  return {
    id,
    spec: {
      annotations: { name, labels },
      task: {
        container: { image: "busybox:latest", args: ["sleep", "1d"], env: ["A=1"] },
        networks: [{ target: "net-1" }],
      },
      replicated: { replicas: 2 },
    },
  };
}

export function task(id: string, serviceId: string, slot: number, nodeId = "", desiredState = TaskState.RUNNING): NewObject<"task"> {
  return {
    id,
    serviceId,
    slot,
    nodeId,
    spec: { container: { image: "busybox:latest", secrets: [{ secretId: "sec-1", secretName: "s" }] } },
    status: { timestamp: 0, state: TaskState.NEW },
    desiredState,
  };
}

export function node(id: string, hostname: string, role = NodeRole.WORKER): NewObject<"node"> {
  return {
    id,
    spec: { annotations: { name: "" }, desiredRole: role, membership: NodeMembership.ACCEPTED, availability: NodeAvailability.ACTIVE },
    description: { hostname, platform: { architecture: "x86_64", os: "linux" }, resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 } },
    status: { state: NodeState.READY, addr: "10.0.0.1" },
    role,
  };
}

export function secret(id: string, name: string, data = "s3cret"): NewObject<"secret"> {
  return { id, spec: { annotations: { name }, data: new TextEncoder().encode(data) } };
}

export function network(id: string, name: string): NewObject<"network"> {
  return { id, spec: { annotations: { name }, driverConfig: { name: "overlay" }, attachable: true } };
}

export function config(id: string, name: string): NewObject<"config"> {
  return { id, spec: { annotations: { name }, data: new TextEncoder().encode("cfg") } };
}

export function cluster(id: string): NewObject<"cluster"> {
  return {
    id,
    spec: { annotations: { name: "default" }, orchestration: { taskHistoryRetentionLimit: 5 } },
    rootCa: { caCert: new Uint8Array([1, 2, 3]), caCertHash: "abc", joinTokens: { worker: "SHTKN-1-a-w", manager: "SHTKN-1-a-m" } },
  };
}

/** Reads n events from an async iterator, failing the test instead of hanging. */
export async function take<T>(it: AsyncIterator<T>, n: number, timeoutMs = 2000): Promise<T[]> {
  const out: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${out.length}/${n} events`)), Math.max(1, deadline - Date.now()))),
    ]);
    if (r.done) throw new Error(`iterator ended after ${out.length}/${n} events`);
    out.push(r.value);
  }
  return out;
}
