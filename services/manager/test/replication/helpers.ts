// Fixtures: N ReplicatedStores in this process on 127.0.0.1 with temp data dirs and small ticks.
// cleanup() stops every member and removes the dirs, even after a failed test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPorts, silentLogger } from "@shoal/common";
import { GrpcTransport, type RaftTransport } from "@shoal/raft";
import type { NewObject } from "@shoal/store";
import { ReplicatedStore, type LeaderForwarder, type ReplicatedStoreOptions } from "../../src/replication/replicated-store.js";


export function service(id: string, name: string): NewObject<"service"> {
  return {
    id,
    spec: {
      annotations: { name, labels: {} },
      task: { container: { image: "busybox:latest", args: ["sleep", "1d"] } },
      replicated: { replicas: 1 },
    },
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `inner`, except for the methods `over` replaces (a test's filter on what a member sends or hears). */
function filteredTransport(inner: RaftTransport, over: Partial<Pick<RaftTransport, "send" | "onMessage">>): RaftTransport {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "send" && over.send !== undefined) return over.send;
      if (prop === "onMessage" && over.onMessage !== undefined) return over.onMessage;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export class StoreCluster {
  private rootDir: string | undefined;

  /** Made on first use: clusters are built when mocha loads the file, also for tests it then skips (-g). */
  get root(): string {
    this.rootDir ??= mkdtempSync(join(tmpdir(), "shoal-replication-"));
    return this.rootDir;
  }
  readonly members = new Map<number, ReplicatedStore | undefined>();
  addresses: Record<number, string> = {};

  constructor(
    private readonly over: Partial<ReplicatedStoreOptions> = {},
    private readonly forwarder?: LeaderForwarder,
  ) {}

  async startAll(ids: number[]): Promise<void> {
    // Distinct from each other and from the cluster's other members: drawn one by one, two members
    // could get the same port, the second then failing to start with EADDRINUSE (the likely cause
    // of one such CI failure).
    const taken = Object.values(this.addresses).map((a) => Number(a.split(":")[1]));
    const ports = await freeLoopbackPorts(ids.length, undefined, taken);
    ids.forEach((id, i) => (this.addresses[id] = `127.0.0.1:${ports[i]!}`));
    await Promise.all(ids.map((id) => this.start(id)));
  }

  /**
   * Starts (or restarts) member `id`; `raftOver` adds start options such as forceNewCluster, and
   * `transport` replaces the member's own (a test's filter around a GrpcTransport).
   */
  async start(id: number, raftOver: Partial<ReplicatedStoreOptions["raft"]> = {}, transport?: RaftTransport): Promise<ReplicatedStore> {
    const rs = await ReplicatedStore.start(
      {
        commitTimeoutMs: 1000,
        ...this.over,
        raft: { id, dataDir: join(this.root, `m${id}`), listen: this.addresses[id]!, peers: this.addresses, tickMs: 20, electionTicks: 10, heartbeatTicks: 1, ...this.over.raft, ...raftOver },
      },
      {
        logger: silentLogger(),
        ...(this.forwarder === undefined ? {} : { forwarder: this.forwarder }),
        ...(transport === undefined ? {} : { transport }),
      },
    );
    this.members.set(id, rs);
    return rs;
  }

  /**
   * Starts (or restarts) member `id` over its own GrpcTransport with `filter`'s replacements for
   * what it sends or hears (given the transport, to pass on what the filter keeps).
   */
  async startFiltered(id: number, filter: (inner: RaftTransport) => Partial<Pick<RaftTransport, "send" | "onMessage">>): Promise<ReplicatedStore> {
    const inner = new GrpcTransport({ id, listen: this.addresses[id]! }, { logger: silentLogger() });
    return this.start(id, {}, filteredTransport(inner, filter(inner)));
  }

  get(id: number): ReplicatedStore {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`member ${id} is not running`);
    return m;
  }

  running(): ReplicatedStore[] {
    return [...this.members.values()].filter((m): m is ReplicatedStore => m !== undefined);
  }

  async stop(id: number): Promise<void> {
    const m = this.members.get(id);
    this.members.set(id, undefined);
    await m?.stop();
  }

  async leader(timeoutMs = 5000): Promise<ReplicatedStore> {
    let found: ReplicatedStore | undefined;
    await waitFor(() => {
      const leaders = this.running().filter((m) => m.isLeader());
      found = leaders.length === 1 ? leaders[0] : undefined;
      return found !== undefined;
    }, timeoutMs, "a leader");
    return found!;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.running().map((m) => m.stop()));
    this.members.clear();
    if (this.rootDir !== undefined) rmSync(this.rootDir, { recursive: true, force: true });
    this.rootDir = undefined;
  }
}
