// The showcase (`npm run demo`): a lab of 3 managers + 2 workers (network-namespace hosts, each
// running shoald) forms a swarm; `shoal node ls` and `shoal cluster status` show it. A replicated
// service spreads over the nodes (with live progress), a worker's host is SIGKILLed and its tasks
// start elsewhere, and a rolling update goes through in batches. Then the leader is SIGKILLed, a
// new leader takes over and serves writes, and the old leader and the worker come back. Tasks run
// in the simulated executor (the agents, sessions and scheduler are real; the runc runtime is not
// built yet), and the demo says so. Pass --keep to leave the lab running for exploring (then
// `npx shoal-lab down`). Exits non-zero if any step failed.
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, describeError, sleep } from "@shoal/common";
import { Lab, apiCall, apiJson, formSwarm, shoaldCommand, waitForReadyNodes, type HostRecord } from "@shoal/lab";

const REPO = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..", "..");
const SHOAL = join(REPO, "services", "cli", "bin", "shoal.js");
const keep = process.argv.includes("--keep");
/** The lab's id ("demo"; the demo's own test runs it under another, so as not to take down a kept one). */
const LAB_ID = process.env["SHOAL_DEMO_LAB"] ?? "demo";
const say = (s = ""): void => void process.stdout.write(`${s}\n`);
/** The shoal commands that failed (each is shown as it happens; the demo then exits 1). */
const failed: string[] = [];

/**
 * Runs `shoal ARGS` against host h and shows its output, indented. `live`: the command's output
 * goes straight to the terminal, so a progress view redraws in place as it would for an operator.
 */
function shoal(h: HostRecord, args: string[], opts: { live?: boolean } = {}): void {
  say(`$ shoal ${args.join(" ")}        # on ${h.name}`);
  const env = { ...process.env, SHOAL_HOST: `unix://${h.apiSocket}` };
  try {
    if (opts.live === true) execFileSync(process.execPath, [SHOAL, ...args], { env, stdio: ["ignore", "inherit", "pipe"] });
    else say(execFileSync(process.execPath, [SHOAL, ...args], { env, encoding: "utf8" }).trimEnd().replace(/^/gm, "  "));
  } catch (err) {
    const e = err as { stderr?: string | Buffer };
    const why = e.stderr?.toString().trim() || describeError(err);
    failed.push(`shoal ${args.join(" ")}: ${why}`);
    say(`  (failed) ${why}`);
  }
  say();
}

interface TaskView {
  NodeID?: string;
  Status: { State: string };
}

/** Waits until `want` tasks of the service run on nodes other than `notOn`; returns how many ms it took. */
async function runningElsewhere(m: HostRecord, service: string, want: number, notOn: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const filters = encodeURIComponent(JSON.stringify({ service: [service], "desired-state": ["running"] }));
  while (performance.now() - t0 < timeoutMs) {
    const tasks = await apiJson<TaskView[]>(m.apiSocket, "GET", `/tasks?filters=${filters}`, undefined, 2_000).catch(() => []);
    if (tasks.filter((t) => t.Status.State === "running" && t.NodeID !== notOn).length >= want) return performance.now() - t0;
    await sleep(100);
  }
  throw new Error(`${service}: ${want} tasks not running off the lost node within ${timeoutMs / 1000} s`);
}

interface ClusterStatus {
  raftId: number;
  leaderRaftId: number;
}

async function leaderOf(among: HostRecord[], timeoutMs: number): Promise<HostRecord> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(among.map((m) => apiJson<ClusterStatus>(m.apiSocket, "GET", "/shoal/cluster", undefined, 1_000).catch(() => undefined)));
    const lead = views[0]?.leaderRaftId ?? 0;
    const i = views.findIndex((v) => v !== undefined && v.raftId === lead);
    if (lead !== 0 && i >= 0 && views.every((v) => v?.leaderRaftId === lead)) return among[i] as HostRecord;
    await sleep(20);
  }
  throw new Error(`no leader within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  const logger = createLogger({ name: "demo", level: "warn" });
  const lab = new Lab({ labId: LAB_ID }, { logger });
  const cleanup = async (): Promise<void> => {
    if (!keep) await lab.down().catch(() => undefined);
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  await lab.down().catch(() => undefined);
  say("Shoal demo: a lab of 5 hosts (network namespaces on a private switch), each running shoald.");
  say("Every node's agent runs its tasks in the simulated executor: sessions, assignments and status reports");
  say("are real gRPC between real agents and managers, but a task 'runs' in its agent's memory, not in a");
  say("container (the runc runtime is not built yet).");
  const rec = await lab.up({ managers: 3, workers: 2, command: shoaldCommand({ logLevel: "info", extraArgs: ["--executor", "simulated"] }) });
  say("Forming the swarm: manager1 runs `swarm init`, manager2 and manager3 join as managers (raft learners,");
  say("promoted once caught up), worker1 and worker2 join as workers. Every link is mutual TLS with certificates");
  say("from the swarm's own root CA; join tokens pin that CA.");
  await formSwarm(rec, { logger });
  const managers = rec.hosts.filter((h) => h.role === "manager");
  const m1 = managers[0] as HostRecord;
  say();
  shoal(m1, ["node", "ls"]);
  shoal(m1, ["cluster", "status"]);

  say("A replicated service: 6 tasks spread over the 5 nodes (managers take tasks too unless drained).");
  say("The command follows the service until it converges, as `docker service create` does.");
  shoal(m1, ["service", "create", "--name", "web", "--replicas", "6", "--update-parallelism", "2", "--update-delay", "1s", "--update-monitor", "2s", "busybox:1.36"], { live: true });
  shoal(m1, ["service", "ps", "web"]);

  const lostId = (await apiJson<{ ID: string; Description: { Hostname: string } }[]>(m1.apiSocket, "GET", "/nodes")).find((n) => n.Description.Hostname === "worker2")?.ID ?? "";
  say("Killing worker2 with SIGKILL (its whole host). The leader marks it down 3 heartbeat periods (6 s) after");
  say("its last heartbeat, and the orchestrator starts its tasks on the nodes left...");
  await lab.kill("worker2");
  const movedMs = await runningElsewhere(m1, "web", 6, lostId, 60_000);
  say(`All 6 tasks running again, none on worker2, ${(movedMs / 1000).toFixed(1)} s after the kill.`);
  say();
  shoal(m1, ["service", "ps", "web"]);

  say("A rolling update to a new image, 2 tasks at a time, each batch watched for 2 s, 1 s between batches:");
  shoal(m1, ["service", "update", "--image", "busybox:1.37", "web"], { live: true });
  shoal(m1, ["service", "ls"]);

  const old = await leaderOf(managers, 10_000);
  const survivors = managers.filter((m) => m !== old);
  say(`Killing the leader, ${old.name}, with SIGKILL (its whole host goes down, like a power cut)...`);
  await lab.kill(old.name);
  const t0 = performance.now();
  const next = await leaderOf(survivors, 30_000);
  say(`New leader: ${next.name}, elected ${((performance.now() - t0) / 1000).toFixed(2)} s after the kill.`);
  say();
  const follower = survivors.find((m) => m !== next) as HostRecord;
  const nodes = await apiJson<{ ID: string; Version: { Index: number }; Spec: Record<string, unknown>; Description: { Hostname: string } }[]>(follower.apiSocket, "GET", "/nodes");
  const w1 = nodes.find((n) => n.Description.Hostname === "worker1");
  if (w1 !== undefined) {
    const r = await apiCall(follower.apiSocket, "POST", `/nodes/${w1.ID}/update?version=${w1.Version.Index}`, { ...w1.Spec, Labels: { zone: "east" } });
    say(`A write through ${follower.name} (a follower, forwarding to the new leader): label worker1 zone=east → HTTP ${r.status}`);
    say();
  }
  shoal(next, ["node", "ls"]);
  say("The service lost nothing with the leader: the new leader's orchestrator and dispatcher took over.");
  shoal(next, ["service", "ls"]);
  say(`Restarting ${old.name} and worker2: each keeps its identity; ${old.name} rejoins as a follower.`);
  await lab.start(old.name);
  await lab.start("worker2");
  await leaderOf(managers, 60_000);
  await waitForReadyNodes(rec, 5, 60_000);
  await sleep(1_000);
  shoal(next, ["node", "ls"]);
  shoal(next, ["cluster", "status"]);
  shoal(old, ["node", "inspect", "--pretty", "worker1"]);
  if (keep) {
    say("The lab is still running. Try:");
    say(`  eval "$(npx shoal-lab --lab ${LAB_ID} env manager1)"; npx shoal node ls; npx shoal service ps web; docker service ls`);
    say(`  npx shoal-lab --lab ${LAB_ID} down     # when done`);
  } else {
    await cleanup();
    say("Lab removed. Run `npm run demo -- --keep` to keep it for exploring.");
  }
  if (failed.length > 0) throw new Error(`${failed.length} shoal command(s) failed: ${failed.join("; ")}`);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${describeError(err)}\n`);
    if (!keep) await new Lab({ labId: LAB_ID }, { logger: createLogger({ level: "silent" }) }).down().catch(() => undefined);
    process.exit(1);
  },
);
