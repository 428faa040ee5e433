// The dispatcher (leader only): every node's session with the cluster. A heartbeat registers the
// node when that changes it (READY, address, description: a store write, shared with the
// registrations that arrive alongside it; answered after the write only for a node that was not
// READY) and is otherwise only remembered in memory; a node that misses `graceMultiplier`
// periods is marked DOWN. A node this leader has not heard from (a new leader knows no heartbeat
// times; a node that just joined) gets three times that from when the sweep first sees it (agents
// must first give up on the old leader and find the new one), and as long from the last node that
// arrived for the first time (nodes are still finding us), except a manager whose raft member
// does not answer this leader either: that one is gone (the old leader, killed), not looking for
// us, and gets the normal grace. A leader that stalls (its own sweep runs late) does not blame the
// nodes: deadlines move on by the stall.
// Followers refuse heartbeats and name the leader (redirect.ts). Task assignments and status
// reports are served by assignments.ts on the same service; it must not schedule or decide roles.
import { createHash } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import { describeError, systemClock, type Clock, type Logger, type TimerHandle } from "@shoal/common";
import { dispatcherServiceDefinition, serveCallStream, toServiceError, unaryHandler, type controlpb } from "@shoal/proto";
import { DEFAULT_HEARTBEAT_PERIOD_NS, NodeState, type Node, type NodeDescription } from "@shoal/store";
import { authorizeCall, type CallWithAuthContext } from "../ca/index.js";
import { TaskAssignments, type AssignmentStats } from "./assignments.js";
import type { ReplicatedStore } from "../replication/index.js";
import { decodeDescription, managerPeers } from "./ca-service.js";
import { heartbeatPeriodMs } from "./cluster-object.js";
import { requireLeader } from "./redirect.js";

export interface DispatcherOptions {
  clusterId: string;
  /** Used when the cluster spec sets none (default 2 s). */
  defaultHeartbeatPeriodMs?: number;
  /** A node is DOWN after this many periods without a heartbeat (default 3). */
  graceMultiplier?: number;
  /**
   * A node this leader has not heard from yet (it just took over, or the node just joined) is
   * DOWN only after this many periods (default 3 × graceMultiplier, as swarmkit gives nodes of
   * unknown state): after an election every agent must first give up on the old leader, whose
   * calls may hang until their deadline, and find the new one. With one grace period, a new leader
   * under load marked all 1,000 nodes of a benchmark DOWN at once.
   */
  unknownGraceMultiplier?: number;
  /** How long task changes gather before they go to a node's stream (assignments.ts; default 100 ms). */
  assignmentBatchWindowMs?: number;
}

export interface DispatcherModules {
  rs: ReplicatedStore;
  logger: Logger;
  clock?: Clock;
}

export const DEFAULT_HEARTBEAT_PERIOD_MS = DEFAULT_HEARTBEAT_PERIOD_NS / 1_000_000;

/** How long a follower holds a heartbeat while no leader is known (agents wait at least 1 s). */
export const NO_LEADER_WAIT_MS = 800;

interface Registration {
  addr: string;
  description: NodeDescription | undefined;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A manager list's version: the same for the same list on every manager (order aside), so a node
 * that moves to another manager is not sent a list it has.
 */
export function managersVersion(peers: readonly controlpb.IManagerPeer[]): string {
  const text = peers.map((p) => `${p.nodeId ?? ""}@${p.addr ?? ""}`).sort().join(",");
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

function sameDescription(a: NodeDescription | undefined, b: NodeDescription): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export class Dispatcher {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly lastSeen = new Map<string, number>();
  /** Nodes heard from under this leadership (lastSeen also holds the sweep's placeholders). */
  private readonly heard = new Set<string>();
  /** When a node was last heard from for the first time under this leadership. */
  private lastNewNodeAt = 0;
  /** When this leadership began (its dispatcher started). */
  private ledSince = 0;
  private sweeper: TimerHandle | undefined;
  private sweepEveryMs = 0;
  /** Registrations waiting for the next batch, by node (the latest address and description win). */
  private readonly registrations = new Map<string, Registration>();
  /** Registrations a batch is writing now, by node. */
  private readonly writing = new Map<string, Promise<void>>();
  private registering = false;
  private lastSweepAt = 0;
  /** A sweep's DOWN write is in flight: later sweeps wait for it rather than write the same nodes again. */
  private expiring = false;
  private period: { ms: number; readAtMs: number } | undefined;
  private peers: { peers: controlpb.IManagerPeer[]; version: string; readAtMs: number } | undefined;
  private running = false;
  readonly assignments: TaskAssignments;
  /** The heartbeat period when the cluster spec sets none (shoald --heartbeat-ms, else 2 s). */
  readonly defaultPeriodMs: number;

  constructor(
    private readonly opts: DispatcherOptions,
    private readonly modules: DispatcherModules,
  ) {
    this.log = modules.logger.child({ component: "dispatcher" });
    this.clock = modules.clock ?? systemClock;
    this.defaultPeriodMs = opts.defaultHeartbeatPeriodMs ?? DEFAULT_HEARTBEAT_PERIOD_MS;
    this.assignments = new TaskAssignments(
      { rs: modules.rs, logger: modules.logger, clock: this.clock },
      opts.assignmentBatchWindowMs === undefined ? {} : { batchWindowMs: opts.assignmentBatchWindowMs },
    );
  }

  register(server: grpc.Server): void {
    // A stream of the calling node's session, served by the leader only (refused with the leader's
    // address elsewhere).
    const leaderStream =
      <C extends CallWithAuthContext & { emit(event: "error", err: unknown): boolean }>(serve: (nodeId: string, call: C) => void) =>
      (call: C): void => {
        try {
          const who = authorizeCall(call, { roles: ["manager", "worker"], clusterId: this.opts.clusterId });
          requireLeader(this.modules.rs);
          serve(who.nodeId, call);
        } catch (err) {
          call.emit("error", toServiceError(err));
        }
      };
    server.addService(dispatcherServiceDefinition, {
      heartbeat: unaryHandler(async (req: controlpb.HeartbeatRequest, call) => {
        const who = authorizeCall(call, { roles: ["manager", "worker"], clusterId: this.opts.clusterId });
        return this.heartbeat(who.nodeId, req);
      }, this.log),
      // A follower refuses the stream at once (naming the leader); a leader that loses leadership
      // ends it at the next heartbeat.
      heartbeats: leaderStream<grpc.ServerDuplexStream<controlpb.HeartbeatRequest, controlpb.HeartbeatResponse>>(
        (nodeId, call) => void serveCallStream(call, (req) => this.heartbeat(nodeId, req), { log: this.log }),
      ),
      assignments: leaderStream<grpc.ServerWritableStream<controlpb.IAssignmentsRequest, controlpb.AssignmentsMessage>>((nodeId, call) => this.assignments.serve(nodeId, call)),
      updateTaskStatus: unaryHandler(async (req: controlpb.UpdateTaskStatusRequest, call) => {
        const who = authorizeCall(call, { roles: ["manager", "worker"], clusterId: this.opts.clusterId });
        requireLeader(this.modules.rs);
        await this.assignments.updateTaskStatus(who.nodeId, req);
        return {};
      }, this.log),
      reportTaskStatus: leaderStream<grpc.ServerDuplexStream<controlpb.UpdateTaskStatusRequest, controlpb.TaskStatusAck>>((nodeId, call) => this.assignments.serveStatus(nodeId, call)),
    });
  }

  /** What the assignment streams sent since this manager started, and their pace now (metrics). */
  assignmentStats(): AssignmentStats {
    return this.assignments.stats();
  }

  /** Leader-only: start expiring nodes (called on gaining leadership). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastSeen.clear();
    this.heard.clear();
    this.lastNewNodeAt = this.clock.monotonicMs();
    this.ledSince = this.lastNewNodeAt;
    const tick = Math.max(50, Math.floor(this.periodMs() / 2));
    this.sweepEveryMs = tick;
    this.lastSweepAt = this.clock.monotonicMs();
    this.sweeper = this.clock.setInterval(() => void this.expire(), tick);
    this.assignments.start();
  }

  stop(): void {
    this.running = false;
    this.sweeper?.cancel();
    this.sweeper = undefined;
    this.assignments.stop();
  }

  /**
   * The heartbeat period the cluster spec sets, read at most once a second: every heartbeat asks,
   * and a read of the cluster object copies it whole (it holds the CA's keys, byte arrays the
   * store cannot freeze), which was 1.4 % of a busy leader's CPU. A changed period reaches the
   * nodes within a second more.
   */
  periodMs(): number {
    const now = this.clock.monotonicMs();
    if (this.period !== undefined && now - this.period.readAtMs < 1_000) return this.period.ms;
    const cluster = this.modules.rs.store.view((tx) => tx.find("cluster", { all: true })[0]);
    const ms = heartbeatPeriodMs(cluster, this.defaultPeriodMs);
    this.period = { ms, readAtMs: now };
    return ms;
  }

  private async heartbeat(nodeId: string, req: controlpb.HeartbeatRequest): Promise<controlpb.IHeartbeatResponse> {
    const rs = this.modules.rs;
    // No leader known (an election is on): hold the heartbeat until one is, for less than the
    // agents' shortest heartbeat deadline, then name it. Refused at once, a thousand agents went
    // round the managers every 0.1–2 s, and the survivors' CPU went to refusing them while they
    // were trying to elect a leader (a failover once took 8.6 s).
    if (!rs.isLeader()) await rs.leaderKnown(NO_LEADER_WAIT_MS);
    requireLeader(rs);
    const store = rs.store;
    const node = store.view((tx) => tx.get("node", nodeId));
    if (node === undefined) return { removed: true, periodMs: this.periodMs() };
    const now = this.clock.monotonicMs();
    this.lastSeen.set(nodeId, now);
    if (!this.heard.has(nodeId)) {
      this.heard.add(nodeId);
      this.lastNewNodeAt = now;
    }
    const description = decodeDescription(req.description);
    const addr = req.advertiseAddr || node.status.addr || "";
    // Written only when it changes the node: after a leader change every node starts a new
    // session, and a thousand writes that changed nothing each woke every loop watching nodes (the
    // constraint enforcer, orchestrators, scheduler) for seconds of a new leader's CPU.
    const needsWrite =
      node.status.state !== NodeState.READY ||
      node.status.addr !== addr ||
      node.status.message !== undefined ||
      (description !== undefined && !sameDescription(node.description, description));
    if (needsWrite) {
      const written = this.registerNode(nodeId, addr, description).then(() => {
        if (node.status.state !== NodeState.READY) this.log.info({ nodeId, hostname: description?.hostname ?? node.description?.hostname }, "dispatcher: node is ready");
      });
      if (node.status.state !== NodeState.READY) {
        // A node coming up (joined, or back from DOWN) is READY once its heartbeat is answered.
        await written;
      } else {
        // Already READY (a new address or description): written in the background. Under load a
        // write takes seconds, longer than the agents' heartbeat deadline; answers held for it
        // timed out, the agents went round the other managers and came back more slowly than the
        // grace period. Liveness is this heartbeat's arrival; a failed write is retried by the next.
        written.catch((err: unknown) => this.log.debug({ nodeId, err: describeError(err) }, "dispatcher: re-registration not written; the next heartbeat retries"));
      }
    }
    const managers = this.managers();
    return {
      periodMs: this.periodMs(),
      // The node's list is current: left out (a thousand nodes decoded and compared it on every beat).
      managers: req.managersVersion === managers.version ? [] : managers.peers,
      managersVersion: managers.version,
      desiredRole: node.spec.desiredRole,
      removed: false,
    };
  }

  /**
   * The manager list heartbeats answer with, and its version, read at most once a second (every
   * heartbeat asks). A changed list reaches the nodes within a second more.
   */
  private managers(): { peers: controlpb.IManagerPeer[]; version: string } {
    const now = this.clock.monotonicMs();
    if (this.peers !== undefined && now - this.peers.readAtMs < 1_000) return this.peers;
    const peers = this.modules.rs.store.view(managerPeers);
    this.peers = { peers, version: managersVersion(peers), readAtMs: now };
    return this.peers;
  }

  /**
   * Writes a node READY (with its address and description). Registrations that arrive while one
   * batch is being written share the next: after a leader change every node re-registers at
   * once, and a thousand single-node raft entries queued on the store's lock would outlast the
   * nodes' heartbeat deadlines (swarmkit's dispatcher batches node updates the same way).
   */
  private registerNode(nodeId: string, addr: string, description: NodeDescription | undefined): Promise<void> {
    const queued = this.registrations.get(nodeId);
    if (queued !== undefined) {
      // Not taken by a batch yet: the latest address and description win.
      queued.addr = addr;
      if (description !== undefined) queued.description = description;
      return queued.done;
    }
    // Being written now: heartbeats meanwhile share that write rather than queue another.
    const writing = this.writing.get(nodeId);
    if (writing !== undefined) return writing;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.registrations.set(nodeId, { addr, description, done, resolve, reject });
    if (!this.registering) void this.flushRegistrations();
    return done;
  }

  private async flushRegistrations(): Promise<void> {
    this.registering = true;
    try {
      while (this.registrations.size > 0) {
        const round = [...this.registrations];
        this.registrations.clear();
        for (const [nodeId, r] of round) this.writing.set(nodeId, r.done);
        try {
          await this.modules.rs.store.batch(async (batch) => {
            for (const [nodeId, r] of round) {
              await batch.update((tx) => {
                const cur = tx.get("node", nodeId);
                if (cur === undefined) return;
                const next: Node = { ...cur, status: { state: NodeState.READY, addr: r.addr } };
                if (r.description !== undefined) next.description = r.description;
                tx.update("node", next);
              });
            }
          });
          for (const [nodeId, r] of round) {
            this.writing.delete(nodeId);
            r.resolve();
          }
        } catch (err) {
          for (const [nodeId, r] of round) {
            this.writing.delete(nodeId);
            r.reject(err);
          }
        }
      }
    } finally {
      this.registering = false;
    }
  }

  /**
   * Raft ids of the members this leader has not heard from within an election timeout, once it has
   * led for a grace period (before that a member that is fine may not have answered yet: as a
   * follower this manager heard only from the old leader).
   */
  private silentRaftMembers(now: number, graceMs: number): Set<number> {
    if (now - this.ledSince < graceMs) return new Set();
    return new Set(
      this.modules.rs.raft
        .memberStatus()
        .filter((m) => !m.recentActive)
        .map((m) => m.id),
    );
  }

  private async expire(): Promise<void> {
    if (!this.running || !this.modules.rs.isLeader()) return;
    const now = this.clock.monotonicMs();
    const stalledMs = now - this.lastSweepAt - this.sweepEveryMs;
    this.lastSweepAt = now;
    if (stalledMs > this.sweepEveryMs) {
      // This sweep is late by more than a whole interval: this manager could not run (a long GC,
      // a burst of work, a starved CPU), so heartbeats that arrived meanwhile are still waiting
      // to be read. That is not the nodes' fault: move every deadline on by the stall rather than
      // mark live nodes DOWN (and reschedule all their tasks) for our own pause.
      for (const [id, at] of this.lastSeen) this.lastSeen.set(id, at + stalledMs);
      this.lastNewNodeAt += stalledMs;
      this.ledSince += stalledMs;
      this.log.warn({ stalledMs: Math.round(stalledMs) }, "dispatcher: this manager stalled; every node's heartbeat deadline moved on by the stall");
      return;
    }
    // Under load a write of many nodes can take seconds; sweeps meanwhile would find the same
    // nodes (not yet DOWN in the store) and queue the same write again, adding to the load.
    if (this.expiring) return;
    const periodMs = this.periodMs();
    const multiplier = this.opts.graceMultiplier ?? 3;
    const graceMs = periodMs * multiplier;
    // Counted as if last seen this much later, so that it expires after the longer grace.
    const unknownGraceMs = periodMs * (this.opts.unknownGraceMultiplier ?? 3 * multiplier);
    const unknownExtraMs = unknownGraceMs - graceMs;
    const silent = this.silentRaftMembers(now, graceMs);
    const store = this.modules.rs.store;
    const expired = store
      .view((tx) => tx.find("node", { all: true }))
      .filter((n) => {
        if (n.status.state === NodeState.DOWN) return false;
        const seen = this.lastSeen.get(n.id);
        if (seen === undefined) {
          // Not heard from under this leadership: a node that just joined (its first heartbeat is
          // on the way), or one from before we led. Its longer grace runs from when we first
          // noticed it (for a new leader, its first sweep); a heartbeat replaces it with the normal one.
          this.lastSeen.set(n.id, now + unknownExtraMs);
          return false;
        }
        const raftId = n.managerStatus?.raftId;
        if (!this.heard.has(n.id) && raftId !== undefined && silent.has(raftId)) {
          // A manager that neither heartbeats nor answers this leader's raft messages is not an
          // agent still finding a new leader but a node that is gone, typically the old leader
          // (killed: its tasks waited three grace periods, 18 s by default, to move). The normal
          // grace, from when this leader first noticed it.
          return now - (seen - unknownExtraMs) > graceMs;
        }
        // Nodes are still finding this leader (each is new once): one not heard from yet may be
        // one of them, so its longer grace also runs from the last node that arrived. At 1,000
        // nodes a new leader heard them over 45 s, each agent waiting on its TLS handshake with
        // it, and marked 800 live nodes DOWN at 18 s (with one grace period from the last arrival
        // instead of three, still 20).
        if (!this.heard.has(n.id) && now - this.lastNewNodeAt <= unknownGraceMs) return false;
        return now - seen > graceMs;
      });
    if (expired.length === 0) return;
    this.expiring = true;
    const marked = new Map<string, Node>();
    try {
      await store.batch(async (batch) => {
        for (const n of expired) {
          await batch.update((tx) => {
            const cur = tx.get("node", n.id);
            if (cur === undefined || cur.status.state === NodeState.DOWN) return;
            // Its heartbeat may have arrived while this write waited its turn: then it is alive.
            // (Only a heartbeat: a node never heard has the sweep's placeholder there.)
            const seen = this.lastSeen.get(n.id);
            if (this.heard.has(n.id) && seen !== undefined && this.clock.monotonicMs() - seen <= graceMs) return;
            tx.update("node", { ...cur, status: { ...cur.status, state: NodeState.DOWN, message: "heartbeat failure" } });
            marked.set(cur.id, cur);
          });
        }
      });
      for (const n of marked.values()) {
        this.log.warn({ nodeId: n.id, hostname: n.description?.hostname }, "dispatcher: node missed its heartbeats; marked down");
      }
    } catch (err) {
      this.log.warn({ err }, "dispatcher: could not mark nodes down; will retry");
    } finally {
      this.expiring = false;
    }
  }
}

