// The node daemon's core: one node's life in the swarm. States: inactive (no swarm: only the API
// answers, waiting for init or join), locked (autolocked manager after a restart: waiting for the
// unlock key), active (agent session always; the manager too when the certificate says manager),
// and error (a start failed: the message says why). It implements the API's NodeBackend, owns the
// state dir, the node's TLS material and its renewal, and reacts to what heartbeats say: a desired
// role that differs from the certificate's (renew, then start or stop the manager), removal
// (forget the swarm). It must not make cluster decisions (managers do).
import { networkInterfaces, release } from "node:os";
import * as grpc from "@grpc/grpc-js";
import { ShoalError, createRegistry, describeError, systemClock, systemRandom, type Clock, type Logger, type Random, type Registry, type TimerHandle } from "@shoal/common";
import { AgentSession, AssignmentsClient, SimulatedExecutor, Worker } from "@shoal/agent";
import {
  Manager,
  bootstrapCredentials,
  checkCaDigest,
  clientCredentials,
  createCsr,
  createRootCa,
  CertificateAuthority,
  currentUnlockKey,
  generateDataKey,
  generateNodeKey,
  newCluster,
  parseJoinToken,
  parseNodeCertificate,
  parseUnlockKey,
  renewalDelayMs,
  unwrapKey,
  wrapKey,
  type ClusterStatus,
  type LeaderComponent,
  type LocalNodeInfo,
  type ManagerBackend,
  type NodeBackend,
  type SwarmInitRequest,
  type SwarmJoinRequest,
  type TlsMaterial,
} from "@shoal/manager";
import { LEADER_ADDR_KEY, RemoteError, caServiceDefinition, connectFailure, callUnary, controlServiceDefinition, type controlpb } from "@shoal/proto";
import { NodeAvailability, NodeMembership, NodeRole, NodeState, Reachability, generateId, type Cluster, type MemoryStore, type Node } from "@shoal/store";
import { SHOAL_VERSION, describeNode, type DescribeOptions } from "./describe.js";
import { leaderComponents } from "./leader-components.js";
import { registerNodeMetrics } from "./metrics.js";
import { StateDir, type NodeIdentity, type StoredKeys } from "./state-dir.js";

export type DaemonErrorCode =
  | "NODE_ALREADY_IN_SWARM"
  | "NODE_NOT_IN_SWARM"
  | "NODE_NOT_LOCKED"
  | "NODE_LEAVE_REFUSED"
  | "NODE_JOIN_FAILED"
  | "NODE_ADDRESS_INVALID"
  | "NODE_BUSY"
  | "NODE_FORCE_REFUSED";
export class DaemonError extends ShoalError<{ code: DaemonErrorCode } & Record<string, unknown>> {}

export interface DaemonOptions {
  stateDir: string;
  /** The node's name in the swarm (default: the OS hostname). */
  hostname?: string;
  labels?: Record<string, string>;
  /** Start an existing manager as a one-member cluster keeping all state (lost quorum). */
  forceNewCluster?: boolean;
  /** Raft timing (tests and the lab may shorten it). */
  tickMs?: number;
  electionTicks?: number;
  /** Heartbeat period when the cluster spec sets none. */
  heartbeatPeriodMs?: number;
  /** Heartbeat periods a node may miss before this manager, leading, marks it DOWN (default 3). */
  heartbeatGrace?: number;
  /**
   * What runs this node's tasks. "simulated" (tests and benchmarks only: tasks run in memory) is
   * the only executor until the runc runtime lands; without one the node takes no tasks.
   */
  executor?: "simulated";
}

export interface DaemonModules {
  logger: Logger;
  clock?: Clock;
  random?: Random;
  registry?: Registry;
  /** Leader-only components to run on managers (scheduler, orchestrators…). */
  leaderComponents?: (store: MemoryStore) => LeaderComponent[];
}

type Phase = "inactive" | "locked" | "active" | "error";

const DEFAULT_PORT = 2377;

/** "ip", "ip:port" or ":port" → host:port with a default port. */
function withPort(addr: string, port: number): string {
  if (addr === "") return "";
  if (/^\[.*\]:\d+$/.test(addr) || /^[^:]+:\d+$/.test(addr)) return addr;
  if (addr.startsWith(":")) return `0.0.0.0${addr}`;
  return `${addr}:${port}`;
}

function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  return i < 0 ? addr : addr.slice(0, i);
}

function portOf(addr: string): number {
  const i = addr.lastIndexOf(":");
  return i < 0 ? DEFAULT_PORT : Number(addr.slice(i + 1));
}

/** The one non-loopback IPv4 address of this host, or an error asking for --advertise-addr. */
function defaultAddress(): string {
  const found: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) found.push(a.address);
  if (found.length === 1) return found[0] as string;
  throw new DaemonError(
    { code: "NODE_ADDRESS_INVALID" },
    found.length === 0
      ? "could not find an address to advertise: this host has no non-loopback IPv4 address; use --advertise-addr"
      : `could not choose an IP address to advertise since this system has multiple addresses (${found.join(", ")}); use --advertise-addr`,
  );
}

export class Daemon implements NodeBackend {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  readonly registry: Registry;
  private readonly state: StateDir;
  private phase: Phase = "inactive";
  private lastError = "";
  private identity: NodeIdentity | undefined;
  private tls: TlsMaterial | undefined;
  private dataKey: Buffer | undefined;
  private mgr: Manager | undefined;
  private session: AgentSession | undefined;
  private worker: Worker | undefined;
  private assignments: AssignmentsClient | undefined;
  private renewTimer: TimerHandle | undefined;
  private roleChange: Promise<void> | undefined;
  private lockWatch: AbortController | undefined;
  private busy = false;

  constructor(
    private readonly opts: DaemonOptions,
    private readonly modules: DaemonModules,
  ) {
    this.log = modules.logger.child({ component: "node" });
    this.clock = modules.clock ?? systemClock;
    this.random = modules.random ?? systemRandom;
    this.registry = modules.registry ?? createRegistry();
    this.state = new StateDir(opts.stateDir);
    registerNodeMetrics(this.registry, { manager: () => this.mgr, phase: () => this.phase });
  }

  /** Resumes the swarm this node belongs to (if any) with its identity; otherwise inactive. */
  async start(): Promise<void> {
    await this.state.ensure();
    if (!(await this.state.hasIdentity())) {
      this.log.info("node: not part of a swarm; waiting for init or join");
      return;
    }
    this.identity = await this.state.loadIdentity();
    const keys = await this.state.loadKeys();
    if (keys.wrapped) {
      this.phase = "locked";
      this.log.warn({ nodeId: this.identity.nodeId }, "node: the swarm is autolocked; waiting for the unlock key (shoal swarm unlock)");
      return;
    }
    await this.resume(Buffer.from(keys.dataKey, "base64"), keys.nodeKey, this.opts.forceNewCluster === true);
  }

  async stop(): Promise<void> {
    await this.deactivate();
  }

  // ---- NodeBackend ----

  info(): LocalNodeInfo {
    const id = this.identity;
    const desc = describeNode(this.describeOpts());
    return {
      nodeId: id?.nodeId ?? "",
      nodeAddr: id === undefined ? "" : hostOf(id.advertiseAddr),
      localNodeState: this.phase === "active" ? "active" : this.phase === "locked" ? "locked" : this.phase === "error" ? "error" : "inactive",
      controlAvailable: this.phase === "active" && this.mgr !== undefined,
      error: this.lastError,
      remoteManagers: (id?.managers ?? []).map((addr) => ({ nodeId: "", addr })),
      clusterId: id?.clusterId ?? "",
      hostname: desc.hostname,
      ncpu: Math.round((desc.resources?.nanoCpus ?? 0) / 1e9),
      memTotalBytes: desc.resources?.memoryBytes ?? 0,
      os: desc.platform?.os ?? "linux",
      architecture: desc.platform?.architecture ?? "",
      kernelVersion: release(),
      version: SHOAL_VERSION,
    };
  }

  /** The node's current certificate, key and root (undefined until it is part of a swarm). */
  tlsMaterial(): TlsMaterial | undefined {
    return this.tls;
  }

  manager(): ManagerBackend | undefined {
    return this.phase === "active" ? this.mgr : undefined;
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  async init(req: SwarmInitRequest): Promise<string> {
    return this.exclusive(async () => {
      if (this.phase !== "inactive") {
        if (req.forceNewCluster && this.identity?.role === "manager" && this.phase === "active") return this.forceNewCluster();
        throw new DaemonError({ code: "NODE_ALREADY_IN_SWARM" }, "This node is already part of a swarm. Use \"shoal swarm leave\" to leave this swarm and join another one.");
      }
      const listenAddr = withPort(req.listenAddr || "0.0.0.0:2377", DEFAULT_PORT);
      const advertiseAddr = withPort(req.advertiseAddr || defaultAddressFor(listenAddr), portOf(listenAddr));
      const clusterId = generateId(this.random);
      const nodeId = generateId(this.random);
      const raftId = 1 + Math.floor(this.random.next() * (2 ** 48 - 1));
      const root = await createRootCa({ clusterId });
      const ca = new CertificateAuthority(root);
      const { keyPem } = await generateNodeKey();
      const certPem = await ca.issue({ csrPem: await createCsr(keyPem), nodeId, role: "manager", clusterId });
      const dataKey = generateDataKey();
      const cluster = newCluster({ id: clusterId, spec: req.spec, caCertPem: root.certPem, caKeyPem: root.keyPem, autolock: req.autoLockManagers, now: this.clock.now() });
      const identity: NodeIdentity = { nodeId, clusterId, role: "manager", listenAddr, advertiseAddr, raftId, managers: [advertiseAddr] };
      await this.state.wipe();
      await this.state.saveCerts({ rootCertPem: root.certPem, certPem });
      await this.saveKeys(dataKey, keyPem, currentUnlockKey(cluster));
      await this.state.saveIdentity(identity);
      this.identity = identity;
      this.tls = { rootCertPem: root.certPem, certPem, keyPem };
      this.dataKey = dataKey;
      try {
        const mgr = await this.startManager({ peers: { [raftId]: advertiseAddr } });
        const self: Omit<Node, "meta"> = {
          id: nodeId,
          spec: { annotations: { name: "" }, desiredRole: NodeRole.MANAGER, membership: NodeMembership.ACCEPTED, availability: req.availability ?? NodeAvailability.ACTIVE },
          description: describeNode(this.describeOpts()),
          status: { state: NodeState.READY, addr: hostOf(advertiseAddr) },
          managerStatus: { raftId, addr: advertiseAddr, leader: true, reachability: Reachability.REACHABLE },
          role: NodeRole.MANAGER,
        };
        await mgr.bootstrap(cluster, self);
        this.startSession();
        this.startRenewal();
        this.phase = "active";
        this.lastError = "";
        this.log.info({ nodeId, clusterId, advertiseAddr }, "node: swarm initialized; this node is its first manager");
        return nodeId;
      } catch (err) {
        await this.deactivate();
        await this.state.wipe();
        this.identity = undefined;
        throw err;
      }
    });
  }

  async join(req: SwarmJoinRequest): Promise<void> {
    return this.exclusive(async () => {
      if (this.phase !== "inactive") {
        throw new DaemonError({ code: "NODE_ALREADY_IN_SWARM" }, "This node is already part of a swarm. Use \"shoal swarm leave\" to leave this swarm and join another one.");
      }
      if (req.remoteAddrs.length === 0) throw new DaemonError({ code: "NODE_JOIN_FAILED" }, "no manager address given: name at least one manager (host:port) to join");
      const { digest } = parseJoinToken(req.joinToken);
      const listenAddr = withPort(req.listenAddr || "0.0.0.0:2377", DEFAULT_PORT);
      const remotes = req.remoteAddrs.map((a) => withPort(a, DEFAULT_PORT));
      let lastErr: unknown;
      for (const remote of remotes) {
        const advertiseAddr = withPort(req.advertiseAddr || defaultAddressFor(listenAddr), portOf(listenAddr));
        try {
          await this.joinVia(remote, digest, req, listenAddr, advertiseAddr);
          return;
        } catch (err) {
          lastErr = err;
          // A refused token or a CA mismatch is an answer, not an outage: don't try other managers.
          if (err instanceof ShoalError && !err.temporary) break;
          this.log.warn({ remote, err: describeError(err) }, "node: join through this manager failed; trying the next");
        }
      }
      await this.deactivate();
      await this.state.wipe();
      this.identity = undefined;
      // No manager answered at all: say so plainly, not in grpc-js's words.
      const unreachable = connectFailure(lastErr);
      if (unreachable !== undefined) {
        throw new DaemonError(
          { code: "NODE_JOIN_FAILED" },
          `could not reach a manager to join (${unreachable}): check the address and port, and that the manager's shoald is running`,
          { temporary: true, cause: lastErr },
        );
      }
      if (lastErr instanceof ShoalError) throw lastErr;
      throw new DaemonError({ code: "NODE_JOIN_FAILED" }, `could not join the swarm: ${describeError(lastErr)}`, { temporary: true, cause: lastErr });
    });
  }

  async leave(force: boolean): Promise<void> {
    return this.exclusive(async () => {
      if (this.phase === "inactive") throw new DaemonError({ code: "NODE_NOT_IN_SWARM" }, "This node is not part of a swarm");
      if (this.identity?.role === "manager" && !force) {
        throw new DaemonError(
          { code: "NODE_LEAVE_REFUSED" },
          "You are attempting to leave the swarm on a node that is participating as a manager. Demote it first (shoal node demote), or use --force to ignore this (the remaining managers may lose quorum).",
        );
      }
      await this.deactivate();
      await this.state.wipe();
      this.identity = undefined;
      this.phase = "inactive";
      this.lastError = "";
      this.log.info("node: left the swarm");
    });
  }

  async unlock(unlockKey: string): Promise<void> {
    return this.exclusive(async () => {
      if (this.phase !== "locked") throw new DaemonError({ code: "NODE_NOT_LOCKED" }, "Error: swarm is not locked");
      const kek = parseUnlockKey(unlockKey);
      const keys = await this.state.loadKeys();
      const dataKey = unwrapKey(keys.dataKey, kek);
      const nodeKey = unwrapKey(keys.nodeKey, kek).toString("utf8");
      await this.resume(dataKey, nodeKey, false);
      this.log.info("node: unlocked");
    });
  }

  // ---- lifecycle ----

  private describeOpts(): DescribeOptions {
    const o: DescribeOptions = {};
    if (this.opts.hostname !== undefined) o.hostname = this.opts.hostname;
    if (this.opts.labels !== undefined) o.labels = this.opts.labels;
    // Managers give tasks only to nodes that name what runs them.
    if (this.opts.executor !== undefined) o.runtime = this.opts.executor;
    return o;
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new DaemonError({ code: "NODE_BUSY" }, "another swarm operation is in progress on this node; try again when it finishes", { temporary: true });
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  private async resume(dataKey: Buffer, keyPem: string, forceNewCluster: boolean): Promise<void> {
    const id = this.identity;
    if (id === undefined) return;
    const certs = await this.state.loadCerts();
    this.tls = { rootCertPem: certs.rootCertPem, certPem: certs.certPem, keyPem };
    this.dataKey = dataKey;
    try {
      if (id.role === "manager") await this.startManager({ forceNewCluster });
      this.startSession();
      this.startRenewal();
      this.phase = "active";
      this.lastError = "";
      this.log.info({ nodeId: id.nodeId, role: id.role, forceNewCluster }, "node: resumed its swarm membership");
    } catch (err) {
      this.phase = "error";
      this.lastError = describeError(err);
      this.log.error({ err }, "node: could not resume");
      await this.deactivate();
      throw err;
    }
  }

  private async forceNewCluster(): Promise<string> {
    const id = this.identity;
    if (id === undefined || this.dataKey === undefined || this.tls === undefined) throw new DaemonError({ code: "NODE_NOT_IN_SWARM" }, "This node is not part of a swarm");
    if (this.mgr !== undefined) checkForceNewCluster(this.mgr.clusterStatus());
    await this.mgr?.stop();
    this.mgr = undefined;
    await this.startManager({ forceNewCluster: true });
    return id.nodeId;
  }

  private async startManager(o: { peers?: Record<number, string>; join?: boolean; forceNewCluster?: boolean }): Promise<Manager> {
    const id = this.identity;
    if (id === undefined) throw new DaemonError({ code: "NODE_NOT_IN_SWARM" }, "This node is not part of a swarm");
    const opts: Parameters<typeof Manager.start>[0] = {
      nodeId: id.nodeId,
      clusterId: id.clusterId,
      raftId: id.raftId,
      raftDir: this.state.raftDir,
      listenAddr: id.listenAddr,
      advertiseAddr: id.advertiseAddr,
    };
    if (this.dataKey !== undefined) opts.encryptionKey = this.dataKey;
    if (o.peers !== undefined) opts.peers = o.peers;
    if (o.join === true) opts.join = true;
    if (o.forceNewCluster === true) opts.forceNewCluster = true;
    if (this.opts.tickMs !== undefined) opts.tickMs = this.opts.tickMs;
    if (this.opts.electionTicks !== undefined) opts.electionTicks = this.opts.electionTicks;
    if (this.opts.heartbeatPeriodMs !== undefined) opts.defaultHeartbeatPeriodMs = this.opts.heartbeatPeriodMs;
    if (this.opts.heartbeatGrace !== undefined) opts.heartbeatGrace = this.opts.heartbeatGrace;
    const modules: Parameters<typeof Manager.start>[1] = { logger: this.modules.logger, tls: () => this.requireTls() };
    if (this.modules.clock !== undefined) modules.clock = this.modules.clock;
    if (this.modules.random !== undefined) modules.random = this.modules.random;
    modules.leaderComponents =
      this.modules.leaderComponents ??
      leaderComponents({
        logger: this.modules.logger,
        registry: this.registry,
        ...(this.modules.clock === undefined ? {} : { clock: this.modules.clock }),
        ...(this.modules.random === undefined ? {} : { random: this.modules.random }),
      });
    const mgr = await Manager.start(opts, modules);
    this.mgr = mgr;
    // After the caller's own steps of this turn (it may be about to call the node active).
    mgr.rs.onFatal((err) => void setImmediate(() => void this.managerFailed(mgr, err)));
    this.watchUnlockKey(mgr);
    return mgr;
  }

  /**
   * The manager's raft member stopped on an error it cannot go past (an entry it cannot apply, a
   * failed write): the node says so in /info (state error, and why) and stops, rather than answer
   * as a manager that no longer takes part. Restarting shoald retries from the state dir.
   */
  private async managerFailed(mgr: Manager, err: Error): Promise<void> {
    if (this.mgr !== mgr) return;
    this.phase = "error";
    this.lastError = `the manager stopped: ${err.message}`;
    this.log.error({ err: describeError(err) }, "node: the manager stopped on a fatal raft error; this node is out of service until shoald restarts");
    await this.deactivate();
  }

  private requireTls(): TlsMaterial {
    if (this.tls === undefined) throw new DaemonError({ code: "NODE_NOT_IN_SWARM" }, "no TLS material: this node is not part of a swarm");
    return this.tls;
  }

  private managerCreds(): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
    const t = this.requireTls();
    return clientCredentials({ rootCertPem: t.rootCertPem, certPem: t.certPem, keyPem: t.keyPem, expect: { role: "manager", clusterId: this.identity?.clusterId ?? "" } });
  }

  private startSession(): void {
    const id = this.identity;
    if (id === undefined || this.session !== undefined) return;
    const session = new AgentSession(
      {
        advertiseAddr: hostOf(id.advertiseAddr),
        managers: id.managers,
        self: () => (this.identity?.role === "manager" ? this.identity.advertiseAddr : undefined),
        describe: () => describeNode(this.describeOpts()),
        ...(this.opts.heartbeatPeriodMs === undefined ? {} : { initialPeriodMs: this.opts.heartbeatPeriodMs }),
      },
      { logger: this.modules.logger, tls: () => this.managerCreds(), random: this.random },
      {
        onConnected: (addr) => this.assignments?.followSession(addr),
        onManagers: (list) => void this.rememberManagers(list.map((m) => m.addr)),
        onDesiredRole: (role) => this.onDesiredRole(role),
        onRemoved: () => void this.onRemoved(),
      },
    );
    this.session = session;
    session.start();
    if (this.opts.executor !== undefined) this.startWorker(session, id.nodeId);
  }

  /** The worker runs this node's assigned tasks through the executor (only when one is configured). */
  private startWorker(session: AgentSession, nodeId: string): void {
    const worker = new Worker(
      { stateDir: this.opts.stateDir, nodeId },
      { logger: this.modules.logger, executor: new SimulatedExecutor(), ...(this.modules.clock === undefined ? {} : { clock: this.modules.clock }) },
    );
    const client = new AssignmentsClient(
      { managers: () => session.knownManagers, leader: () => session.leader },
      { logger: this.modules.logger, dial: (addr) => session.client(addr), worker, random: this.random },
    );
    this.worker = worker;
    this.assignments = client;
    void worker.start().then(
      () => {
        if (this.assignments === client) client.start();
      },
      (err: unknown) => this.log.error({ err }, "node: the worker could not open its local state; this node runs no tasks"),
    );
  }

  private async rememberManagers(addrs: string[]): Promise<void> {
    const id = this.identity;
    if (id === undefined || addrs.length === 0) return;
    const sorted = [...addrs].sort();
    if (JSON.stringify(sorted) === JSON.stringify([...id.managers].sort())) return;
    id.managers = sorted;
    await this.state.saveIdentity(id).catch((err: unknown) => this.log.warn({ err }, "node: could not save the manager list"));
  }

  private onDesiredRole(role: number): void {
    const id = this.identity;
    if (id === undefined || this.roleChange !== undefined || this.phase !== "active") return;
    const want = role === NodeRole.MANAGER ? "manager" : "worker";
    if (want === id.role) return;
    // A demotion is finished by the leader (out of raft, role set) before renewal yields a
    // worker certificate; until then renewing returns a manager certificate and nothing changes.
    this.roleChange = this.renewCertificate()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, "node: role change failed; will retry"))
      .finally(() => {
        this.roleChange = undefined;
      });
  }

  private async onRemoved(): Promise<void> {
    this.log.warn("node: removed from the swarm by a manager; forgetting the swarm");
    await this.deactivate();
    await this.state.wipe();
    this.identity = undefined;
    this.phase = "inactive";
    this.lastError = "this node was removed from the swarm";
  }

  private startRenewal(): void {
    this.renewTimer?.cancel();
    const tls = this.tls;
    if (tls === undefined) return;
    const cert = parseNodeCertificate(tls.certPem);
    const delay = renewalDelayMs(cert.notBefore, cert.notAfter, this.clock.now(), this.random);
    // setTimeout cannot wait more than ~24.8 days; wake up and re-plan instead.
    const wait = Math.min(delay, 2 ** 31 - 1);
    this.renewTimer = this.clock.setTimeout(() => {
      const run = wait < delay ? Promise.resolve() : this.renewCertificate();
      void run.catch((err: unknown) => this.log.warn({ err: describeError(err) }, "node: certificate renewal failed; retrying soon")).finally(() => this.startRenewal());
    }, wait);
  }

  /** Renews the node certificate; a changed role starts or stops the manager. */
  private async renewCertificate(): Promise<void> {
    const id = this.identity;
    const tls = this.tls;
    if (id === undefined || tls === undefined) return;
    const target = this.session?.leader ?? id.managers[0];
    if (target === undefined) throw new DaemonError({ code: "NODE_JOIN_FAILED" }, "no manager known to renew the certificate with", { temporary: true });
    const creds = this.managerCreds();
    const client = new grpc.Client(target, creds.credentials, creds.channelOptions);
    try {
      const res = await callUnary(client, caServiceDefinition.issueNodeCertificate, {
        token: "",
        csr: new TextEncoder().encode(await createCsr(tls.keyPem)),
        description: new TextEncoder().encode(JSON.stringify(describeNode(this.describeOpts()))),
        advertiseAddr: hostOf(id.advertiseAddr),
      });
      const certPem = new TextDecoder().decode(res.certificate);
      const newRole = res.role === NodeRole.MANAGER ? "manager" : "worker";
      await this.state.saveCerts({ rootCertPem: tls.rootCertPem, certPem });
      this.tls = { ...tls, certPem };
      this.log.info({ role: newRole }, "node: certificate renewed");
      if (newRole !== id.role) await this.switchRole(newRole);
    } finally {
      client.close();
    }
  }

  private async switchRole(role: "manager" | "worker"): Promise<void> {
    const id = this.identity;
    if (id === undefined) return;
    if (role === "manager") {
      if (portOf(id.advertiseAddr) === 0) {
        throw new DaemonError(
          { code: "NODE_ADDRESS_INVALID" },
          `cannot become a manager: this node advertises ${id.advertiseAddr}, with no port other managers could dial (join with --listen-addr HOST:PORT)`,
        );
      }
      const { raftId, members } = await this.joinRaft(id.managers);
      id.role = "manager";
      id.raftId = raftId;
      await this.state.saveIdentity(id);
      await this.state.wipeRaft();
      await this.startManager({ join: true, peers: members });
      this.log.info({ raftId }, "node: promoted; now a manager");
    } else {
      id.role = "worker";
      id.raftId = 0;
      await this.state.saveIdentity(id);
      this.lockWatch?.abort();
      await this.mgr?.stop();
      this.mgr = undefined;
      await this.state.wipeRaft();
      this.log.info("node: demoted; now a worker");
    }
  }

  /** Asks the leader (following redirects) to add this manager to raft. */
  private async joinRaft(managers: string[]): Promise<{ raftId: number; members: Record<number, string> }> {
    const id = this.identity;
    if (id === undefined) throw new DaemonError({ code: "NODE_NOT_IN_SWARM" }, "This node is not part of a swarm");
    const creds = this.managerCreds();
    const queue = [...managers.filter((m) => m !== id.advertiseAddr)];
    let lastErr: unknown;
    for (let hops = 0; hops < 8 && queue.length > 0; hops++) {
      const addr = queue.shift() as string;
      const client = new grpc.Client(addr, creds.credentials, creds.channelOptions);
      try {
        const res = await callUnary(client, controlServiceDefinition.joinRaft, { addr: id.advertiseAddr }, { deadlineMs: 15_000 });
        const members: Record<number, string> = {};
        for (const m of res.members ?? []) members[Number(m.raftId)] = m.addr ?? "";
        return { raftId: Number(res.raftId), members };
      } catch (err) {
        lastErr = err;
        const leader = err instanceof RemoteError ? err.meta[LEADER_ADDR_KEY] : undefined;
        if (typeof leader === "string" && leader !== "") queue.unshift(leader);
      } finally {
        client.close();
      }
    }
    throw lastErr instanceof Error ? lastErr : new DaemonError({ code: "NODE_JOIN_FAILED" }, "could not reach the raft leader to join", { temporary: true });
  }

  private async joinVia(remote: string, digest: string, req: SwarmJoinRequest, listenAddr: string, advertiseAddr: string): Promise<void> {
    // 1. Read the root CA without trusting anyone, and pin it by the token's digest.
    const boot = bootstrapCredentials();
    const anon = new grpc.Client(remote, boot.credentials, boot.channelOptions);
    let rootCertPem: string;
    try {
      const root = await callUnary(anon, caServiceDefinition.getRootCaCertificate, {}, { deadlineMs: 10_000 });
      rootCertPem = new TextDecoder().decode(root.certificate);
    } finally {
      anon.close();
    }
    checkCaDigest(rootCertPem, digest);
    // 2. Ask for a certificate over TLS verified against that root (no client certificate yet).
    const { keyPem } = await generateNodeKey();
    const verified = clientCredentials({ rootCertPem, expect: { role: "manager" } });
    const caClient = new grpc.Client(remote, verified.credentials, verified.channelOptions);
    let issued;
    try {
      issued = await callUnary(
        caClient,
        caServiceDefinition.issueNodeCertificate,
        {
          token: req.joinToken,
          csr: new TextEncoder().encode(await createCsr(keyPem)),
          description: new TextEncoder().encode(JSON.stringify(describeNode(this.describeOpts()))),
          advertiseAddr: hostOf(advertiseAddr),
          availability: req.availability ?? NodeAvailability.ACTIVE,
        },
        { deadlineMs: 15_000 },
      );
    } finally {
      caClient.close();
    }
    const certPem = new TextDecoder().decode(issued.certificate);
    const role = issued.role === NodeRole.MANAGER ? "manager" : "worker";
    const peers: controlpb.IManagerPeer[] = issued.managers ?? [];
    const managers = peers.map((m) => m.addr ?? "").filter((a) => a !== "");
    const identity: NodeIdentity = { nodeId: issued.nodeId, clusterId: issued.clusterId, role, listenAddr, advertiseAddr, raftId: 0, managers: managers.length > 0 ? managers : [remote] };
    const dataKey = generateDataKey();
    await this.state.wipe();
    await this.state.saveCerts({ rootCertPem, certPem });
    await this.saveKeys(dataKey, keyPem, "");
    await this.state.saveIdentity(identity);
    this.identity = identity;
    this.tls = { rootCertPem, certPem, keyPem };
    this.dataKey = dataKey;
    if (role === "manager") {
      const { raftId, members } = await this.joinRaft(identity.managers.length > 0 ? identity.managers : [remote]);
      identity.raftId = raftId;
      await this.state.saveIdentity(identity);
      await this.startManager({ join: true, peers: members });
    }
    this.startSession();
    this.startRenewal();
    this.phase = "active";
    this.lastError = "";
    this.log.info({ nodeId: identity.nodeId, role, via: remote }, "node: joined the swarm");
  }

  /** Keys at rest follow the cluster's autolock setting: wrapped with the unlock key, or plain. */
  private watchUnlockKey(mgr: Manager): void {
    this.lockWatch?.abort();
    const ac = new AbortController();
    this.lockWatch = ac;
    let current: string | undefined;
    const apply = async (key: string): Promise<void> => {
      if (key === current || this.dataKey === undefined || this.tls === undefined) return;
      current = key;
      await this.saveKeys(this.dataKey, this.tls.keyPem, key);
      this.log.info({ autolock: key !== "" }, key === "" ? "node: keys stored unwrapped (autolock off)" : "node: keys wrapped with the unlock key (autolock on)");
    };
    const { result, watch } = mgr.store.viewAndWatch({ kinds: ["cluster"], signal: ac.signal }, (tx) => tx.find("cluster", { all: true })[0]);
    void (async () => {
      if (result !== undefined) await apply(currentUnlockKey(result));
      for await (const ev of watch) {
        if (ev.kind === "cluster" && ev.action !== "delete") await apply(currentUnlockKey(ev.object as Cluster));
      }
    })().catch((err: unknown) => {
      if (!ac.signal.aborted) this.log.warn({ err: describeError(err) }, "node: lost the cluster watch for the unlock key");
    });
  }

  private async saveKeys(dataKey: Buffer, keyPem: string, unlockKey: string): Promise<void> {
    let keys: StoredKeys;
    if (unlockKey === "") keys = { dataKey: dataKey.toString("base64"), nodeKey: keyPem, wrapped: false };
    else {
      const kek = parseUnlockKey(unlockKey);
      keys = { dataKey: wrapKey(dataKey, kek), nodeKey: wrapKey(Buffer.from(keyPem, "utf8"), kek), wrapped: true };
    }
    await this.state.saveKeys(keys);
  }

  private async deactivate(): Promise<void> {
    this.renewTimer?.cancel();
    this.renewTimer = undefined;
    this.lockWatch?.abort();
    this.lockWatch = undefined;
    const assignments = this.assignments;
    this.assignments = undefined;
    await assignments?.stop();
    const worker = this.worker;
    this.worker = undefined;
    await worker?.stop();
    const session = this.session;
    this.session = undefined;
    await session?.stop();
    const mgr = this.mgr;
    this.mgr = undefined;
    await mgr?.stop();
  }
}

function defaultAddressFor(listenAddr: string): string {
  const host = hostOf(listenAddr);
  if (host !== "0.0.0.0" && host !== "" && host !== "::" && host !== "[::]") return host;
  return defaultAddress();
}

/**
 * Refuses --force-new-cluster on a running manager of a cluster that works: one that knows a leader
 * and hears a majority of the voters. The others would go on as the old cluster, so forcing would
 * split the swarm into two that both think they own its nodes and tasks. A lone manager may repeat
 * it (harmless); a manager that just lost the others learns so within an election timeout.
 */
export function checkForceNewCluster(st: ClusterStatus): void {
  const voters = st.members.filter((m) => m.suffrage === "voter");
  const reachable = voters.filter((m) => m.reachable).length;
  if (st.leaderRaftId === 0 || voters.length <= 1 || reachable * 2 <= voters.length) return;
  const leader = st.members.find((m) => m.raftId === st.leaderRaftId);
  throw new DaemonError(
    { code: "NODE_FORCE_REFUSED", reachable, members: voters.length },
    `refusing --force-new-cluster: the swarm has a working quorum (leader ${leader?.hostname || st.leaderRaftId}, ${reachable} of ${voters.length} managers reachable), ` +
      "and forcing a new cluster now would split it: the other managers would go on as the old cluster. Use it only when a majority of the managers " +
      "is gone for good; if they were lost just now, wait a few seconds for this manager to notice (shoal cluster status shows what it sees)",
  );
}
