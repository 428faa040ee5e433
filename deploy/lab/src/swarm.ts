// Swarm formation in a lab: the command each host runs (shoald with its state dir, API socket and
// lab name as hostname), and `formSwarm`, which does what an operator would — init on the first
// manager, then join every other manager one at a time (each promoted to voter before the next),
// then the workers — through the hosts' REST APIs, and waits until every node is READY.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SHOALD_NODE_FLAGS, sleep, type Logger } from "@shoal/common";
import { apiCall, apiJson } from "./api-client.js";
import { LabError } from "./errors.js";
import type { HostInfo } from "./lab.js";
import type { HostRecord, LabRecord } from "./record.js";

export const SWARM_PORT = 2377;

export interface ShoaldOptions {
  /** Path of shoald's launcher (default: this checkout's services/node/bin/shoald.js). */
  bin?: string;
  tickMs?: number;
  electionTicks?: number;
  heartbeatMs?: number;
  logLevel?: string;
  extraArgs?: string[];
}

export function defaultShoaldBin(): string {
  // deploy/lab/dist/src/swarm.js → the repo root is four levels up.
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, "..", "..", "..", "..", "services", "node", "bin", "shoald.js");
}

/** The argv that runs shoald as a lab host's PID 1. */
export function shoaldCommand(opts: ShoaldOptions = {}): (h: HostInfo) => string[] {
  return (h) => {
    const argv = [process.execPath, ...SHOALD_NODE_FLAGS, opts.bin ?? process.env["SHOALD_BIN"] ?? defaultShoaldBin(), "--state-dir", join(h.dir, "state"), "--api-socket", h.apiSocket, "--hostname", h.name];
    if (opts.tickMs !== undefined) argv.push("--tick-ms", String(opts.tickMs));
    if (opts.electionTicks !== undefined) argv.push("--election-ticks", String(opts.electionTicks));
    if (opts.heartbeatMs !== undefined) argv.push("--heartbeat-ms", String(opts.heartbeatMs));
    argv.push("--log-level", opts.logLevel ?? "info");
    argv.push(...(opts.extraArgs ?? []));
    return argv;
  };
}

/** Waits until the host's API answers /_ping. */
export async function waitForApi(h: Pick<HostRecord, "name" | "apiSocket">, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const r = await apiCall(h.apiSocket, "GET", "/_ping", undefined, 2_000);
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new LabError("LAB_SWARM_TIMEOUT", `${h.name}: the API did not answer within ${timeoutMs} ms (${last}); see ${dirname(h.apiSocket)}/host.log`, { host: h.name });
}

interface SwarmInfo {
  JoinTokens: { Worker: string; Manager: string };
}

interface DockerNode {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
  ManagerStatus?: { Leader?: boolean };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  const why = last instanceof Error ? `: ${last.message}` : "";
  throw new LabError("LAB_SWARM_TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

/** Forms the swarm over the lab's hosts; resolves once every node is READY. */
export async function formSwarm(rec: LabRecord, modules: { logger: Logger }, opts: { timeoutMs?: number } = {}): Promise<void> {
  const log = modules.logger.child({ component: "lab-swarm" });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const managers = rec.hosts.filter((h) => h.role === "manager");
  const workers = rec.hosts.filter((h) => h.role === "worker");
  const first = managers[0];
  if (first === undefined) throw new LabError("LAB_BAD_ARGS", "a swarm needs at least one manager");
  for (const h of rec.hosts) await waitForApi(h);
  await apiJson(first.apiSocket, "POST", "/swarm/init", { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: `${first.address}:${SWARM_PORT}` }, timeoutMs);
  log.info({ host: first.name }, "swarm initialized");
  const swarm = await apiJson<SwarmInfo>(first.apiSocket, "GET", "/swarm");
  const remote = [`${first.address}:${SWARM_PORT}`];
  for (const [i, m] of managers.slice(1).entries()) {
    await apiJson(m.apiSocket, "POST", "/swarm/join", { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: `${m.address}:${SWARM_PORT}`, RemoteAddrs: remote, JoinToken: swarm.JoinTokens.Manager }, timeoutMs);
    // Wait for it to become a voter before adding the next: one membership change at a time.
    await until(`${m.name} to become a raft voter`, timeoutMs, async () => {
      const st = await apiJson<{ members: { suffrage: string }[] }>(first.apiSocket, "GET", "/shoal/cluster");
      return st.members.filter((x) => x.suffrage === "voter").length >= i + 2 ? true : undefined;
    });
    log.info({ host: m.name }, "manager joined");
  }
  for (const w of workers) {
    await apiJson(w.apiSocket, "POST", "/swarm/join", { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: w.address, RemoteAddrs: remote, JoinToken: swarm.JoinTokens.Worker }, timeoutMs);
    log.info({ host: w.name }, "worker joined");
  }
  await waitForReadyNodes(rec, rec.hosts.length, timeoutMs);
}

/** Resolves with the node list once `count` nodes are READY (asking any running manager). */
export async function waitForReadyNodes(rec: LabRecord, count: number, timeoutMs = 30_000): Promise<unknown[]> {
  const managers = rec.hosts.filter((h) => h.role === "manager");
  return until(`${count} READY nodes`, timeoutMs, async () => {
    for (const m of managers) {
      try {
        const nodes = await apiJson<DockerNode[]>(m.apiSocket, "GET", "/nodes", undefined, 3_000);
        if (nodes.filter((n) => n.Status?.State === "ready").length >= count) return nodes;
      } catch {
        // try the next manager
      }
    }
    return undefined;
  });
}
