// Fixtures for the driver tests: a trivial KV state machine, free loopback ports, a cluster of
// RaftNodes in this process with temp data directories (removed in cleanup()).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeededRandom, freeLoopbackPorts, silentLogger } from "@shoal/common";
import { RaftNode, type RaftNodeOptions } from "../../src/driver/raft-node.js";
import type { SnapshotData, StateMachine } from "../../src/driver/state-machine.js";
import { RaftError } from "../../src/core/errors.js";
import type { Entry, NodeId } from "../../src/core/types.js";

/** "key=value" entries into a Map; `log` keeps every applied entry's text in order. */
export class KvStateMachine implements StateMachine {
  readonly data = new Map<string, string>();
  log: string[] = [];
  restores = 0;

  apply(e: Entry): void {
    const text = new TextDecoder().decode(e.data);
    const i = text.indexOf("=");
    this.data.set(text.slice(0, i), text.slice(i + 1));
    this.log.push(text);
  }

  snapshot(): SnapshotData | Promise<SnapshotData> {
    return new TextEncoder().encode(JSON.stringify({ data: [...this.data], log: this.log }));
  }

  restore(b: Uint8Array): void {
    this.restores++;
    const s = JSON.parse(new TextDecoder().decode(b)) as { data: Array<[string, string]>; log: string[] };
    this.data.clear();
    for (const [k, v] of s.data) this.data.set(k, v);
    this.log = s.log;
  }
}

export function put(k: string, v: string): Uint8Array {
  return new TextEncoder().encode(`${k}=${v}`);
}


export interface Member {
  id: NodeId;
  node: RaftNode | undefined;
  sm: KvStateMachine;
  opts: RaftNodeOptions;
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  readonly root = mkdtempSync(join(tmpdir(), "shoal-raft-driver-"));
  addresses: Record<NodeId, string> = {};

  constructor(private readonly base: Partial<RaftNodeOptions> = {}) {}

  async allocate(ids: NodeId[]): Promise<void> {
    // Distinct from each other and from the cluster's other members: drawn one by one, two members
    // could get the same port, the second then failing to start with EADDRINUSE (the likely cause
    // of one such CI failure).
    const taken = Object.values(this.addresses).map((a) => Number(a.split(":")[1]));
    const ports = await freeLoopbackPorts(ids.length, undefined, taken);
    ids.forEach((id, i) => (this.addresses[id] = `127.0.0.1:${ports[i]!}`));
  }

  /** The addresses of `ids`, as a `peers` option: an initial configuration of only those members. */
  peersOf(ids: NodeId[]): Record<NodeId, string> {
    return Object.fromEntries(ids.map((id) => [id, this.addresses[id]!]));
  }

  /** Starts a member (a fresh state machine, as after a process restart). */
  async start(id: NodeId, over: Partial<RaftNodeOptions> = {}, sm: KvStateMachine = new KvStateMachine()): Promise<Member> {
    const opts: RaftNodeOptions = {
      id,
      dataDir: join(this.root, `m${id}`),
      listen: this.addresses[id]!,
      peers: { ...this.addresses },
      tickMs: 20,
      electionTicks: 10,
      ...this.base,
      ...over,
    };
    const node = await RaftNode.start(opts, { stateMachine: sm, logger: silentLogger(), random: new SeededRandom(id * 7919) });
    const m: Member = { id, node, sm, opts };
    this.members.set(id, m);
    return m;
  }

  async stop(id: NodeId): Promise<void> {
    const m = this.members.get(id);
    const n = m?.node;
    if (m) m.node = undefined;
    await n?.stop();
  }

  running(): Member[] {
    return [...this.members.values()].filter((m) => m.node !== undefined);
  }

  node(id: NodeId): RaftNode {
    const n = this.members.get(id)?.node;
    if (!n) throw new Error(`member ${id} is not running`);
    return n;
  }

  /** The member every running member agrees is leader. */
  async leader(timeoutMs = 10000): Promise<Member> {
    let found: Member | undefined;
    await waitFor(
      "an agreed leader",
      () => {
        const running = this.running();
        const lead = running[0]?.node!.status().lead ?? 0;
        if (lead === 0 || !running.every((m) => m.node!.status().lead === lead)) return false;
        found = this.members.get(lead);
        return found?.node !== undefined;
      },
      timeoutMs,
    );
    return found!;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.running().map((m) => this.stop(m.id)));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The RaftError code of a rejection, for assert.rejects predicates. */
export function code(err: unknown): string | undefined {
  return err instanceof RaftError ? err.code : undefined;
}
