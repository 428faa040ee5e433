// A NodeBackend for API tests: node-local state is plain data the test sets, and manager() wraps a
// real MemoryStore (no proposer: writes commit locally) so versions, lookups and conflicts are the
// store's own. Calls are recorded so tests can assert what reached the backend.
import { FakeClock, ShoalError } from "@shoal/common";
import {
  DEFAULT_CLUSTER_NAME,
  MemoryStore,
  NodeAvailability,
  NodeMembership,
  NodeRole,
  NodeState,
  Reachability,
  type ClusterSpec,
  type Node,
  type NodeSpec,
  TaskState,
  keepUnsetSettings,
  runtimePlugin,
  type ClusterSettingDefaults,
  type ReadTx,
  type Task,
} from "@shoal/store";
import type { ClusterStatus, ClusterUpdateFlags, LocalNodeInfo, ManagerBackend, NodeBackend, SwarmInitRequest, SwarmJoinRequest } from "../../src/api/index.js";
import { createRootCa } from "../../src/ca/index.js";
import { newTask } from "../../src/orchestrator/index.js";

export const CLUSTER_ID = "clusterid000000000000000c";
export const MGR_ID = "selfnode0000000000000000a";
export const WRK_ID = "worker100000000000000000b";
export const WRK2_ID = "worker200000000000000000d";
export const NOW_MS = Date.parse("2026-11-28T04:15:41.919Z");
/** The fake manager's values for the settings a cluster spec leaves unset. */
export const SETTING_DEFAULTS: ClusterSettingDefaults = {
  taskHistoryRetentionLimit: 5,
  snapshotInterval: 10_000,
  logEntriesForSlowFollowers: 1_000,
  electionTick: 8,
  heartbeatTick: 1,
  heartbeatPeriodNs: 2e9,
  nodeCertExpiryNs: 90 * 24 * 3600e9,
};

export type Call =
  | { op: "updateNode"; id: string; version: number; spec: NodeSpec }
  | { op: "removeNode"; id: string; force: boolean }
  | { op: "updateCluster"; version: number; spec: ClusterSpec; flags: ClusterUpdateFlags }
  | { op: "init"; req: SwarmInitRequest }
  | { op: "join"; req: SwarmJoinRequest }
  | { op: "leave"; force: boolean }
  | { op: "unlock"; key: string };

class FakeError extends ShoalError {}

// One root CA for every fake backend: key generation is the slow part of a test's setup.
let sharedRoot: ReturnType<typeof createRootCa> | undefined;

function node(id: string, hostname: string, role: NodeRole, addr: string, extra: Partial<Node> = {}): Node {
  return {
    id,
    meta: { version: { index: 0 }, createdAt: 0, updatedAt: 0 },
    spec: { annotations: { name: "", labels: {} }, desiredRole: role, membership: NodeMembership.ACCEPTED, availability: NodeAvailability.ACTIVE },
    description: {
      hostname,
      platform: { architecture: "x86_64", os: "linux" },
      resources: { nanoCpus: 4e9, memoryBytes: 8 * 1024 ** 3 },
      engine: { engineVersion: "0.1.0", labels: { zone: hostname === "wrk2" ? "b" : "a" }, plugins: [runtimePlugin("simulated")] },
    },
    status: { state: NodeState.READY, addr },
    role,
    ...extra,
  };
}

export class FakeBackend implements NodeBackend {
  readonly calls: Call[] = [];
  readonly store: MemoryStore;
  localInfo: LocalNodeInfo;
  isManager = true;
  unlockKeyValue = "";
  raft: ClusterStatus = {
    clusterId: CLUSTER_ID,
    raftId: 1,
    leaderRaftId: 1,
    term: 3,
    commitIndex: 40,
    appliedIndex: 40,
    members: [{ raftId: 1, nodeId: MGR_ID, hostname: "mgr1", addr: "127.0.0.1:2377", suffrage: "voter", leader: true, reachable: true, matchIndex: 40 }],
  };
  /** Thrown by the next write (to test error mapping). */
  failNext: Error | undefined;
  /** While set, reads of cluster state are refused with it (a manager that knows no leader). */
  noLeader: Error | undefined;

  private constructor() {
    this.store = new MemoryStore({}, { clock: new FakeClock(NOW_MS) });
    this.localInfo = {
      nodeId: MGR_ID,
      nodeAddr: "127.0.0.1",
      localNodeState: "active",
      controlAvailable: true,
      error: "",
      remoteManagers: [{ nodeId: MGR_ID, addr: "127.0.0.1:2377" }],
      clusterId: CLUSTER_ID,
      hostname: "mgr1",
      ncpu: 4,
      memTotalBytes: 8 * 1024 ** 3,
      os: "linux",
      architecture: "x86_64",
      kernelVersion: "6.18.0",
      version: "0.1.0",
    };
  }

  /** A manager of a 3-node swarm (mgr1 leader; wrk1, wrk2 workers). */
  static async create(): Promise<FakeBackend> {
    const b = new FakeBackend();
    sharedRoot ??= createRootCa({ clusterId: CLUSTER_ID });
    const root = await sharedRoot;
    await b.store.update((tx) => {
      tx.create("cluster", {
        id: CLUSTER_ID,
        spec: {
          annotations: { name: DEFAULT_CLUSTER_NAME, labels: {} },
          orchestration: { taskHistoryRetentionLimit: 5 },
          raft: { snapshotInterval: 10000, keepOldSnapshots: 0, logEntriesForSlowFollowers: 500, electionTick: 10, heartbeatTick: 1 },
          dispatcher: { heartbeatPeriodNs: 5e9 },
          caConfig: { nodeCertExpiryNs: 7776000000000000 },
        },
        rootCa: {
          caCert: new TextEncoder().encode(root.certPem),
          caCertHash: "digest",
          joinTokens: { worker: "SHTKN-1-digest-workersecret", manager: "SHTKN-1-digest-managersecret" },
        },
      });
      tx.create("node", node(MGR_ID, "mgr1", NodeRole.MANAGER, "127.0.0.1", { managerStatus: { raftId: 1, addr: "127.0.0.1:2377", reachability: Reachability.REACHABLE } }));
      tx.create("node", node(WRK_ID, "wrk1", NodeRole.WORKER, "127.0.0.2"));
      tx.create("node", node(WRK2_ID, "wrk2", NodeRole.WORKER, "127.0.0.3", { spec: { annotations: { name: "", labels: { tier: "db" } }, desiredRole: NodeRole.WORKER, membership: NodeMembership.ACCEPTED, availability: NodeAvailability.DRAIN } }));
    });
    return b;
  }

  /**
   * Seeds a task of a service as the orchestrator makes it (newTask: the current template and
   * endpoint, named <service>.<slot>.<id>), with the observed state and node given.
   */
  async addTask(serviceId: string, opts: { id: string; slot: number; nodeId?: string; state?: TaskState; desiredState?: TaskState; stale?: boolean }): Promise<Task> {
    return this.store.update((tx) => {
      const s = tx.get("service", serviceId)!;
      const task = newTask(s, { id: opts.id, slot: opts.slot, nodeId: opts.nodeId ?? "", desiredState: opts.desiredState ?? TaskState.RUNNING }, NOW_MS);
      task.status = { timestamp: NOW_MS, state: opts.state ?? TaskState.RUNNING, message: "started" };
      // A stale task runs an older image than the service asks for.
      // (newTask shares the service's frozen template, so the stale one is a new object.)
      const c = task.spec.container;
      if (opts.stale === true && c !== undefined) task.spec = { ...task.spec, container: { ...c, image: `${c.image}-old` } };
      return tx.create("task", task);
    });
  }

  /** Makes this node a worker / inactive / locked (manager() then answers undefined). */
  setState(state: "worker" | "inactive" | "locked"): void {
    this.isManager = false;
    const base = { ...this.localInfo, controlAvailable: false };
    if (state === "worker") this.localInfo = { ...base, localNodeState: "active" };
    else if (state === "locked") this.localInfo = { ...base, localNodeState: "locked" };
    else this.localInfo = { ...base, localNodeState: "inactive", nodeId: "", nodeAddr: "", clusterId: "", remoteManagers: [] };
  }

  private takeFailure(): void {
    const f = this.failNext;
    this.failNext = undefined;
    if (f !== undefined) throw f;
  }

  info(): LocalNodeInfo {
    return this.localInfo;
  }

  async init(req: SwarmInitRequest): Promise<string> {
    this.calls.push({ op: "init", req });
    this.takeFailure();
    return MGR_ID;
  }

  async join(req: SwarmJoinRequest): Promise<void> {
    this.calls.push({ op: "join", req });
    this.takeFailure();
  }

  async leave(force: boolean): Promise<void> {
    this.calls.push({ op: "leave", force });
    this.takeFailure();
  }

  async unlock(key: string): Promise<void> {
    this.calls.push({ op: "unlock", key });
    this.takeFailure();
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: "text/plain; version=0.0.4; charset=utf-8", body: "# HELP shoal_up 1 when up\nshoal_up 1\n" };
  }

  manager(): ManagerBackend | undefined {
    if (!this.isManager) return undefined;
    const store = this.store;
    return {
      store,
      leaderForRead: async () => {
        if (this.noLeader !== undefined) throw this.noLeader;
      },
      linearizableView: async <R>(fn: (tx: ReadTx) => R): Promise<R> => store.view(fn),
      clusterStatus: () => this.raft,
      clusterSettingDefaults: () => SETTING_DEFAULTS,
      updateCluster: async (version, spec, flags) => {
        this.calls.push({ op: "updateCluster", version, spec, flags });
        this.takeFailure();
        await store.update((tx) => {
          const c = tx.find("cluster")[0]!;
          tx.update("cluster", { ...c, meta: { ...c.meta, version: { index: version } }, spec: keepUnsetSettings(c.spec, spec, SETTING_DEFAULTS) });
        });
      },
      unlockKey: async () => this.unlockKeyValue,
      updateNode: async (id, version, spec) => {
        this.calls.push({ op: "updateNode", id, version, spec });
        this.takeFailure();
        await store.update((tx) => {
          const n = tx.get("node", id)!;
          tx.update("node", { ...n, meta: { ...n.meta, version: { index: version } }, spec });
        });
      },
      removeNode: async (id, force) => {
        this.calls.push({ op: "removeNode", id, force });
        this.takeFailure();
        const n = store.view((tx) => tx.get("node", id));
        if (n?.role === NodeRole.MANAGER) throw new FakeError({ code: "NODE_IS_MANAGER" }, `node ${id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`);
        if (!force && n?.status.state !== NodeState.DOWN) throw new FakeError({ code: "NODE_NOT_DOWN" }, `node ${id} is not down and can't be removed`);
        await store.update((tx) => tx.delete("node", id));
      },
    };
  }
}
