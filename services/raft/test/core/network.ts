// A synchronous in-test cluster: N RawNodes over MemoryStorage, with the driver loop (persist,
// send, apply, advance) run by hand and a message queue that tests can partition and filter.
// The "state machine" is the list of applied normal entries' data as strings; its snapshot is
// that list as JSON.

import { SeededRandom } from "@shoal/common";
import {
  type ConfState,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  EntryType,
  MessageType,
  StateType,
} from "../../src/core/types.js";
import { MemoryStorage } from "../../src/core/memory-storage.js";
import { RawNode } from "../../src/core/raw-node.js";
import { decodeConfChange } from "../../src/core/conf-change.js";
import { RaftError } from "../../src/core/errors.js";

export interface TestNode {
  id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  /** Applied normal entries' data, in order. */
  applied: string[];
  appliedIndex: number;
  confState: ConfState;
  readStates: ReadState[];
}

export type NodeOpts = Partial<Omit<RaftConfig, "id" | "storage" | "random">>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The RaftError code fn throws, or undefined when it returns; any other error is rethrown. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof RaftError) return err.code;
    throw err;
  }
  return undefined;
}

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export function str(b: Uint8Array): string {
  return dec.decode(b);
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, in send order. */
  queue: Message[] = [];
  /** Links that drop messages, as "from->to". */
  private readonly cut = new Set<string>();
  /** Extra drop rule set by a test (return true to drop). */
  dropIf: ((m: Message) => boolean) | undefined = undefined;
  private seed = 1;

  constructor(
    ids: NodeId[],
    readonly opts: NodeOpts = {},
  ) {
    const cs: ConfState = { voters: [...ids], learners: [], removed: [] };
    for (const id of ids) this.add(id, new MemoryStorage({ confState: cs }));
  }

  /** Adds a member over the given storage (a joiner passes an empty MemoryStorage). */
  add(id: NodeId, storage: MemoryStorage, opts: NodeOpts = {}, applied?: number): TestNode {
    const cfg: RaftConfig = { id, storage, random: new SeededRandom(this.seed++ * 7919 + id), ...this.opts, ...opts };
    if (applied !== undefined) cfg.applied = applied;
    const raw = new RawNode(cfg);
    const snap = storage.snapshot();
    const node: TestNode = {
      id,
      raw,
      storage,
      applied: snap.data.length > 0 ? (JSON.parse(str(snap.data)) as string[]) : [],
      appliedIndex: applied ?? snap.metadata.index,
      confState: storage.initialState().confState,
      readStates: [],
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Simulates a crash and restart: a new RawNode over the same storage; unsent messages are lost. */
  restart(id: NodeId, opts: NodeOpts = {}): TestNode {
    const old = this.node(id);
    this.queue = this.queue.filter((m) => m.from !== id && m.to !== id);
    const n = this.add(id, old.storage, opts, old.appliedIndex);
    n.applied = old.applied;
    n.confState = old.confState;
    return n;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  /** Cuts both directions between a and b. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Runs one driver iteration on a node; returns whether it had a Ready. */
  processReady(id: NodeId): boolean {
    const n = this.node(id);
    if (!n.raw.hasReady()) return false;
    const rd = n.raw.ready();
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied = rd.snapshot.data.length > 0 ? (JSON.parse(str(rd.snapshot.data)) as string[]) : [];
      n.appliedIndex = rd.snapshot.metadata.index;
      n.confState = rd.snapshot.metadata.confState;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) {
      if (m.to === id) throw new Error(`node ${id} sent a message to itself: ${MessageType[m.type]}`);
      this.queue.push(m);
    }
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) n.confState = n.raw.applyConfChange(decodeConfChange(e.data));
      else if (e.data.length > 0) n.applied.push(str(e.data));
      n.appliedIndex = e.index;
    }
    n.readStates.push(...rd.readStates);
    n.raw.advance(rd);
    return true;
  }

  /** Delivers every queued message (dropping cut or filtered ones); returns how many were handled. */
  deliverAll(): number {
    const msgs = this.queue;
    this.queue = [];
    for (const m of msgs) this.deliver(m);
    return msgs.length;
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (to === undefined || this.cut.has(`${m.from}->${m.to}`) || (this.dropIf?.(m) ?? false)) return;
    to.raw.step(m);
    // The transport reports a delivered snapshot, as the driver will.
    if (m.type === MessageType.Snap) this.nodes.get(m.from)?.raw.reportSnapshot(m.to, true);
  }

  /** Processes Readies and delivers messages until nothing moves. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.nodes.keys()) moved = this.processReady(id) || moved;
      moved = this.deliverAll() > 0 || moved;
      if (!moved) return;
    }
    throw new Error("network did not stabilize");
  }

  /** Ticks the given nodes (default all) n times, stabilizing after each tick. */
  tick(n: number, ids: NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.node(id).raw.tick();
      this.stabilize();
    }
  }

  /** Elects id by an explicit campaign and stabilizes. */
  elect(id: NodeId): void {
    this.node(id).raw.campaign();
    this.stabilize();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raw.status().state === StateType.Leader).map((n) => n.id);
  }

  /** Proposes on id and stabilizes. */
  propose(id: NodeId, data: string): { index: number; term: number } {
    const r = this.node(id).raw.propose(bytes(data));
    this.stabilize();
    return r;
  }
}
