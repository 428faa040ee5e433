// N-member key-value clusters on loopback for tests, the demo and benchmarks: Shoal's kv-server
// processes or etcd processes, behind one interface, with SIGKILL/restart of single members and
// leader discovery through the same gRPC client.
//
// Owns: ports, temp data dirs (removed by destroy()), the command lines, and member processes
// (killed by PID, never by name). Must not assume anything about the members' internals beyond
// their command line and the KV/Status RPCs.
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freeLoopbackPorts, sleep } from "@shoal/common";
import { Child } from "./child.js";
import { KvClient, type KvSystem, type MemberStatus } from "./kv-client.js";

export interface ClusterOptions {
  system: KvSystem;
  size?: number;
  /** Raft tick (Shoal) and heartbeat (etcd) in ms; election is 10 ticks on both (default 100). */
  tickMs?: number;
  /** Extra kv-server flags, e.g. ["--snapshot-entries", "1000"]. */
  extraArgs?: string[];
  /**
   * Node flags for kv-server processes after KV_SERVER_NODE_FLAGS (a later flag wins), e.g.
   * ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] (default: env SHOAL_KV_NODE_ARGS, space-separated).
   */
  nodeArgs?: string[];
  /** Path of the etcd binary (default /usr/bin/etcd). */
  etcdBinary?: string;
}

export interface Member {
  /** 1-based, also the Shoal member id. */
  index: number;
  clientAddress: string;
  peerAddress: string;
  dataDir: string;
  child: Child;
  client: KvClient;
}

/**
 * Node flags every kv-server runs with. V8 starts a full GC when the old generation outgrows a
 * limit; with --initial-old-space-size the limit is at least that size (by default it is a small
 * multiple of what the last full GC kept, about 64 MiB here). The leader of a cluster serving 32
 * clients promotes about 40 MiB/s of objects that die soon after (2026-11-30, `--trace-gc-nvp`:
 * about 95 % of what survives one scavenge survives the next), so with the default it ran a full
 * GC every second, each stopping it for 10-18 ms. From 256 MiB it
 * runs one every 5 s or so, which took the c32 p99 from 22-36 ms to 18-26 ms (docs in
 * services/raft/README.md). The cost is up to 256 MiB of garbage per process under load.
 * Semi-spaces of 32 MiB from the start (V8 grows them up to 16 MiB by itself): a c32 leader
 * scavenges every 140 ms or so instead of every 70, about 6 ms each instead of 3-4, so it spends
 * 4.4 % of its time in scavenges instead of 5.4 %. In five interleaved pairs (2026-11-30, evening):
 * 4-6 % more puts/s with 1 and with 32 clients, p99 unchanged; 64 MiB did less well (each
 * scavenge 10-18 ms). It costs up to 64 MiB more per process.
 */
export const KV_SERVER_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=256", "--max-semi-space-size=32", "--min-semi-space-size=32"];

const here = dirname(fileURLToPath(import.meta.url));
/** test/dist/src/kv/kv-server.js, next to this file's compiled folder. */
export const KV_SERVER_JS = resolve(here, "../kv/kv-server.js");

export class KvCluster {
  readonly members: Member[] = [];
  private constructor(
    readonly opts: ClusterOptions,
    readonly rootDir: string,
  ) {}

  /** Allocates ports and dirs and starts every member; resolves once all serve and a leader is known. */
  static async start(opts: ClusterOptions): Promise<KvCluster> {
    const size = opts.size ?? 3;
    const root = await mkdtemp(join(tmpdir(), `shoal-${opts.system}-`));
    const c = new KvCluster(opts, root);
    try {
      const ports = await freeLoopbackPorts(2 * size);
      for (let i = 1; i <= size; i++) {
        const clientAddress = `127.0.0.1:${ports[2 * (i - 1)]!}`;
        const peerAddress = `127.0.0.1:${ports[2 * (i - 1) + 1]!}`;
        const dataDir = join(root, `m${i}`);
        c.members.push({ index: i, clientAddress, peerAddress, dataDir, child: undefined as unknown as Child, client: new KvClient(clientAddress, { system: opts.system }) });
      }
      for (const m of c.members) m.child = new Child(c.spec(m));
      // etcd members wait for each other before they serve, so start them all at once.
      await Promise.all(c.members.map((m) => c.startMember(m)));
      await c.waitForAllServing(20_000);
      await c.waitForLeader(20_000);
      return c;
    } catch (err) {
      await c.destroy();
      throw err;
    }
  }

  get system(): KvSystem {
    return this.opts.system;
  }

  member(index: number): Member {
    const m = this.members[index - 1];
    if (m === undefined) throw new Error(`no member ${index}`);
    return m;
  }

  /** SIGKILLs member `index` (a crash). */
  async kill(index: number): Promise<void> {
    await this.member(index).child.kill();
  }

  /** SIGTERM then SIGKILL. */
  async stop(index: number): Promise<void> {
    await this.member(index).child.stop();
  }

  /** Starts a stopped member again with the same data dir and ports. */
  async restart(index: number): Promise<void> {
    await this.startMember(this.member(index));
  }

  running(): Member[] {
    return this.members.filter((m) => m.child.running);
  }

  /** Status of every running member that answers within deadlineMs (others omitted). */
  async statuses(deadlineMs = 500): Promise<{ member: Member; status: MemberStatus }[]> {
    const results = await Promise.all(
      this.running().map(async (member) => {
        try {
          return { member, status: await member.client.status({ deadlineMs }) };
        } catch {
          return undefined;
        }
      }),
    );
    return results.filter((r): r is { member: Member; status: MemberStatus } => r !== undefined);
  }

  /**
   * The member that running members agree is the leader (a majority of those answering name it and
   * it answers itself), or undefined.
   */
  async leader(): Promise<Member | undefined> {
    const sts = await this.statuses();
    const votes = new Map<number, number>();
    for (const { status } of sts) if (status.leader !== 0) votes.set(status.leader, (votes.get(status.leader) ?? 0) + 1);
    for (const [leaderId, n] of votes) {
      if (n * 2 <= sts.length) continue;
      const self = sts.find(({ status }) => status.memberId === leaderId);
      if (self !== undefined && self.status.leader === leaderId) return self.member;
    }
    return undefined;
  }

  /**
   * Resolves once every member answers Status. etcd has no ready line, and a leader elected by a
   * majority says nothing about the last member: it may not listen yet, or may have exited (its
   * log tail is then in the error).
   */
  async waitForAllServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = this.members.find((m) => !m.child.running);
      if (dead !== undefined) throw new Error(`${this.system} member m${dead.index} (${dead.child.describe()}) exited; log tail:\n${dead.child.logTail()}`);
      const answering = new Set((await this.statuses()).map(({ member }) => member));
      const silent = this.members.filter((m) => !answering.has(m));
      if (silent.length === 0) return;
      if (Date.now() > deadline) {
        const m = silent[0]!;
        throw new Error(`${this.system} member m${m.index} (${m.child.describe()}) does not answer Status within ${timeoutMs} ms; log tail:\n${m.child.logTail()}`);
      }
      await sleep(20);
    }
  }

  async waitForLeader(timeoutMs: number, opts: { not?: Member; signal?: AbortSignal } = {}): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = await this.leader();
      if (l !== undefined && l !== opts.not) return l;
      if (Date.now() > deadline) throw new Error(`no ${this.system} leader within ${timeoutMs} ms`);
      await sleep(20, opts.signal);
    }
  }

  /**
   * Stops every member (SIGTERM, SIGKILL after 3 s: a clean exit lets `--cpu-prof` write its
   * profile), closes clients, removes the dirs.
   */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.child?.stop(3000)));
    for (const m of this.members) m.client.close();
    await rm(this.rootDir, { recursive: true, force: true });
  }

  private async startMember(m: Member): Promise<void> {
    await mkdir(m.dataDir, { recursive: true });
    await m.child.start(20_000);
  }

  private spec(m: Member): ConstructorParameters<typeof Child>[0] {
    const tickMs = this.opts.tickMs ?? 100;
    const logFile = join(this.rootDir, `m${m.index}.log`);
    if (this.opts.system === "shoal") {
      return {
        command: process.execPath,
        args: [
          ...KV_SERVER_NODE_FLAGS,
          ...(this.opts.nodeArgs ?? (process.env["SHOAL_KV_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "")),
          KV_SERVER_JS,
          "--id", String(m.index),
          "--data-dir", m.dataDir,
          "--raft-listen", m.peerAddress,
          "--client-listen", m.clientAddress,
          "--peers", this.members.map((x) => `${x.index}=${x.peerAddress}`).join(","),
          "--client-peers", this.members.map((x) => `${x.index}=${x.clientAddress}`).join(","),
          "--tick-ms", String(tickMs),
          ...(this.opts.extraArgs ?? []),
        ],
        logFile,
        readyLine: /^ready /,
        env: { ...process.env, SHOAL_LOG_LEVEL: process.env["SHOAL_KV_LOG_LEVEL"] ?? "info" },
      };
    }
    const name = (x: Member): string => `m${x.index}`;
    return {
      command: this.opts.etcdBinary ?? "/usr/bin/etcd",
      args: [
        "--name", name(m),
        "--data-dir", join(m.dataDir, "etcd"),
        "--listen-client-urls", `http://${m.clientAddress}`,
        "--advertise-client-urls", `http://${m.clientAddress}`,
        "--listen-peer-urls", `http://${m.peerAddress}`,
        "--initial-advertise-peer-urls", `http://${m.peerAddress}`,
        "--initial-cluster", this.members.map((x) => `${name(x)}=http://${x.peerAddress}`).join(","),
        "--initial-cluster-state", "new",
        "--initial-cluster-token", `shoal-bench-${process.pid}`,
        "--heartbeat-interval", String(tickMs),
        "--election-timeout", String(tickMs * 10),
        "--log-outputs", "stderr",
      ],
      logFile,
      // No ready line to wait for: start() returns at once and the cluster waits for a leader
      // through Maintenance/Status, which only answers once the client listener is up.
      readyLine: undefined,
      env: process.env,
    };
  }
}
