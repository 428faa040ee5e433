// Manager: one manager node's control plane, composed. Owns the node's gRPC server (one port:
// raft, Ca, Control, Dispatcher, all over TLS with the node's certificate), the replicated store,
// and the leader-only components, which it starts on gaining leadership and stops on losing it.
// It implements the REST API's ManagerBackend. It must not touch the node's state dir beyond the
// raft data dir it is given (the node daemon owns identity and keys).
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { sleep, systemClock, systemRandom, type Clock, type Logger, type Random } from "@shoal/common";
import { GrpcTransport, type NodeId, type RaftNodeOptions } from "@shoal/raft";
import {
  DEFAULT_NODE_CERT_EXPIRY_NS,
  DEFAULT_TASK_HISTORY_RETENTION_LIMIT,
  NodeRole,
  NodeState,
  Reachability,
  keepUnsetSettings,
  type Cluster,
  type ClusterSettingDefaults,
  type ClusterSpec,
  type MemoryStore,
  type Node,
  type NodeSpec,
  type ReadTx,
} from "@shoal/store";
import type { ClusterStatus, ClusterUpdateFlags, ManagerBackend, RaftMemberStatus } from "../api/backend.js";
import { clientCredentials, generateJoinToken, peerIdentity, serverCredentials, type TlsMaterial } from "../ca/index.js";
import { ReplicatedStore } from "../replication/index.js";
import { CaService } from "./ca-service.js";
import { checkCaSpecChange, checkDispatcherSpec, currentUnlockKey, getCluster, newUnlockKey, rootCaPems } from "./cluster-object.js";
import { ControlService } from "./control-service.js";
import type { AssignmentStats } from "./assignments.js";
import { Dispatcher } from "./dispatcher.js";
import { ControlError } from "./errors.js";
import { GrpcForwarder, type ClientTls } from "./forwarder.js";
import { Membership, checkVoterRemoval } from "./membership.js";
import { RaftSettingsFollower, checkRaftSpecChange } from "./raft-settings.js";
import { startInTurns } from "./staged-start.js";

/** A leader-only component (scheduler, orchestrators…): started on gaining leadership. */
export interface LeaderComponent {
  start(): void;
  stop(): Promise<void> | void;
}

export const DEFAULT_MANAGER_ELECTION_TICKS = 8;
/** How long `node rm` waits for a demoted manager to finish leaving raft. */
const REMOVE_WAIT_FOR_DEMOTION_MS = 5_000;

export interface ManagerOptions {
  nodeId: string;
  clusterId: string;
  raftId: number;
  /** The raft log, snapshots and members live here. */
  raftDir: string;
  /** host:port the gRPC server binds. */
  listenAddr: string;
  /** host:port other nodes dial. */
  advertiseAddr: string;
  /** A new cluster: the initial members (just this one at init). */
  peers?: Record<NodeId, string>;
  /** Joining an existing cluster: start empty, the leader adds us. */
  join?: boolean;
  forceNewCluster?: boolean;
  /** 32-byte key encrypting raft data at rest. */
  encryptionKey?: Uint8Array;
  tickMs?: number;
  electionTicks?: number;
  defaultHeartbeatPeriodMs?: number;
  /** Heartbeat periods a node may miss before it is marked DOWN (the dispatcher's graceMultiplier). */
  heartbeatGrace?: number;
}

export interface ManagerModules {
  logger: Logger;
  /** The node's current TLS material (renewals are picked up by new connections). */
  tls: () => TlsMaterial;
  clock?: Clock;
  random?: Random;
  /** Built once the store exists; started and stopped with leadership. */
  leaderComponents?: (store: MemoryStore) => LeaderComponent[];
}

export class Manager implements ManagerBackend {
  private readonly log: Logger;
  private readonly clock: Clock;
  private leaderParts: LeaderComponent[] = [];
  private leading = false;
  /** Counts leadership changes: a start that spans turns stops when another change came. */
  private leaderships = 0;
  private stopped = false;
  private readonly raftSettings: RaftSettingsFollower;

  private constructor(
    private readonly opts: ManagerOptions,
    modules: ManagerModules,
    readonly rs: ReplicatedStore,
    private readonly server: grpc.Server,
    private readonly forwarder: GrpcForwarder,
    private readonly dispatcher: Dispatcher,
    private readonly membership: Membership,
  ) {
    this.log = modules.logger.child({ component: "manager" });
    this.clock = modules.clock ?? systemClock;
    this.raftSettings = new RaftSettingsFollower(rs.store, (r) => rs.raft.setLogRetention(r), this.log);
  }

  static async start(opts: ManagerOptions, modules: ManagerModules): Promise<Manager> {
    const log = modules.logger;
    const clusterId = opts.clusterId;
    const clientTls = (): ClientTls => {
      const m = modules.tls();
      return clientCredentials({ rootCertPem: m.rootCertPem, certPem: m.certPem, keyPem: m.keyPem, expect: { role: "manager", clusterId } });
    };
    const server = new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1, "grpc.keepalive_permit_without_calls": 1 });
    const peerTls = clientTls();
    const transportOpts: ConstructorParameters<typeof GrpcTransport>[0] = {
      id: opts.raftId,
      listen: opts.advertiseAddr,
      server,
      channelOptions: peerTls.channelOptions,
      tls: { client: peerTls.credentials },
      authorize: ({ certificate }) => {
        const who = peerIdentity({ getAuthContext: () => (certificate === undefined ? {} : { sslPeerCertificate: certificate }) });
        return who !== undefined && who.role === "manager" && who.clusterId === clusterId;
      },
    };
    const transportModules: ConstructorParameters<typeof GrpcTransport>[1] = { logger: log };
    if (modules.clock !== undefined) transportModules.clock = modules.clock;
    const transport = new GrpcTransport(transportOpts, transportModules);
    const forwarder = new GrpcForwarder(clientTls);
    const raft: RaftNodeOptions = {
      id: opts.raftId,
      dataDir: opts.raftDir,
      listen: opts.advertiseAddr,
      peers: opts.peers ?? {},
    };
    if (opts.join === true) raft.join = true;
    if (opts.forceNewCluster === true) raft.forceNewCluster = true;
    if (opts.encryptionKey !== undefined) raft.encryptionKey = opts.encryptionKey;
    if (opts.tickMs !== undefined) raft.tickMs = opts.tickMs;
    // 8 ticks (randomized 0.8–1.6 s at the default 100 ms tick), not the raft library's 10: a
    // manager's failover must stay under 2 s even at the top of the randomized range.
    raft.electionTicks = opts.electionTicks ?? DEFAULT_MANAGER_ELECTION_TICKS;
    const rsModules: Parameters<typeof ReplicatedStore.start>[1] = { logger: log, transport, forwarder };
    if (modules.clock !== undefined) rsModules.clock = modules.clock;
    if (modules.random !== undefined) rsModules.random = modules.random;
    const rs = await ReplicatedStore.start({ raft }, rsModules);
    try {
      const base = { rs, logger: log, ...(modules.clock === undefined ? {} : { clock: modules.clock }) };
      const ca = new CaService({ ...base, ...(modules.random === undefined ? {} : { random: modules.random }) });
      const control = new ControlService({ clusterId }, { rs, logger: log, random: modules.random ?? systemRandom });
      const dispatcherOpts = {
        clusterId,
        ...(opts.defaultHeartbeatPeriodMs === undefined ? {} : { defaultHeartbeatPeriodMs: opts.defaultHeartbeatPeriodMs }),
        ...(opts.heartbeatGrace === undefined ? {} : { graceMultiplier: opts.heartbeatGrace }),
      };
      const dispatcher = new Dispatcher(dispatcherOpts, base);
      const membership = new Membership({}, base);
      ca.register(server);
      control.register(server);
      dispatcher.register(server);
      const creds = serverCredentials(modules.tls);
      await new Promise<number>((resolve, reject) => server.bindAsync(opts.listenAddr, creds, (err, port) => (err ? reject(err) : resolve(port))));
      const m = new Manager(opts, modules, rs, server, forwarder, dispatcher, membership);
      m.leaderParts = modules.leaderComponents?.(rs.store) ?? [];
      m.raftSettings.start();
      rs.onLeadershipChange((leader) => void m.onLeadership(leader));
      if (rs.leads()) await m.onLeadership(true);
      log.info({ nodeId: opts.nodeId, raftId: opts.raftId, listen: opts.listenAddr, advertise: opts.advertiseAddr }, "manager started");
      return m;
    } catch (err) {
      server.forceShutdown();
      await rs.stop();
      throw err;
    }
  }

  get store(): MemoryStore {
    return this.rs.store;
  }

  get raftId(): number {
    return this.opts.raftId;
  }

  /** Resolves once a leader is known (any member), or rejects after timeoutMs. */
  async waitForLeader(timeoutMs: number): Promise<void> {
    const deadline = this.clock.monotonicMs() + timeoutMs;
    while (this.rs.leaderInfo().id === 0) {
      if (this.clock.monotonicMs() > deadline) throw new ControlError({ code: "CONTROL_NOT_READY" }, `no raft leader within ${timeoutMs} ms`, { temporary: true });
      await sleep(50);
    }
  }

  /** `swarm init`: writes the cluster object and this node (the first manager) once leading. */
  async bootstrap(cluster: Cluster, self: Omit<Node, "meta">): Promise<void> {
    await this.waitForLeader(15_000);
    await this.rs.store.update((tx) => {
      if (tx.find("cluster", { all: true }).length === 0) tx.create("cluster", cluster);
      if (tx.get("node", self.id) === undefined) tx.create("node", self);
    });
  }

  leaderForRead(opts?: { wait?: boolean }): Promise<void> {
    return this.rs.leaderForRead(opts);
  }

  linearizableView<R>(fn: (tx: ReadTx) => R, opts: { signal?: AbortSignal } = {}): Promise<R> {
    return this.rs.linearizableView(fn, opts);
  }

  /** What this manager's assignment streams sent (it sends only while leading), and their pace now. */
  assignmentStats(): AssignmentStats {
    return this.dispatcher.assignmentStats();
  }

  clusterStatus(): ClusterStatus {
    const st = this.rs.raft.status();
    const byRaft = new Map<number, Node>();
    for (const n of this.rs.store.view((tx) => tx.find("node", { all: true }))) if (n.managerStatus?.raftId) byRaft.set(n.managerStatus.raftId, n);
    const isLeader = st.lead === st.id;
    const active = new Set(this.rs.raft.memberStatus().filter((m) => m.recentActive).map((m) => m.id));
    const member = (id: number, suffrage: "voter" | "learner"): RaftMemberStatus => {
      const p = st.progress.get(id);
      return {
        raftId: id,
        nodeId: byRaft.get(id)?.id ?? "",
        hostname: byRaft.get(id)?.description?.hostname ?? "",
        addr: st.addresses[id] ?? "",
        suffrage,
        leader: id === st.lead,
        // A follower hears only from the leader: another follower's reachability is the one the
        // leader stored (membership.ts). A manager that knows no leader (lead 0) judges by what it
        // heard itself, as the leader does: its (pre-)votes go to every member, and the live ones
        // answer; the stored value is as stale as the rest of its store.
        reachable: id === st.id || (isLeader || st.lead === 0 ? active.has(id) : id === st.lead || byRaft.get(id)?.managerStatus?.reachability === Reachability.REACHABLE),
        matchIndex: isLeader ? (p?.match ?? 0) : id === st.id ? this.rs.store.appliedIndex : 0,
      };
    };
    return {
      clusterId: this.opts.clusterId,
      raftId: st.id,
      leaderRaftId: st.lead,
      term: st.term,
      commitIndex: st.commit,
      appliedIndex: this.rs.store.appliedIndex,
      members: [...st.confState.voters.map((id) => member(id, "voter")), ...st.confState.learners.map((id) => member(id, "learner"))],
    };
  }

  clusterSettingDefaults(): ClusterSettingDefaults {
    const retention = this.rs.raft.startingLogRetention();
    const ticks = this.rs.raft.ticks();
    return {
      taskHistoryRetentionLimit: DEFAULT_TASK_HISTORY_RETENTION_LIMIT,
      snapshotInterval: retention.snapshotEntries,
      logEntriesForSlowFollowers: retention.compactKeepEntries,
      electionTick: ticks.electionTicks,
      heartbeatTick: ticks.heartbeatTicks,
      heartbeatPeriodNs: this.dispatcher.defaultPeriodMs * 1_000_000,
      nodeCertExpiryNs: DEFAULT_NODE_CERT_EXPIRY_NS,
    };
  }

  async updateCluster(version: number, sent: ClusterSpec, flags: ClusterUpdateFlags): Promise<void> {
    const defaults = this.clusterSettingDefaults();
    await this.rs.store.update((tx) => {
      const cur = getCluster(tx);
      // The spec as read carried this manager's values for the settings the cluster leaves unset.
      const spec = keepUnsetSettings(cur.spec, sent, defaults);
      checkRaftSpecChange(cur.spec, spec);
      checkCaSpecChange(cur.spec, spec);
      checkDispatcherSpec(spec);
      const next: Cluster = { ...cur, meta: { ...cur.meta, version: { index: version } }, spec: { ...spec, annotations: { ...spec.annotations, name: cur.spec.annotations.name } } };
      const rootCa = cur.rootCa;
      if (rootCa !== undefined && (flags.rotateWorkerToken || flags.rotateManagerToken)) {
        const certPem = rootCaPems(cur).certPem;
        next.rootCa = {
          ...rootCa,
          joinTokens: {
            worker: flags.rotateWorkerToken ? generateJoinToken(certPem) : rootCa.joinTokens.worker,
            manager: flags.rotateManagerToken ? generateJoinToken(certPem) : rootCa.joinTokens.manager,
          },
        };
      }
      const lock = spec.encryptionConfig?.autoLockManagers === true;
      const lamport = (cur.encryptionKeyLamportClock ?? 0) + 1;
      if (!lock) delete next.unlockKeys;
      else if (currentUnlockKey(cur) === "" || flags.rotateManagerUnlockKey) {
        next.unlockKeys = [newUnlockKey(lamport)];
        next.encryptionKeyLamportClock = lamport;
      }
      tx.update("cluster", next);
    });
  }

  async unlockKey(): Promise<string> {
    return this.rs.store.view((tx) => currentUnlockKey(getCluster(tx)));
  }

  async updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    const node = this.rs.store.view((tx) => tx.lookup("node", id));
    if (spec.desiredRole === NodeRole.WORKER && node.spec.desiredRole === NodeRole.MANAGER) {
      const managers = this.rs.store.view((tx) => tx.find("node", { role: NodeRole.MANAGER })).filter((n) => n.spec.desiredRole === NodeRole.MANAGER);
      if (managers.length <= 1) throw new ControlError({ code: "MANAGER_QUORUM_GUARD" }, "cannot demote the last manager of a swarm");
      const raftId = node.managerStatus?.raftId ?? 0;
      if (raftId !== 0 && this.rs.isLeader()) checkVoterRemoval(this.rs, raftId, `demote ${node.description?.hostname ?? node.id}`);
    }
    // Grouped (group commit): node updates from many clients at once share entries.
    await this.rs.store.update(
      (tx) => {
        const cur = tx.get("node", node.id);
        if (cur === undefined) throw new ControlError({ code: "NODE_REMOVED", nodeId: node.id }, `node ${node.id} was removed`);
        tx.update("node", { ...cur, meta: { ...cur.meta, version: { index: version } }, spec });
      },
      { group: true },
    );
  }

  async removeNode(id: string, force: boolean): Promise<void> {
    let node = this.rs.store.view((tx) => tx.lookup("node", id));
    const name = node.description?.hostname ?? node.id;
    if (node.spec.desiredRole === NodeRole.MANAGER) {
      throw new ControlError({ code: "NODE_IS_MANAGER", nodeId: node.id }, `node ${name} is a manager and a member of the raft cluster; demote it first (shoal node demote ${name})`);
    }
    // Demoted, and still leaving raft (membership.ts finishes that within a second or so): wait
    // for it rather than tell the operator, who just demoted it, to demote it first.
    for (let waited = 0; node.role === NodeRole.MANAGER && waited < REMOVE_WAIT_FOR_DEMOTION_MS; waited += 100) {
      await sleep(100);
      node = this.rs.store.view((tx) => tx.lookup("node", id));
    }
    if (node.role === NodeRole.MANAGER) {
      throw new ControlError(
        { code: "NODE_IS_MANAGER", nodeId: node.id },
        `node ${name} was demoted but is still leaving the raft cluster (the leader removes it once that keeps quorum); try again in a moment`,
        { temporary: true },
      );
    }
    if (!force && node.status.state === NodeState.READY) {
      throw new ControlError({ code: "NODE_NOT_DOWN", nodeId: node.id }, `node ${name} is not down and can't be removed; stop it first or use --force`);
    }
    await this.rs.store.update((tx) => tx.delete("node", node.id));
    this.log.info({ nodeId: node.id, force }, "manager: node removed");
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.raftSettings.stop();
    await this.onLeadership(false);
    this.forwarder.close();
    await this.rs.stop();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1_000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Starts or stops the leader-only parts (the heavy ones one per turn: staged-start.ts). */
  private async onLeadership(leader: boolean): Promise<void> {
    if (leader === this.leading || (leader && this.stopped)) return;
    this.leading = leader;
    const change = ++this.leaderships;
    if (leader) {
      this.dispatcher.start();
      this.membership.start();
      // Lost (or lost and regained: that start runs its own loop) while starting: stop here.
      await startInTurns(this.leaderParts, () => this.leaderships === change);
    } else {
      this.dispatcher.stop();
      this.membership.stop();
      for (const c of [...this.leaderParts].reverse()) {
        try {
          await c.stop();
        } catch (err) {
          this.log.error({ err }, "manager: leader component failed to stop");
        }
      }
    }
  }
}

export const RAFT_SUBDIR = "raft";
export function raftDirOf(stateDir: string): string {
  return join(stateDir, RAFT_SUBDIR);
}
