// The interaction environment: RawNodes over MemoryStorage, a driver played step by step
// (process-ready persists, applies and advances; deliver-msgs steps a node's mailbox) and a
// network that can be partitioned. Every command returns the lines it printed, which the
// golden files record. Election timeouts are pinned (random() always 0, so exactly
// electionTicks), so traces never depend on luck.

import { errorCode } from "@shoal/common";
import {
  type ConfChange,
  type ConfState,
  type Message,
  type NodeId,
  type RaftLogger,
  ConfChangeType,
  EntryType,
  MemoryStorage,
  RawNode,
  decodeConfChange,
} from "../../src/index.js";
import { renderConfState, renderEntry, renderHardState, renderMessage, renderReady } from "./render.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface EnvNode {
  id: NodeId;
  /** Replaced by `restart`. */
  raw: RawNode;
  storage: MemoryStorage;
  /** The "state machine": applied normal entries' data. Its snapshot is this list as JSON. */
  applied: string[];
  confState: ConfState;
  electionTicks: number;
  heartbeatTicks: number;
}

export interface Command {
  name: string;
  /** Positional arguments. */
  args: string[];
  /** key=value arguments; (a,b) lists stay as written. */
  kv: Map<string, string>;
  line: number;
}

type LogLevel = "none" | "info" | "debug";

export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  private readonly mailbox = new Map<NodeId, Message[]>();
  private readonly opts = new Map<NodeId, { preVote: boolean; checkQuorum: boolean }>();
  /** Group index of each node while partitioned; messages between groups are dropped. */
  private groups = new Map<NodeId, number>();
  private logLevel: LogLevel = "none";
  private logLines: string[] = [];

  run(cmd: Command): string[] {
    this.logLines = [];
    let out: string[];
    try {
      out = this.dispatch(cmd);
    } catch (err: unknown) {
      const code = errorCode(err);
      if (code === undefined) throw err;
      out = [`error: ${code}`];
    }
    return [...this.logLines, ...out];
  }

  private dispatch(c: Command): string[] {
    switch (c.name) {
      case "add-nodes":
        return this.addNodes(c);
      case "campaign":
        this.node(c.args[0]).raw.campaign();
        return [];
      case "tick-election":
      case "tick-heartbeat": {
        const n = this.node(c.args[0]);
        const k = c.name === "tick-election" ? n.electionTicks : n.heartbeatTicks;
        for (let i = 0; i < k; i++) n.raw.tick();
        return [];
      }
      case "propose":
        this.node(c.args[0]).raw.propose(enc.encode(c.args[1] ?? ""));
        return [];
      case "propose-conf-change":
        this.node(c.args[0]).raw.proposeConfChange(parseConfChange(c.args[1] ?? ""));
        return [];
      case "transfer-leadership":
        this.node(c.args[0]).raw.transferLeader(Number(c.args[1]));
        return [];
      case "read-index":
        this.node(c.args[0]).raw.readIndex(enc.encode(c.args[1] ?? ""));
        return [];
      case "process-ready":
        return this.ids(c).flatMap((id) => this.processReady(id));
      case "deliver-msgs":
        return this.ids(c).flatMap((id) => this.deliver(id));
      case "stabilize":
        return this.stabilize(this.ids(c));
      case "partition":
        return this.partition(c.args);
      case "heal":
        this.groups = new Map();
        return [];
      case "compact":
        return this.compact(this.node(c.args[0]), Number(c.args[1]));
      case "status":
        return this.status(this.node(c.args[0]));
      case "raft-log":
        return this.raftLog(this.node(c.args[0]));
      case "report-snapshot":
        this.node(c.args[0]).raw.reportSnapshot(Number(c.args[1]), c.args[2] !== "fail");
        return [];
      case "restart":
        return this.restart(this.node(c.args[0]));
      case "report-unreachable":
        this.node(c.args[0]).raw.reportUnreachable(Number(c.args[1]));
        return [];
      case "log-level":
        this.logLevel = parseLevel(c.args[0]);
        return [];
      default:
        throw new Error(`line ${c.line}: unknown command ${c.name}`);
    }
  }

  private node(arg: string | undefined): EnvNode {
    const n = this.nodes.get(Number(arg));
    if (n === undefined) throw new Error(`no node ${arg}`);
    return n;
  }

  /** The IDs named by a command, or every node in ID order. */
  private ids(c: Command): NodeId[] {
    if (c.args.length > 0) return c.args.map(Number);
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  private addNodes(c: Command): string[] {
    const count = Number(c.args[0]);
    const confState: ConfState = { voters: parseList(c.kv.get("voters")), learners: parseList(c.kv.get("learners")), removed: [] };
    const index = Number(c.kv.get("index") ?? "0");
    const electionTicks = Number(c.kv.get("election") ?? "10");
    const heartbeatTicks = Number(c.kv.get("heartbeat") ?? "1");
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const id = this.nodes.size + 1;
      const storage = new MemoryStorage({ confState });
      // A cluster bootstrapped at `index`: every initial member holds the same snapshot there.
      if (index > 0) storage.applySnapshot({ metadata: { index, term: 1, confState }, data: enc.encode("[]") });
      const o = { preVote: c.kv.get("prevote") !== "false", checkQuorum: c.kv.get("checkquorum") !== "false" };
      this.opts.set(id, o);
      const raw = this.makeRaw(id, storage, electionTicks, heartbeatTicks, o);
      this.nodes.set(id, { id, raw, storage, applied: [], confState, electionTicks, heartbeatTicks });
      this.mailbox.set(id, []);
      out.push(`${id}: ${renderConfState(raw.status().confState)} Term:${raw.status().term} LastIndex:${raw.status().lastIndex}`);
    }
    return out;
  }

  /**
   * A crash and restart: a new RawNode over what was persisted; unsent messages are lost. The
   * state machine restarts from the snapshot and replays committed entries (conf changes too).
   */
  private restart(n: EnvNode): string[] {
    const snap = n.storage.snapshot();
    n.applied = snap.data.length > 0 ? (JSON.parse(dec.decode(snap.data)) as string[]) : [];
    n.confState = snap.metadata.confState;
    n.raw = this.makeRaw(n.id, n.storage, n.electionTicks, n.heartbeatTicks, this.opts.get(n.id)!);
    this.mailbox.set(n.id, []);
    const st = n.raw.status();
    return [`${n.id}: restarted Term:${st.term} Vote:${st.vote} Commit:${st.commit} Applied:${st.applied} LastIndex:${st.lastIndex}`];
  }

  private makeRaw(id: NodeId, storage: MemoryStorage, electionTicks: number, heartbeatTicks: number, o: { preVote: boolean; checkQuorum: boolean }): RawNode {
    const logger: RaftLogger = {
      debug: (obj, msg) => this.log("debug", id, obj, msg),
      info: (obj, msg) => this.log("info", id, obj, msg),
      warn: (obj, msg) => this.log("info", id, obj, msg),
    };
    return new RawNode({
      id,
      storage,
      random: { next: () => 0, int: () => 0 },
      electionTicks,
      heartbeatTicks,
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      logger,
    });
  }

  private log(level: "debug" | "info", id: NodeId, obj: object, msg: string): void {
    if (this.logLevel === "none" || (this.logLevel === "info" && level === "debug")) return;
    void obj; // field values vary with internals; the message text is the stable part
    this.logLines.push(`${level.toUpperCase()} ${id}: ${msg}`);
  }

  /** One turn of the driver: persist, send (into mailboxes), apply, advance. */
  private processReady(id: NodeId): string[] {
    const n = this.nodes.get(id)!;
    if (!n.raw.hasReady()) return [];
    const rd = n.raw.ready();
    const out = [`> ${id} handling Ready`, ...renderReady(rd).map((l) => `  ${l}`)];
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied = JSON.parse(dec.decode(rd.snapshot.data)) as string[];
      n.confState = rd.snapshot.metadata.confState;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) {
      if (this.cut(m.from, m.to)) {
        out.push(`  dropped: ${renderMessage(m)}`);
        continue;
      }
      this.mailbox.get(m.to)?.push(m);
    }
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) {
        n.confState = n.raw.applyConfChange(decodeConfChange(e.data));
        out.push(`  applied ${renderEntry(e)}: ${renderConfState(n.confState)}`);
      } else if (e.data.length > 0) {
        n.applied.push(dec.decode(e.data));
      }
    }
    n.raw.advance(rd);
    return out;
  }

  private deliver(id: NodeId): string[] {
    const box = this.mailbox.get(id);
    if (box === undefined || box.length === 0) return [];
    const msgs = box.splice(0);
    const n = this.nodes.get(id)!;
    const out = [`> ${id} receiving messages`];
    for (const m of msgs) {
      out.push(`  ${renderMessage(m)}`);
      try {
        n.raw.step(m);
      } catch (err: unknown) {
        const code = errorCode(err);
        if (code === undefined) throw err;
        out.push(`  error: ${code}`);
      }
    }
    return out;
  }

  private stabilize(ids: NodeId[]): string[] {
    const out: string[] = [];
    for (let round = 0; round < 1000; round++) {
      let busy = false;
      for (const id of ids) {
        const lines = this.processReady(id);
        if (lines.length > 0) busy = true;
        out.push(...lines);
      }
      for (const id of ids) {
        const lines = this.deliver(id);
        if (lines.length > 0) busy = true;
        out.push(...lines);
      }
      if (!busy) return out;
    }
    throw new Error("stabilize did not settle in 1000 rounds");
  }

  private cut(from: NodeId, to: NodeId): boolean {
    const a = this.groups.get(from);
    const b = this.groups.get(to);
    return a !== undefined && b !== undefined && a !== b;
  }

  /** `partition 1 / 2 3`: groups separated by "/"; nodes not named stay reachable from all. */
  private partition(args: string[]): string[] {
    this.groups = new Map();
    let g = 0;
    for (const a of args) {
      if (a === "/") g++;
      else this.groups.set(Number(a), g);
    }
    return [];
  }

  private compact(n: EnvNode, index: number): string[] {
    // The state machine's state at `index`: only what was applied up to there belongs in it.
    const status = n.raw.status();
    if (index > status.applied) throw new Error(`cannot snapshot ${index} beyond applied ${status.applied}`);
    const data: string[] = [];
    for (let i = n.storage.firstIndex(); i <= index; i++) {
      const [e] = n.storage.entries(i, i + 1, Infinity);
      if (e !== undefined && e.type === EntryType.Normal && e.data.length > 0) data.push(dec.decode(e.data));
    }
    const prior = JSON.parse(dec.decode(n.storage.snapshot().data.length > 0 ? n.storage.snapshot().data : enc.encode("[]"))) as string[];
    n.storage.createSnapshot(index, n.confState, enc.encode(JSON.stringify([...prior, ...data])));
    n.storage.compact(index);
    return this.raftLog(n);
  }

  private raftLog(n: EnvNode): string[] {
    const s = n.storage;
    const out = [`${n.id}: FirstIndex:${s.firstIndex()} LastIndex:${s.lastIndex()} Snapshot:${s.snapshot().metadata.index}/${s.snapshot().metadata.term}`];
    if (s.lastIndex() >= s.firstIndex()) for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity)) out.push(`  ${renderEntry(e)}`);
    out.push(`  applied: ${JSON.stringify(n.applied)}`);
    return out;
  }

  private status(n: EnvNode): string[] {
    const st = n.raw.status();
    let head = `${n.id}: State:${st.state} Term:${st.term} Vote:${st.vote} Lead:${st.lead} Commit:${st.commit} Applied:${st.applied} LastIndex:${st.lastIndex}`;
    if (st.leadTransferee !== 0) head += ` LeadTransferee:${st.leadTransferee}`;
    const out = [head, `  ${renderConfState(st.confState)}`, `  HardState ${renderHardState(n.storage.hardState)}`];
    for (const id of [...st.progress.keys()].sort((a, b) => a - b)) {
      const p = st.progress.get(id)!;
      let line = `  ${id}: ${p.state} match=${p.match} next=${p.next}`;
      if (p.isLearner) line += " learner";
      if (p.state === "snapshot") line += ` pendingSnapshot=${p.pendingSnapshot}`;
      if (p.inflight > 0) line += ` inflight=${p.inflight}`;
      if (!p.recentActive) line += " inactive";
      out.push(line);
    }
    return out;
  }
}

function parseList(s: string | undefined): number[] {
  if (s === undefined) return [];
  return s
    .replace(/[()]/g, "")
    .split(",")
    .filter((x) => x.trim() !== "")
    .map(Number);
}

function parseLevel(s: string | undefined): LogLevel {
  if (s === "none" || s === "info" || s === "debug") return s;
  throw new Error(`log-level: none | info | debug, got ${s}`);
}

function parseConfChange(s: string): ConfChange {
  const kind = s[0];
  const nodeId = Number(s.slice(1));
  const type = kind === "v" ? ConfChangeType.AddVoter : kind === "l" ? ConfChangeType.AddLearner : kind === "r" ? ConfChangeType.RemoveNode : undefined;
  if (type === undefined || !(nodeId > 0)) throw new Error(`conf change is v<id> | l<id> | r<id>, got ${s}`);
  return { type, nodeId };
}
