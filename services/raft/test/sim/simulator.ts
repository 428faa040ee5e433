// A deterministic cluster simulation for the Raft core: N RawNodes, each with a crash-prone disk
// (SimStorage), a hostile network, a KV state machine and clients, all driven by one seed on a
// virtual clock (no timers, no real randomness). After every step the SafetyChecker is fed what
// changed; at the end the cluster is healed, must converge, and the client history must be
// linearizable. Any failure throws SimulationFailure with the seed, the step and a replay command.
//
// The driver here follows the contract: persist a Ready (fsync when mustSync), then send its
// messages, then apply, then advance. A leader may send App/Heartbeat before persisting. A crash
// can hit between ready() and the end of persistence: that Ready is lost, and so is everything
// written since the last sync.

import { SeededRandom, errorCode } from "@shoal/common";
import { checkOperations, kvModel, type KvInput, type KvOutput, type Operation } from "@shoal/lincheck";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
  ConfChangeType,
  EntryType,
  MessageType,
  RaftError,
  RawNode,
  StateType,
  decodeConfChange,
} from "../../src/index.js";
import { EventQueue } from "./event-queue.js";
import { InvariantViolation, type InvariantName, type LogView, SafetyChecker, checkLogsPairwise } from "./invariants.js";
import { KvStateMachine, encodeCommand } from "./kv-state-machine.js";
import { Network, type NetworkConfig } from "./network.js";
import { SimStorage } from "./sim-storage.js";

/** Virtual time units per tick: message and disk latencies are fractions of a tick. */
export const TICK = 10;

/** Deliberate faults, for proving that the checker catches what it claims to. */
export interface SimFaults {
  /** Rewrites a message as it is sent. */
  tamperMessage?: (m: Message) => Message;
  /** Rewrites an entry just before a member applies it. */
  tamperApply?: (member: NodeId, e: Entry) => Entry;
  /** The disk never syncs, whatever mustSync says: a crash loses everything since the start. */
  neverSync?: boolean;
  /** Members answer gets from local state without a ReadIndex round. */
  staleReads?: boolean;
}

export interface SimOptions {
  seed: number;
  /** Ticks of chaos (faults, clients, membership) before healing. */
  chaosTicks?: number;
  /** Ticks the healed cluster gets to converge before that counts as a failure. */
  healTicks?: number;
  faults?: SimFaults;
  /** Search budget per key for the linearizability check. */
  lincheckMaxSteps?: number;
}

export interface SimResult {
  seed: number;
  steps: number;
  ticks: number;
  members: number;
  leaders: number;
  crashes: number;
  snapshotsSent: number;
  /** Entries a leader applied while its own write of them (or a later one) was in flight. */
  appliedEarly: number;
  /** Followers that forgot their leader on a report that its address refuses connections. */
  leaderDowns: number;
  confChanges: number;
  /** Remove-then-add cycles that completed (the fresh member became a voter). */
  membersReplaced: number;
  operations: number;
  unknownOperations: number;
  lincheck: "ok" | "unknown";
  warnings: string[];
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly invariant: InvariantName,
    detail: string,
    trace: string[],
  ) {
    super(
      `simulator: invariant "${invariant}" violated (seed ${seed}, step ${step}): ${detail}\n` +
        `replay: SHOAL_SIM_SEED=${seed} npx mocha services/raft/dist/test/sim/simulator.test.js\n` +
        `last events (time: event):\n  ${trace.join("\n  ")}`,
    );
    this.name = "SimulationFailure";
  }
}

type SimEvent =
  | { k: "tick"; id: NodeId; inc: number }
  | { k: "deliver"; m: Message }
  | { k: "take"; id: NodeId; inc: number }
  | { k: "finish"; id: NodeId; inc: number }
  | { k: "snap-status"; id: NodeId; inc: number; to: NodeId; ok: boolean }
  | { k: "unreachable"; id: NodeId; inc: number; to: NodeId }
  /** `id` is told that `of`'s address refuses connections (RawNode.reportLeaderDown). */
  | { k: "down"; id: NodeId; inc: number; of: NodeId }
  | { k: "crash" }
  | { k: "restart"; id: NodeId }
  | { k: "partition" }
  /** op: a retry of that operation (ignored once it is over); absent: start the next one. */
  | { k: "client"; c: number; op?: number }
  | { k: "timeout"; c: number; op: number }
  | { k: "membership" }
  | { k: "transfer" }
  | { k: "heal" }
  | { k: "converged?" }
  /** Never queued: a line in the trace saying what a step decided. */
  | { k: "note"; text: string };

interface PendingRead {
  op: number;
  key: string;
  index: number | undefined;
}

interface Member {
  id: NodeId;
  node: RawNode;
  storage: SimStorage;
  sm: KvStateMachine;
  /** Configuration as of sm.applied. */
  confState: ConfState;
  alive: boolean;
  /** Shut down for good after its removal: never restarted. */
  retired: boolean;
  /** Bumped at every crash so events scheduled for an earlier life are ignored. */
  inc: number;
  pending: Ready | undefined;
  /** Messages of the pending Ready still to send after persistence. */
  pendingSend: Message[];
  /**
   * The pending Ready is a leader's synced write, and while it is in flight the driver applies
   * what acknowledgements commit (as RaftNode does): the term it leads, else undefined.
   */
  applyingWhileSaving: number | undefined;
  /** The highest index applied that way: the core lists such entries again in a later Ready. */
  appliedEarlyTo: number;
  takeScheduled: boolean;
  /** index -> the client put proposed there through this member, in this life. */
  proposals: Map<number, { term: number; op: number }>;
  /** ReadIndex context -> the client get waiting on it. */
  reads: Map<string, PendingRead>;
  random: SeededRandom;
}

interface ClientOp {
  id: number;
  input: KvInput;
  record: Operation<KvInput, KvOutput>;
  /** A put reached a leader's log: retrying could apply it twice, so the client only waits. */
  proposed: boolean;
  done: boolean;
  /** The put's entry was overwritten: it never took effect and is left out of the history. */
  failed: boolean;
}

interface Client {
  id: number;
  guess: NodeId;
  op: ClientOp | undefined;
}

const KEYS = ["a", "b", "c"];

export class Simulation {
  private readonly rng: SeededRandom;
  /** Whether a leader's Ready applies while it is written (applyingWhileSaving). */
  private readonly earlyRng: SeededRandom;
  /** Whether and when members are told a peer's address refuses connections. */
  private readonly downRng: SeededRandom;
  private readonly checker = new SafetyChecker();
  private readonly queue = new EventQueue<SimEvent>();
  private readonly net: Network;
  private readonly members = new Map<NodeId, Member>();
  private readonly clients: Client[] = [];
  private readonly history: ClientOp[] = [];
  private readonly faults: SimFaults;
  private readonly trace: { time: number; ev: SimEvent }[] = [];
  private now = 0;
  private step = 0;
  private healing = false;
  private converged = false;
  private nextId: NodeId;
  private nextOp = 1;
  private readonly cfg: {
    n: number;
    electionTicks: number;
    heartbeatTicks: number;
    maxPersistDelay: number;
    snapshotEvery: number;
    membership: boolean;
    /** Remove-then-add cycles a membership seed may run. */
    maxReplacements: number;
    clients: number;
    timeoutTicks: number;
    chaosTicks: number;
    healTicks: number;
    crashes: boolean;
    partitions: boolean;
    maxInflightMsgs: number;
    maxUncommittedEntriesBytes: number;
  };
  private readonly stats = { leaders: 0, crashes: 0, snapshotsSent: 0, confChanges: 0, appliedEarly: 0, leaderDowns: 0 };
  private readonly warnings: string[] = [];
  private membership: { phase: "idle" | "removing" | "adding" | "promoting"; target: NodeId; joiner: NodeId; learnerFirst: boolean; lastTry: number; cycles: number } = {
    phase: "idle",
    target: 0,
    joiner: 0,
    learnerFirst: false,
    lastTry: -Infinity,
    cycles: 0,
  };

  constructor(private readonly opts: SimOptions) {
    this.rng = new SeededRandom(opts.seed);
    // A stream of its own, so that the other draws (and so what each seed exercises) did not move
    // when this choice was added.
    this.earlyRng = new SeededRandom(opts.seed * 7 + 3);
    this.downRng = new SeededRandom(opts.seed * 11 + 5);
    this.faults = opts.faults ?? {};
    const r = this.rng;
    const n = r.next() < 0.7 ? 3 : 5;
    // One seed in ten is a storm: very lossy links and disks slower than a heartbeat.
    const storm = r.next() < 0.1;
    this.cfg = {
      n,
      electionTicks: 5 + r.int(6),
      heartbeatTicks: 1,
      maxPersistDelay: storm ? 1 + r.int(4 * TICK) : 1 + r.int(8),
      snapshotEvery: 3 + r.int(25),
      membership: r.next() < 0.35,
      maxReplacements: 1 + r.int(4),
      clients: 2 + r.int(2),
      timeoutTicks: 30,
      chaosTicks: opts.chaosTicks ?? 200,
      healTicks: opts.healTicks ?? 400,
      crashes: r.next() < 0.8,
      partitions: r.next() < 0.8,
      // A small window makes flow control (full inflights, lost appends) matter within a short run.
      maxInflightMsgs: r.next() < 0.5 ? 256 : 2 + r.int(8),
      // Sometimes tight enough that a leader cut off from its quorum refuses proposals.
      maxUncommittedEntriesBytes: r.next() < 0.3 ? 40 + r.int(200) : 0,
    };
    const net: NetworkConfig = {
      dropRate: storm ? 0.1 + r.next() * 0.25 : r.next() < 0.3 ? 0 : r.next() * 0.1,
      duplicateRate: r.next() * 0.05,
      minDelay: 1,
      maxDelay: 2 + r.int(15),
      longDelayRate: r.next() * 0.03,
      longDelayMax: 5 * TICK,
    };
    this.net = new Network(new SeededRandom(r.nextUint32()), net);
    const voters = Array.from({ length: n }, (_, i) => i + 1);
    this.nextId = n + 1;
    for (const id of voters) this.addMember(id, { voters, learners: [], removed: [] });
    for (let c = 0; c < this.cfg.clients; c++) {
      this.clients.push({ id: c, guess: voters[r.int(n)]!, op: undefined });
      this.queue.push(r.int(3 * TICK), { k: "client", c });
    }
    if (this.cfg.crashes) this.queue.push(this.chaosGap(), { k: "crash" });
    if (this.cfg.partitions) this.queue.push(this.chaosGap(), { k: "partition" });
    if (this.cfg.membership) this.queue.push(this.chaosGap(), { k: "membership" });
    this.queue.push(this.chaosGap() * 2, { k: "transfer" });
    this.queue.push(this.cfg.chaosTicks * TICK, { k: "heal" });
  }

  run(): SimResult {
    const end = (this.cfg.chaosTicks + this.cfg.healTicks) * TICK;
    try {
      while (!this.converged) {
        const next = this.queue.pop();
        if (next === undefined) throw new InvariantViolation("convergence", "the event queue ran dry");
        if (next.time > end) {
          throw new InvariantViolation("convergence", `the healed cluster did not converge within ${this.cfg.healTicks} ticks: ${this.describeCluster()}`);
        }
        this.now = next.time;
        this.step++;
        this.trace.push({ time: this.now, ev: next.item });
        if (this.trace.length > 60) this.trace.shift();
        this.handle(next.item);
      }
      this.finalChecks();
    } catch (err) {
      throw this.failure(err);
    }
    const ops = this.history.filter((o) => !o.failed);
    const lin = this.checkHistory(ops);
    return {
      seed: this.opts.seed,
      steps: this.step,
      ticks: Math.round(this.now / TICK),
      members: this.cfg.n,
      leaders: this.stats.leaders,
      crashes: this.stats.crashes,
      snapshotsSent: this.stats.snapshotsSent,
      appliedEarly: this.stats.appliedEarly,
      leaderDowns: this.stats.leaderDowns,
      confChanges: this.stats.confChanges,
      membersReplaced: this.membership.cycles,
      operations: ops.length,
      unknownOperations: ops.filter((o) => o.record.return === undefined).length,
      lincheck: lin,
      warnings: this.warnings,
    };
  }

  private failure(err: unknown): SimulationFailure {
    const trace = this.trace.map((t) => `${t.time}: ${describeEvent(t.ev)}`);
    if (err instanceof InvariantViolation) return new SimulationFailure(this.opts.seed, this.step, err.invariant, err.detail, trace);
    const detail = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
    return new SimulationFailure(this.opts.seed, this.step, "core error", detail, trace);
  }

  // ---- events ---------------------------------------------------------------------------------

  private handle(ev: SimEvent): void {
    switch (ev.k) {
      case "tick": {
        const m = this.live(ev.id, ev.inc);
        if (m === undefined) return;
        m.node.tick();
        this.queue.push(this.now + TICK, ev);
        this.touched(m);
        return;
      }
      case "deliver":
        return this.deliver(ev.m);
      case "take": {
        const m = this.live(ev.id, ev.inc);
        if (m === undefined) return;
        m.takeScheduled = false;
        this.take(m);
        this.touched(m);
        return;
      }
      case "finish": {
        const m = this.live(ev.id, ev.inc);
        if (m === undefined) return;
        this.finish(m);
        if (m.alive) this.touched(m);
        return;
      }
      case "snap-status": {
        const m = this.live(ev.id, ev.inc);
        if (m === undefined) return;
        m.node.reportSnapshot(ev.to, ev.ok);
        this.touched(m);
        return;
      }
      case "unreachable": {
        const m = this.live(ev.id, ev.inc);
        if (m === undefined) return;
        m.node.reportUnreachable(ev.to);
        // Now and then also "refuses connections" while `to` is alive (partitioned): the report
        // is wrong, and must cost at most an election.
        if (this.downRng.next() < 0.1) this.leaderDown(m, ev.to);
        this.touched(m);
        return;
      }
      case "down": {
        const m = this.live(ev.id, ev.inc);
        if (m === undefined) return;
        this.leaderDown(m, ev.of);
        this.touched(m);
        return;
      }
      case "crash":
        return this.crashSomeone();
      case "restart":
        return this.restart(ev.id);
      case "partition":
        return this.repartition();
      case "client":
        return this.clientStep(ev.c, ev.op);
      case "timeout":
        return this.clientTimeout(ev.c, ev.op);
      case "membership":
        return this.membershipStep();
      case "transfer":
        return this.transferStep();
      case "heal":
        return this.heal();
      case "note":
        return;
      case "converged?":
        this.converged = this.isConverged();
        if (!this.converged) this.queue.push(this.now + TICK, ev);
        return;
    }
  }

  private live(id: NodeId, inc: number): Member | undefined {
    const m = this.members.get(id);
    return m !== undefined && m.alive && m.inc === inc ? m : undefined;
  }

  /** After a step on m: feed the checker and make sure a pending Ready gets picked up. */
  private touched(m: Member): void {
    if (!m.alive) return;
    const s = m.node.status();
    if (s.state === StateType.Leader && this.checker.leaderFor(s.term) !== m.id) this.stats.leaders++;
    this.checker.observeStatus(m.id, { term: s.term, commit: s.commit, applied: s.applied, isLeader: s.state === StateType.Leader }, this.logView(m, m.pending));
    if (m.sm.applied > s.commit) {
      throw new InvariantViolation("applied <= committed", `member ${m.id} state machine applied ${m.sm.applied} > commit ${s.commit}`);
    }
    this.scheduleTake(m);
  }

  private scheduleTake(m: Member): void {
    if (m.takeScheduled || m.pending !== undefined || !m.node.hasReady()) return;
    m.takeScheduled = true;
    this.queue.push(this.now + this.rng.int(3), { k: "take", id: m.id, inc: m.inc });
  }

  // ---- members and their driver ----------------------------------------------------------------

  private addMember(id: NodeId, initial: ConfState | undefined): Member {
    const storage = SimStorage.fresh(initial);
    const random = new SeededRandom(this.rng.nextUint32());
    const m: Member = {
      id,
      node: this.newNode(id, storage, random, 0),
      storage,
      sm: new KvStateMachine(),
      confState: storage.mem.snapshot().metadata.confState,
      alive: true,
      retired: false,
      inc: 0,
      pending: undefined,
      pendingSend: [],
      applyingWhileSaving: undefined,
      appliedEarlyTo: 0,
      takeScheduled: false,
      proposals: new Map(),
      reads: new Map(),
      random,
    };
    this.members.set(id, m);
    this.queue.push(this.now + 1 + this.rng.int(TICK), { k: "tick", id, inc: 0 });
    return m;
  }

  private newNode(id: NodeId, storage: SimStorage, random: SeededRandom, applied: number): RawNode {
    return new RawNode({
      id,
      storage: storage.mem,
      random,
      electionTicks: this.cfg.electionTicks,
      heartbeatTicks: this.cfg.heartbeatTicks,
      applied,
      maxSizePerMsgBytes: 512,
      maxInflightMsgs: this.cfg.maxInflightMsgs,
      maxUncommittedEntriesBytes: this.cfg.maxUncommittedEntriesBytes,
    });
  }

  private take(m: Member): void {
    if (m.pending !== undefined || !m.node.hasReady()) return;
    const rd = m.node.ready();
    this.checker.observeReady(m.id, rd);
    if (rd.entries.length > 0) {
      const before = rd.entries[0]!.index - 1;
      const prevTerm = rd.snapshot !== undefined && rd.snapshot.metadata.index === before ? rd.snapshot.metadata.term : this.logView(m, undefined).term(before);
      this.checker.observeEntries(m.id, rd.entries, prevTerm);
    }
    if (rd.hardState !== undefined) this.checker.observeCommit(m.id, rd.hardState.commit, this.logView(m, rd));
    m.pending = rd;
    const status = m.node.status();
    m.applyingWhileSaving = rd.mustSync && rd.snapshot === undefined && status.state === StateType.Leader && this.earlyRng.next() < 0.5 ? status.term : undefined;
    // Thesis §10.2.1: the leader may replicate before its own disk write finishes.
    const early = this.rng.next() < 0.5;
    m.pendingSend = early ? rd.messages.filter((x) => x.type !== MessageType.App && x.type !== MessageType.Heartbeat) : rd.messages;
    if (early) this.send(m, rd.messages.filter((x) => x.type === MessageType.App || x.type === MessageType.Heartbeat));
    const delay = this.rng.next() < 0.05 ? 2 * TICK : 1 + this.rng.int(this.cfg.maxPersistDelay);
    this.queue.push(this.now + delay, { k: "finish", id: m.id, inc: m.inc });
  }

  private finish(m: Member): void {
    const rd = m.pending;
    if (rd === undefined) return;
    m.storage.write({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState }, rd.mustSync && this.faults.neverSync !== true);
    this.send(m, m.pendingSend);
    m.pendingSend = [];
    let removedSelf = false;
    if (rd.snapshot !== undefined) {
      const snap = rd.snapshot;
      m.sm = KvStateMachine.restore(snap.data);
      if (m.sm.applied !== snap.metadata.index) {
        throw new InvariantViolation("state-machine safety", `member ${m.id} got snapshot ${snap.metadata.index} holding state applied to ${m.sm.applied}`);
      }
      m.confState = snap.metadata.confState;
      this.checker.observeSnapshot(m.id, snap.metadata.index, snap.metadata.term, m.sm.chain);
      for (const [index, p] of m.proposals) if (index <= snap.metadata.index) this.settleProposal(m, index, p);
    }
    m.applyingWhileSaving = undefined;
    for (const e0 of rd.committedEntries) {
      if (e0.index <= m.appliedEarlyTo && e0.index <= m.sm.applied) continue;
      if (e0.index !== m.sm.applied + 1) {
        throw new InvariantViolation("state-machine safety", `member ${m.id} was handed index ${e0.index} to apply after ${m.sm.applied}`);
      }
      const e = this.faults.tamperApply ? this.faults.tamperApply(m.id, e0) : e0;
      m.sm.apply(e);
      this.checker.observeApply(m.id, e, m.sm.chain);
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        m.confState = m.node.applyConfChange(cc);
        if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === m.id) removedSelf = true;
      }
      const p = m.proposals.get(e.index);
      if (p !== undefined) this.settleProposal(m, e.index, p, e.term);
    }
    for (const rs of rd.readStates) {
      const r = m.reads.get(ctxKey(rs.requestCtx));
      if (r !== undefined && r.index === undefined) r.index = rs.index;
    }
    this.serveReads(m);
    m.node.advance(rd);
    m.pending = undefined;
    if (rd.snapshot !== undefined || rd.committedEntries.length > 0) this.checker.observeConfState(m.id, m.sm.applied, confKey(m.confState));
    // With nothing left to hand out, the core's configuration is the one the driver applied.
    if (!m.node.hasReady()) {
      const core = confKey(m.node.status().confState);
      if (core !== confKey(m.confState)) {
        throw new InvariantViolation(
          "configuration agreement",
          `member ${m.id} applied up to ${m.sm.applied} with configuration ${confKey(m.confState)}, but its core uses ${core}`,
        );
      }
    }
    if (removedSelf) {
      // A member that applied its own removal shuts down, as the real driver does.
      m.alive = false;
      m.retired = true;
      m.inc++;
      return;
    }
    this.maybeSnapshot(m);
  }

  private maybeSnapshot(m: Member): void {
    const snapIndex = m.storage.mem.snapshot().metadata.index;
    if (m.sm.applied - snapIndex < this.cfg.snapshotEvery || this.rng.next() < 0.5) return;
    const keep = this.rng.int(4);
    this.note(`member ${m.id} snapshots at ${m.sm.applied}, compacts to ${m.sm.applied - keep}`);
    m.storage.snapshotAndCompact(m.sm.applied, m.confState, m.sm.snapshot(), m.sm.applied - keep);
  }

  private send(from: Member, msgs: Message[]): void {
    for (const m0 of msgs) {
      const msg = this.faults.tamperMessage ? this.faults.tamperMessage(m0) : m0;
      this.checker.observeSent(from.id, m0);
      if (msg.type === MessageType.App && msg.entries.length > 0) this.checker.observeEntries(from.id, msg.entries, msg.logTerm);
      const to = this.members.get(msg.to);
      const fates = to === undefined || to.retired ? [] : this.net.fate(msg.from, msg.to);
      if (msg.type === MessageType.Snap) {
        this.stats.snapshotsSent++;
        const at = this.now + (fates[0] ?? 1 + this.rng.int(TICK));
        this.queue.push(at, { k: "snap-status", id: from.id, inc: from.inc, to: msg.to, ok: fates.length > 0 });
      } else if (fates.length === 0 && !this.net.canDeliver(msg.from, msg.to) && this.rng.next() < 0.2) {
        this.queue.push(this.now + TICK, { k: "unreachable", id: from.id, inc: from.inc, to: msg.to });
      }
      for (const d of fates) this.queue.push(this.now + d, { k: "deliver", m: msg });
    }
  }

  private deliver(msg: Message): void {
    const m = this.members.get(msg.to);
    if (m === undefined || !m.alive || !this.net.canDeliver(msg.from, msg.to)) return;
    try {
      // A copy, as the wire would make: the receiver must not share the sender's message object.
      m.node.step({ ...msg });
    } catch (err) {
      // etcd's rule: a response from a member this one does not know is dropped, not fatal.
      if (errorCode(err) !== "RAFT_STEP_PEER_NOT_FOUND") throw err;
    }
    if (m.applyingWhileSaving !== undefined && msg.type === MessageType.AppResp) this.applyWhileSaving(m, m.applyingWhileSaving);
    this.touched(m);
  }

  /**
   * RaftNode's applyWhileSaving: a leader whose own write is in flight applies what its followers'
   * acknowledgements commit, up to the first configuration change. State-machine safety is
   * checked on these as on every apply.
   */
  private applyWhileSaving(m: Member, term: number): void {
    const ready = m.node.committedAfter(m.sm.applied, term);
    if (ready.length === 0) return;
    // The commit these entries come from has not been in a Ready yet: the checker learns it here.
    this.checker.observeCommit(m.id, m.node.status().commit, this.logView(m, m.pending));
    for (const e0 of ready) {
      if (e0.type === EntryType.ConfChange) break;
      if (e0.index !== m.sm.applied + 1) {
        throw new InvariantViolation("state-machine safety", `member ${m.id} was handed index ${e0.index} to apply early after ${m.sm.applied}`);
      }
      const e = this.faults.tamperApply ? this.faults.tamperApply(m.id, e0) : e0;
      m.sm.apply(e);
      this.checker.observeApply(m.id, e, m.sm.chain);
      m.appliedEarlyTo = e.index;
      this.stats.appliedEarly++;
      const p = m.proposals.get(e.index);
      if (p !== undefined) this.settleProposal(m, e.index, p, e.term);
    }
    this.serveReads(m);
  }

  private crashSomeone(): void {
    if (this.healing) return;
    this.queue.push(this.now + this.chaosGap(), { k: "crash" });
    const up = [...this.members.values()].filter((m) => m.alive);
    const down = [...this.members.values()].filter((m) => !m.alive && !m.retired).length;
    if (up.length === 0 || down >= Math.floor(this.cfg.n / 2) + (this.rng.next() < 0.2 ? 1 : 0)) return;
    const victim = up[this.rng.int(up.length)]!;
    this.note(`crash ${victim.id}${victim.pending !== undefined ? " with a Ready in flight" : ""}`);
    this.crash(victim);
    this.queue.push(this.now + (2 + this.rng.int(30)) * TICK, { k: "restart", id: victim.id });
    // Most members see the crashed member's address refuse connections soon after, as a
    // transport's reconnect does (some only after the member is back: a stale report).
    for (const m of this.members.values()) {
      if (m.alive && m !== victim && this.downRng.next() < 0.7) this.queue.push(this.now + 1 + this.downRng.int(3 * TICK), { k: "down", id: m.id, inc: m.inc, of: victim.id });
    }
  }

  private leaderDown(m: Member, of: NodeId): void {
    if (!m.node.reportLeaderDown(of)) return;
    this.stats.leaderDowns++;
    this.note(`member ${m.id} forgets leader ${of}: its address refuses connections`);
  }

  private note(text: string): void {
    this.trace.push({ time: this.now, ev: { k: "note", text } });
  }

  private crash(m: Member): void {
    this.stats.crashes++;
    m.alive = false;
    m.inc++;
    m.pending = undefined;
    m.pendingSend = [];
    m.applyingWhileSaving = undefined;
    m.appliedEarlyTo = 0;
    m.takeScheduled = false;
    m.proposals.clear();
    m.reads.clear();
  }

  private restart(id: NodeId): void {
    const m = this.members.get(id);
    if (m === undefined || m.alive || m.retired) return;
    m.storage = m.storage.crashAndRecover();
    const snap = m.storage.mem.snapshot();
    // As RaftNode.start does: a leader that applied entries while its write of them was in flight
    // can snapshot past the commit index its storage holds (it rides along with a later write).
    if (m.storage.mem.hardState.commit < snap.metadata.index) m.storage.mem.setHardState({ ...m.storage.mem.hardState, commit: snap.metadata.index });
    const hs = m.storage.mem.hardState;
    this.note(`member ${id} restarts: snapshot ${snap.metadata.index}, term ${hs.term}, vote ${hs.vote}, commit ${hs.commit}, last ${m.storage.mem.lastIndex()}`);
    this.checker.observeRestart(id, m.storage.mem.hardState);
    m.node = this.newNode(id, m.storage, m.random, snap.metadata.index);
    m.sm = KvStateMachine.restore(snap.data);
    m.confState = snap.metadata.confState;
    m.alive = true;
    this.queue.push(this.now + 1 + this.rng.int(TICK), { k: "tick", id, inc: m.inc });
    this.touched(m);
  }

  // ---- the log as the driver sees it -------------------------------------------------------------

  /** Persisted entries, overlaid with the Ready in flight (which may truncate or replace them). */
  private logView(m: Member, rd: Ready | undefined): LogView {
    const mem = m.storage.mem;
    const snap = rd?.snapshot;
    const ents = rd?.entries ?? [];
    const pendFirst = ents.length > 0 ? ents[0]!.index : Infinity;
    const snapshotIndex = snap !== undefined ? snap.metadata.index : mem.firstIndex() - 1;
    const lastIndex = ents.length > 0 ? ents[ents.length - 1]!.index : snap !== undefined ? snap.metadata.index : mem.lastIndex();
    return {
      snapshotIndex,
      lastIndex,
      term(i: number): number | undefined {
        if (i > lastIndex || i < snapshotIndex) return undefined;
        if (i >= pendFirst) return ents[i - pendFirst]!.term;
        if (snap !== undefined) return i === snapshotIndex ? snap.metadata.term : undefined;
        return i <= mem.lastIndex() ? mem.term(i) : undefined;
      },
    };
  }

  // ---- clients -----------------------------------------------------------------------------------

  private clientStep(c: number, retryOf: number | undefined): void {
    const client = this.clients[c]!;
    if (retryOf !== undefined && client.op?.id !== retryOf) return;
    if (client.op === undefined) {
      if (this.healing) return;
      const id = this.nextOp++;
      const key = KEYS[this.rng.int(KEYS.length)]!;
      const input: KvInput = this.rng.next() < 0.55 ? { op: "put", key, value: `v${id}` } : { op: "get", key };
      const record: Operation<KvInput, KvOutput> = { clientId: c, input, call: this.now, output: undefined, return: undefined };
      client.op = { id, input, record, proposed: false, done: false, failed: false };
      this.history.push(client.op);
      this.queue.push(this.now + this.cfg.timeoutTicks * TICK, { k: "timeout", c, op: id });
    }
    const op = client.op;
    if (op.done || op.proposed) return;
    const target = this.members.get(client.guess);
    if (target === undefined || !target.alive) {
      client.guess = this.randomMemberId();
      this.queue.push(this.now + TICK / 2, { k: "client", c, op: op.id });
      return;
    }
    if (op.input.op === "get") {
      if (this.faults.staleReads === true) {
        this.finishOp(client, { value: target.sm.get(op.input.key) });
        return;
      }
      const ctx = new TextEncoder().encode(`r${op.id}`);
      target.reads.set(ctxKey(ctx), { op: op.id, key: op.input.key, index: undefined });
      target.node.readIndex(ctx);
      this.touched(target);
      // Reads are idempotent, so the client may ask again elsewhere until one answers.
      const lead = target.node.status().lead;
      client.guess = lead !== 0 ? lead : this.randomMemberId();
      this.queue.push(this.now + 3 * TICK, { k: "client", c, op: op.id });
      return;
    }
    try {
      const { index, term } = target.node.propose(encodeCommand({ op: op.id, key: op.input.key, value: op.input.value }));
      target.proposals.set(index, { term, op: op.id });
      op.proposed = true;
    } catch (err) {
      const code = errorCode(err);
      if (code === "RAFT_NOT_LEADER") {
        const hint = (err as RaftError).meta["leader"];
        client.guess = typeof hint === "number" && hint !== 0 ? hint : this.randomMemberId();
      } else if (code !== "RAFT_PROPOSAL_DROPPED" && code !== "RAFT_TOO_MANY_UNCOMMITTED") {
        throw err;
      }
      this.queue.push(this.now + TICK / 2 + this.rng.int(TICK), { k: "client", c, op: op.id });
    }
    this.touched(target);
  }

  private randomMemberId(): NodeId {
    const ids = [...this.members.values()].filter((m) => !m.retired).map((m) => m.id);
    return ids[this.rng.int(ids.length)]!;
  }

  /** The outcome of a put proposed at (index, p.term) once index is applied (or covered by a snapshot). */
  private settleProposal(m: Member, index: number, p: { term: number; op: number }, appliedTerm?: number): void {
    m.proposals.delete(index);
    const client = this.clients.find((c) => c.op?.id === p.op);
    if (client === undefined) return;
    // Same index and term means the very entry proposed; any other entry there means ours lost.
    // Settled through a snapshot: the globally committed entry at index tells its fate.
    const term = appliedTerm ?? this.checker.committedTermAt(index);
    if (term === p.term) this.finishOp(client, {});
    else if (term !== undefined) {
      client.op!.failed = true;
      this.finishOp(client, undefined);
    }
  }

  private serveReads(m: Member): void {
    for (const [key, r] of m.reads) {
      if (r.index === undefined || r.index > m.sm.applied) continue;
      m.reads.delete(key);
      const client = this.clients.find((c) => c.op?.id === r.op);
      if (client !== undefined) this.finishOp(client, { value: m.sm.get(r.key) });
    }
  }

  /** Completes the client's current op (output undefined: it definitely failed) and starts the next. */
  private finishOp(client: Client, output: KvOutput | undefined): void {
    const op = client.op!;
    if (output !== undefined) {
      op.record.output = output;
      op.record.return = this.now;
    }
    op.done = true;
    client.op = undefined;
    this.queue.push(this.now + this.rng.int(2 * TICK), { k: "client", c: client.id });
  }

  private clientTimeout(c: number, opId: number): void {
    const client = this.clients[c]!;
    if (client.op?.id !== opId) return;
    // Unknown outcome: the record keeps return undefined.
    client.op.done = true;
    client.op = undefined;
    this.queue.push(this.now + this.rng.int(2 * TICK), { k: "client", c });
  }

  // ---- chaos -------------------------------------------------------------------------------------

  private chaosGap(): number {
    return (8 + this.rng.int(25)) * TICK;
  }

  private currentLeader(): Member | undefined {
    let best: Member | undefined;
    let bestTerm = -1;
    for (const m of this.members.values()) {
      if (!m.alive) continue;
      const s = m.node.status();
      if (s.state === StateType.Leader && s.term > bestTerm) {
        best = m;
        bestTerm = s.term;
      }
    }
    return best;
  }

  private repartition(): void {
    if (this.healing) return;
    this.queue.push(this.now + this.chaosGap(), { k: "partition" });
    const ids = [...this.members.values()].filter((m) => !m.retired).map((m) => m.id);
    const x = this.rng.next();
    if (x < 0.35) this.net.heal();
    else if (x < 0.6) this.net.split(ids);
    else if (x < 0.85) {
      const lead = this.currentLeader();
      this.net.isolate(lead?.id ?? ids[this.rng.int(ids.length)]!, ids);
    } else this.net.oneWay(ids);
    this.note(`network: ${this.net.describe()}`);
  }

  private transferStep(): void {
    if (this.healing) return;
    this.queue.push(this.now + 2 * this.chaosGap(), { k: "transfer" });
    if (this.rng.next() < 0.3) {
      // An operator (or a driver's hook) forcing an election on some member, leader or not.
      const up = [...this.members.values()].filter((m) => m.alive);
      const m = up[this.rng.int(up.length)];
      if (m === undefined) return;
      this.note(`member ${m.id} campaigns`);
      m.node.campaign();
      this.touched(m);
      return;
    }
    const lead = this.currentLeader();
    if (lead === undefined) return;
    const voters = lead.node.status().confState.voters.filter((v) => v !== lead.id);
    if (voters.length === 0) return;
    const to = voters[this.rng.int(voters.length)]!;
    this.note(`leader ${lead.id} transfers to ${to}`);
    lead.node.transferLeader(to);
    this.touched(lead);
  }

  /** Remove a voter, then add a fresh ID (as a learner first, sometimes), one change at a time. */
  private membershipStep(): void {
    if (this.healing) return;
    this.queue.push(this.now + 3 * TICK, { k: "membership" });
    const lead = this.currentLeader();
    if (lead === undefined) return;
    const cs = lead.node.status().confState;
    const ms = this.membership;
    const propose = (cc: ConfChange): void => {
      if (this.now - ms.lastTry < 20 * TICK) return;
      ms.lastTry = this.now;
      this.note(`leader ${lead.id} proposes ${ConfChangeType[cc.type]} ${cc.nodeId}`);
      try {
        lead.node.proposeConfChange(cc);
        this.stats.confChanges++;
      } catch (err) {
        const code = errorCode(err);
        if (code !== "RAFT_CONF_CHANGE_PENDING" && code !== "RAFT_PROPOSAL_DROPPED" && code !== "RAFT_NOT_LEADER") throw err;
      }
      this.touched(lead);
    };
    switch (ms.phase) {
      case "idle":
        if (ms.cycles >= this.cfg.maxReplacements || cs.voters.length < 3 || this.rng.next() > 0.15) return;
        ms.phase = "removing";
        ms.target = cs.voters[this.rng.int(cs.voters.length)]!;
        ms.lastTry = -Infinity;
        return propose({ type: ConfChangeType.RemoveNode, nodeId: ms.target });
      case "removing":
        if (!cs.removed.includes(ms.target)) return propose({ type: ConfChangeType.RemoveNode, nodeId: ms.target });
        {
          // An operator may shut the removed member down now, or forget it (a zombie that has
          // not heard of its removal and keeps knocking).
          const old = this.members.get(ms.target);
          if (old !== undefined && !old.retired && this.rng.next() < 0.5) {
            old.alive = false;
            old.retired = true;
            old.inc++;
          }
        }
        ms.joiner = this.nextId++;
        this.addMember(ms.joiner, undefined);
        ms.learnerFirst = this.rng.next() < 0.5;
        ms.phase = "adding";
        ms.lastTry = -Infinity;
        return;
      case "adding":
        if (cs.voters.includes(ms.joiner)) return this.membershipDone();
        if (cs.learners.includes(ms.joiner)) {
          ms.phase = "promoting";
          ms.lastTry = -Infinity;
          return;
        }
        return propose({ type: ms.learnerFirst ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, nodeId: ms.joiner });
      case "promoting":
        if (cs.voters.includes(ms.joiner)) return this.membershipDone();
        return propose({ type: ConfChangeType.AddVoter, nodeId: ms.joiner });
    }
  }

  private membershipDone(): void {
    this.membership.phase = "idle";
    this.membership.cycles++;
  }

  private heal(): void {
    this.healing = true;
    this.net.heal();
    this.net.config = { ...this.net.config, dropRate: 0, duplicateRate: 0, longDelayRate: 0 };
    for (const m of this.members.values()) if (!m.alive && !m.retired) this.restart(m.id);
    this.queue.push(this.now + TICK, { k: "converged?" });
  }

  // ---- the end -----------------------------------------------------------------------------------

  private isConverged(): boolean {
    if (this.clients.some((c) => c.op !== undefined)) return false;
    const lead = this.currentLeader();
    if (lead === undefined) return false;
    const st = lead.node.status();
    if (st.commit < st.lastIndex) return false;
    for (const id of [...st.confState.voters, ...st.confState.learners]) {
      const m = this.members.get(id);
      // Heartbeats keep Readies flowing forever, so a Ready in flight is fine; what counts is agreement.
      if (m === undefined || !m.alive) return false;
      if (m.node.status().commit !== st.commit || m.sm.applied !== st.commit) return false;
    }
    return true;
  }

  private finalChecks(): void {
    const lead = this.currentLeader()!;
    const cs = lead.node.status().confState;
    const ids = [...cs.voters, ...cs.learners];
    for (const id of ids) {
      const m = this.members.get(id)!;
      if (m.sm.chain !== lead.sm.chain) {
        throw new InvariantViolation("convergence", `member ${id} state ${m.sm.chain} differs from leader ${lead.id}'s ${lead.sm.chain} at index ${m.sm.applied}`);
      }
      // Same applied index, so the same configuration, both as the driver tracks it and as the core does.
      const want = JSON.stringify(lead.confState);
      for (const [what, cs2] of [["driver", m.confState], ["core", m.node.status().confState]] as const) {
        if (JSON.stringify(cs2) !== want) {
          throw new InvariantViolation("convergence", `member ${id} (${what}) has configuration ${JSON.stringify(cs2)} at index ${m.sm.applied}, leader ${lead.id} has ${want}`);
        }
      }
    }
    const logs = new Map<NodeId, { first: number; entries: Entry[] }>();
    for (const m of this.members.values()) {
      if (!m.alive) continue;
      const mem = m.storage.mem;
      const first = mem.firstIndex();
      logs.set(m.id, { first, entries: mem.lastIndex() >= first ? mem.entries(first, mem.lastIndex() + 1, Number.MAX_SAFE_INTEGER) : [] });
    }
    checkLogsPairwise(logs);
  }

  private checkHistory(ops: ClientOp[]): "ok" | "unknown" {
    const outcome = checkOperations(
      kvModel,
      ops.map((o) => o.record),
      { maxSteps: this.opts.lincheckMaxSteps ?? 200_000 },
    );
    if (outcome.result === "illegal") {
      throw this.failure(new InvariantViolation("linearizability", `the client history is not linearizable:\n${outcome.info?.explanation ?? ""}`));
    }
    if (outcome.result === "unknown") this.warnings.push(`seed ${this.opts.seed}: lincheck ran out of steps (${outcome.info?.partitionName ?? "?"})`);
    return outcome.result;
  }

  private describeCluster(): string {
    const parts: string[] = [];
    for (const m of this.members.values()) {
      if (!m.alive) {
        parts.push(`${m.id}:${m.retired ? "retired" : "down"}`);
        continue;
      }
      const s = m.node.status();
      parts.push(`${m.id}:${s.state}@${s.term} lead=${s.lead} commit=${s.commit} applied=${m.sm.applied} last=${s.lastIndex} voters=${s.confState.voters.join(",")}`);
      // Why a follower lags is in the leader's view of it.
      for (const [id, pr] of s.progress) {
        if (pr.match >= s.lastIndex) continue;
        parts.push(
          `  leader ${m.id} sees ${id}: ${pr.state} match=${pr.match} next=${pr.next} inflight=${pr.inflight}/${this.cfg.maxInflightMsgs} pendingSnapshot=${pr.pendingSnapshot} recentActive=${pr.recentActive}`,
        );
      }
    }
    const pendingOps = this.clients.filter((c) => c.op !== undefined).length;
    return `${parts.join("; ")}; clients waiting: ${pendingOps}`;
  }
}

function confKey(cs: ConfState): string {
  const sorted = (xs: NodeId[]): NodeId[] => [...xs].sort((a, b) => a - b);
  return JSON.stringify({ voters: sorted(cs.voters), learners: sorted(cs.learners), removed: sorted(cs.removed) });
}

function ctxKey(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

function describeEvent(ev: SimEvent): string {
  switch (ev.k) {
    case "deliver": {
      const m = ev.m;
      const ents = m.entries.length > 0 ? ` entries ${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}` : "";
      return `deliver ${MessageType[m.type]} ${m.from}->${m.to} term ${m.term} index ${m.index} logTerm ${m.logTerm} commit ${m.commit}${m.reject ? " reject" : ""}${ents}${m.snapshot ? ` snapshot@${m.snapshot.metadata.index}` : ""}`;
    }
    case "tick":
    case "take":
    case "finish":
      return `${ev.k} ${ev.id}`;
    case "snap-status":
      return `snap-status ${ev.id} to ${ev.to} ok=${ev.ok}`;
    case "unreachable":
      return `unreachable ${ev.id} to ${ev.to}`;
    case "restart":
      return `restart ${ev.id}`;
    case "note":
      return `  (${ev.text})`;
    case "client":
    case "timeout":
      return `${ev.k} ${ev.c}`;
    default:
      return ev.k;
  }
}
