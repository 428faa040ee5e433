// A lab: hosts made of network namespaces on one machine, for tests, failover drills and the demo
// (DESIGN §8). It owns its switch namespace (one bridge per partition group), one namespace per host
// with a veth into the switch, each host's process tree, and its state dir. It must never touch the
// machine's own interfaces, routes or firewall: every link is created inside lab namespaces, and
// everything it makes is named `shl-<labId>-…` and written to lab.json before it is made.
//
// Partitions are made in the switch namespace only: the ports of the named hosts move from the main
// bridge to a new bridge of their own, so hosts in different groups share no L2 segment. (The
// kernel here has no bridge VLAN filtering and no nft binary is needed this way.)
import { mkdir, readdir, rm, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "@shoal/common";
import { sleep } from "@shoal/common";
import { LabError } from "./errors.js";
import { readRecord, writeRecord, type HostRecord, type HostRole, type LabRecord } from "./record.js";
import { Ip, type Sig } from "./sys/ip.js";
import { HostProcesses } from "./sys/host-process.js";
import { isAlive, killIfSame, procId, type ProcId } from "./sys/proc.js";
import type { RunResult } from "./sys/run.js";

export const DEFAULT_LAB_ROOT = "/var/lib/shoal-lab";
export const DEFAULT_SUBNET = "10.99.0.0/24";
const HOST_IF = "eth0";
const MAIN_BRIDGE = "br0";

export interface LabOpts {
  /** 1–8 lowercase letters or digits; every name the lab makes starts with `shl-<labId>-`. */
  labId: string;
  /** The state dir; default `<root>/<labId>`. Not under /run: hosts get a fresh tmpfs there. */
  dir?: string;
  root?: string;
  toolTimeoutMs?: number;
  startTimeoutMs?: number;
  settleMs?: number;
}

export interface LabModules {
  logger: Logger;
}

/** What a host's command is built from. */
export interface HostInfo {
  name: string;
  role: HostRole;
  address: string;
  /** The host's own directory (state dir for its daemon), visible inside and outside the host. */
  dir: string;
  apiSocket: string;
  labDir: string;
  managerAddresses: string[];
}

export interface UpSpec {
  managers: number;
  workers: number;
  /** The argv each host runs as its PID 1; default `sleep infinity` (the CLI passes shoaldCommand()). */
  command?: (host: HostInfo) => string[];
  env?: Record<string, string> | ((host: HostInfo) => Record<string, string>);
  /** A /24 inside the lab only (it is never routed anywhere); default 10.99.0.0/24. */
  subnet?: string;
}

export interface HostStatus {
  name: string;
  role: HostRole;
  address: string;
  pid: number | undefined;
  state: "running" | "down";
  group: number;
  apiSocket: string;
}

export interface ExecOpts extends Sig {
  inherit?: boolean;
  timeoutMs?: number;
  input?: string;
}

const defaultCommand = (): string[] => ["sleep", "infinity"];

export class Lab {
  readonly labId: string;
  readonly dir: string;
  readonly prefix: string;
  private readonly log: Logger;
  private readonly ip: Ip;
  private readonly hosts: HostProcesses;

  constructor(opts: LabOpts, modules: LabModules) {
    if (!/^[a-z0-9]{1,8}$/.test(opts.labId)) {
      throw new LabError("LAB_BAD_ARGS", `lab id ${JSON.stringify(opts.labId)} must be 1-8 lowercase letters or digits`);
    }
    this.labId = opts.labId;
    this.prefix = `shl-${opts.labId}-`;
    this.dir = resolve(opts.dir ?? join(opts.root ?? DEFAULT_LAB_ROOT, opts.labId));
    if (this.dir === "/run" || this.dir.startsWith("/run/") || this.dir.startsWith("/var/run/")) {
      throw new LabError("LAB_BAD_ARGS", `lab dir ${this.dir} is under /run, which every host replaces with its own tmpfs`);
    }
    this.log = modules.logger.child({ component: "lab", lab: opts.labId });
    this.ip = new Ip({ timeoutMs: opts.toolTimeoutMs }, { logger: this.log });
    this.hosts = new HostProcesses(
      { startTimeoutMs: opts.startTimeoutMs, settleMs: opts.settleMs, timeoutMs: opts.toolTimeoutMs },
      { logger: this.log },
    );
  }

  /** Builds the lab and starts every host. On any failure everything made so far is removed. */
  async up(spec: UpSpec, sig: Sig = {}): Promise<LabRecord> {
    const { managers, workers } = spec;
    if (!Number.isInteger(managers) || !Number.isInteger(workers) || managers < 0 || workers < 0 || managers + workers < 1) {
      throw new LabError("LAB_BAD_ARGS", "need at least one host (--managers N --workers M, whole numbers >= 0)");
    }
    if (managers + workers > 200) throw new LabError("LAB_BAD_ARGS", "at most 200 hosts per lab");
    const subnet = spec.subnet ?? DEFAULT_SUBNET;
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
    if (m === null || [m[1], m[2], m[3]].some((o) => Number(o) > 255)) {
      throw new LabError("LAB_BAD_ARGS", `subnet ${subnet} must be an a.b.c.0/24`);
    }
    if ((await readRecord(this.dir)) !== undefined) {
      throw new LabError("LAB_EXISTS", `lab ${this.labId} already exists in ${this.dir}; run 'shoal-lab down --lab ${this.labId}' first`);
    }
    const leftovers = (await this.ip.netnsList(sig)).filter((n) => n.startsWith(this.prefix));
    if (leftovers.length > 0) {
      throw new LabError("LAB_EXISTS", `namespaces of lab ${this.labId} exist (${leftovers.join(", ")}); run 'shoal-lab down --lab ${this.labId}' first`);
    }

    const names = [
      ...Array.from({ length: managers }, (_, i) => ({ name: `manager${i + 1}`, role: "manager" as const })),
      ...Array.from({ length: workers }, (_, i) => ({ name: `worker${i + 1}`, role: "worker" as const })),
    ];
    const base = `${m[1]}.${m[2]}.${m[3]}`;
    const infos: HostInfo[] = names.map((n, i) => {
      const dir = join(this.dir, n.name);
      return { ...n, address: `${base}.${i + 1}`, dir, apiSocket: join(dir, "api.sock"), labDir: this.dir, managerAddresses: [] };
    });
    const managerAddresses = infos.filter((h) => h.role === "manager").map((h) => h.address);
    for (const h of infos) h.managerAddresses = managerAddresses;

    const rec: LabRecord = {
      version: 1,
      labId: this.labId,
      dir: this.dir,
      subnet,
      switchNs: `${this.prefix}switch`,
      bridge: MAIN_BRIDGE,
      createdAt: new Date().toISOString(),
      netns: [],
      hosts: [],
    };
    try {
      for (const h of infos) {
        const env = typeof spec.env === "function" ? spec.env(h) : (spec.env ?? {});
        rec.hosts.push({
          name: h.name,
          role: h.role,
          address: h.address,
          prefixLength: 24,
          netns: `${this.prefix}${h.name}`,
          hostIf: HOST_IF,
          switchPort: `s-${h.name}`.slice(0, 15),
          dir: h.dir,
          apiSocket: h.apiSocket,
          argv: (spec.command ?? defaultCommand)(h),
          env: { ...env },
          group: 0,
        });
      }
      for (const h of rec.hosts) {
        if (h.argv.length === 0) throw new LabError("LAB_BAD_ARGS", `${h.name}: empty command`);
      }
      await writeRecord(rec);
      await this.createNetns(rec, rec.switchNs, sig);
      await this.ip.linkSetUp(rec.switchNs, "lo", sig);
      await this.ip.bridgeAdd(rec.switchNs, MAIN_BRIDGE, sig);
      await this.ip.linkSetUp(rec.switchNs, MAIN_BRIDGE, sig);
      for (const h of rec.hosts) {
        await this.createNetns(rec, h.netns, sig);
        await this.ip.linkSetUp(h.netns, "lo", sig);
        await this.ip.vethAdd({ name: h.hostIf, ns: h.netns }, { name: h.switchPort, ns: rec.switchNs }, sig);
        await this.ip.linkSetMaster(rec.switchNs, h.switchPort, MAIN_BRIDGE, sig);
        await this.ip.linkSetUp(rec.switchNs, h.switchPort, sig);
        await this.ip.addrAdd(h.netns, h.hostIf, `${h.address}/${h.prefixLength}`, sig);
        await this.ip.linkSetUp(h.netns, h.hostIf, sig);
        await mkdir(h.dir, { recursive: true, mode: 0o700 });
      }
      for (const h of rec.hosts) await this.launch(rec, h, sig);
      this.log.info({ hosts: rec.hosts.length }, "lab up");
      return rec;
    } catch (err) {
      this.log.info({ err }, "lab up failed; removing what it made");
      await this.down().catch((downErr: unknown) => this.log.error({ err: downErr }, "cleanup after failed up"));
      throw err;
    }
  }

  async record(): Promise<LabRecord> {
    const rec = await readRecord(this.dir);
    if (rec === undefined) throw new LabError("LAB_NOT_FOUND", `no lab ${this.labId} (${this.dir}); run 'shoal-lab up' first`);
    return rec;
  }

  async status(): Promise<HostStatus[]> {
    const rec = await this.record();
    return rec.hosts.map((h) => {
      const running = isAlive(initOf(h));
      return {
        name: h.name,
        role: h.role,
        address: h.address,
        pid: running ? h.pid : undefined,
        state: running ? "running" : "down",
        group: h.group,
        apiSocket: h.apiSocket,
      };
    });
  }

  /** The shell line that points `shoal` and `docker` at this host's API socket. */
  async envLine(host: string): Promise<string> {
    const h = this.host(await this.record(), host);
    return `export SHOAL_HOST=unix://${h.apiSocket} DOCKER_HOST=unix://${h.apiSocket}`;
  }

  /** Runs argv inside the host's network, mount, UTS and PID namespaces; resolves with its exit code. */
  async exec(host: string, argv: string[], opts: ExecOpts = {}): Promise<RunResult> {
    if (argv.length === 0) throw new LabError("LAB_BAD_ARGS", "exec needs a command");
    const h = this.host(await this.record(), host);
    const init = initOf(h);
    if (!isAlive(init) || init === undefined) throw new LabError("LAB_HOST_DOWN", `${host} is down; run 'shoal-lab start ${host}'`, { host });
    const runOpts = { allowFailure: true, timeoutMs: opts.timeoutMs ?? 0, signal: opts.signal, inherit: opts.inherit, input: opts.input };
    return this.hosts.exec(init.pid, argv, runOpts);
  }

  /** SIGKILLs the host's PID 1: the whole host goes down at once, like a power cut. */
  async kill(host: string, sig: Sig = {}): Promise<void> {
    const rec = await this.record();
    const h = this.host(rec, host);
    const init = initOf(h);
    if (!isAlive(init)) throw new LabError("LAB_HOST_DOWN", `${host} is already down`, { host });
    this.log.info({ host, pid: h.pid }, "kill host");
    killIfSame(init);
    await waitGone([init, launcherOf(h)], 5_000, sig);
    delete h.pid;
    delete h.pidStart;
    delete h.launcherPid;
    delete h.launcherStart;
    await writeRecord(rec);
  }

  /** Starts a down host again with the command it was given at `up` (fresh /run, same state dir). */
  async start(host: string, sig: Sig = {}): Promise<void> {
    const rec = await this.record();
    const h = this.host(rec, host);
    if (isAlive(initOf(h))) throw new LabError("LAB_HOST_RUNNING", `${host} is already running (pid ${h.pid})`, { host });
    await this.launch(rec, h, sig);
  }

  /** Cuts the named hosts off from every other host; they can still reach each other. */
  async partition(hostNames: string[], sig: Sig = {}): Promise<void> {
    if (hostNames.length === 0) throw new LabError("LAB_BAD_ARGS", "partition needs at least one host");
    const rec = await this.record();
    const chosen = hostNames.map((n) => this.host(rec, n));
    const group = Math.max(0, ...rec.hosts.map((h) => h.group)) + 1;
    const bridge = `br${group}`;
    await this.ip.bridgeAdd(rec.switchNs, bridge, sig);
    await this.ip.linkSetUp(rec.switchNs, bridge, sig);
    for (const h of chosen) {
      await this.ip.linkSetMaster(rec.switchNs, h.switchPort, bridge, sig);
      h.group = group;
    }
    // Groups left with no ports keep their bridge until heal; harmless, and heal removes them.
    await writeRecord(rec);
    this.log.info({ hosts: hostNames, group }, "partition");
  }

  /** Puts every host back on the main bridge and removes the partition bridges. */
  async heal(sig: Sig = {}): Promise<void> {
    const rec = await this.record();
    const groups = new Set<number>();
    for (const h of rec.hosts) {
      if (h.group === 0) continue;
      groups.add(h.group);
      await this.ip.linkSetMaster(rec.switchNs, h.switchPort, rec.bridge, sig);
      h.group = 0;
    }
    const links = await this.ip.linkNames(rec.switchNs, sig);
    for (const l of links) if (/^br[1-9]\d*$/.test(l)) await this.ip.linkDel(rec.switchNs, l, sig);
    await writeRecord(rec);
    this.log.info({ groups: [...groups] }, "heal");
  }

  /**
   * Removes everything the lab made: host processes, any other process inside its namespaces, the
   * namespaces (which takes their links with them) and the state dir. Idempotent; works on a
   * half-made lab and, by the name prefix, even without a record. With keepFiles the host dirs
   * (logs, state) and the record stay for a post-mortem; processes and namespaces go all the same.
   */
  async down(sig: Sig = {}, opts: { keepFiles?: boolean } = {}): Promise<void> {
    const rec = await readRecord(this.dir).catch((err: unknown) => {
      this.log.warn({ err }, "unreadable lab record; cleaning up by name prefix");
      return undefined;
    });
    const procs: ProcId[] = [];
    for (const h of rec?.hosts ?? []) {
      for (const p of [initOf(h), launcherOf(h)]) if (p !== undefined && killIfSame(p)) procs.push(p);
    }
    await waitGone(procs, 5_000, sig);

    const existing = (await this.ip.netnsList(sig)).filter((n) => n.startsWith(this.prefix));
    const names = [...new Set([...(rec?.netns ?? []), ...existing])].filter((n) => n.startsWith(this.prefix));
    const switchNs = `${this.prefix}switch`;
    // Hosts first, switch last: deleting a host namespace takes its veth pair with it.
    names.sort((a, b) => Number(a === switchNs) - Number(b === switchNs));
    for (const ns of names) {
      if (!existing.includes(ns)) continue;
      const stray = (await this.ip.netnsPids(ns, sig)).map((pid) => procId(pid)).filter((p): p is ProcId => p !== undefined);
      for (const p of stray) killIfSame(p);
      await waitGone(stray, 5_000, sig);
      await this.ip.netnsDel(ns, sig);
    }
    if (opts.keepFiles !== true) await this.removeDir(rec);
    this.log.info({ keptFiles: opts.keepFiles === true ? this.dir : undefined }, "lab down");
  }

  private async removeDir(rec: LabRecord | undefined): Promise<void> {
    // Only what the lab made: its host dirs and its record. A --dir given by the user is removed
    // only if nothing else is left in it.
    for (const h of rec?.hosts ?? []) await rm(h.dir, { recursive: true, force: true });
    await rm(join(this.dir, "lab.json"), { force: true });
    await rm(join(this.dir, "lab.json.tmp"), { force: true });
    try {
      if ((await readdir(this.dir)).length === 0) await rmdir(this.dir);
      else this.log.warn({ dir: this.dir }, "lab dir not empty; left in place");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }

  private async createNetns(rec: LabRecord, name: string, sig: Sig): Promise<void> {
    rec.netns.push(name);
    await writeRecord(rec);
    await this.ip.netnsAdd(name, sig);
  }

  private async launch(rec: LabRecord, h: HostRecord, sig: Sig): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SHOAL_LAB: rec.labId,
      SHOAL_LAB_HOST: h.name,
      SHOAL_LAB_ROLE: h.role,
      SHOAL_LAB_ADDRESS: h.address,
      SHOAL_LAB_HOST_DIR: h.dir,
      SHOAL_API_SOCKET: h.apiSocket,
      ...h.env,
    };
    const launched = await this.hosts.launch(
      { netns: h.netns, hostname: h.name, argv: h.argv, env, dir: h.dir, logFile: join(h.dir, "host.log") },
      sig,
    );
    h.pid = launched.init.pid;
    h.pidStart = launched.init.start;
    h.launcherPid = launched.launcher.pid;
    h.launcherStart = launched.launcher.start;
    await writeRecord(rec);
  }

  private host(rec: LabRecord, name: string): HostRecord {
    const h = rec.hosts.find((x) => x.name === name);
    if (h === undefined) {
      throw new LabError("LAB_UNKNOWN_HOST", `no host ${name} in lab ${rec.labId} (hosts: ${rec.hosts.map((x) => x.name).join(", ")})`, { host: name });
    }
    return h;
  }
}

/** `ls` output: a header line, then one host per line, name first. */
export function formatHostTable(hosts: HostStatus[]): string {
  const rows = [["NAME", "ROLE", "ADDRESS", "PID", "STATE"], ...hosts.map((h) => [h.name, h.role, h.address, h.pid === undefined ? "-" : String(h.pid), h.state])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join("")).join("\n") + "\n";
}

function initOf(h: HostRecord): ProcId | undefined {
  return h.pid === undefined || h.pidStart === undefined ? undefined : { pid: h.pid, start: h.pidStart };
}

function launcherOf(h: HostRecord): ProcId | undefined {
  return h.launcherPid === undefined || h.launcherStart === undefined ? undefined : { pid: h.launcherPid, start: h.launcherStart };
}

async function waitGone(procs: Array<ProcId | undefined>, timeoutMs: number, sig: Sig): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (procs.some((p) => isAlive(p))) {
    if (Date.now() > deadline) {
      const left = procs.filter((p) => isAlive(p)).map((p) => p?.pid);
      throw new LabError("LAB_COMMAND_TIMEOUT", `processes ${left.join(", ")} did not exit after SIGKILL`);
    }
    await sleep(20, sig.signal);
  }
}

