// The showcase (`npm run demo`): a lab of 3 managers + 2 workers (network-namespace hosts, each
// running shoald) forms a swarm; `shoal node ls` and `shoal cluster status` show it; the leader is
// SIGKILLed, a new leader takes over and serves writes, and the old leader comes back as a
// follower. Pass --keep to leave the lab running for exploring (then `npx shoal-lab down`).
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, describeError, sleep } from "@shoal/common";
import { Lab, apiCall, apiJson, formSwarm, shoaldCommand, type HostRecord } from "@shoal/lab";

const REPO = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..", "..");
const SHOAL = join(REPO, "services", "cli", "bin", "shoal.js");
const keep = process.argv.includes("--keep");
const say = (s = ""): void => void process.stdout.write(`${s}\n`);

function shoal(h: HostRecord, args: string[]): void {
  say(`$ shoal ${args.join(" ")}        # on ${h.name}`);
  try {
    const out = execFileSync(process.execPath, [SHOAL, ...args], { env: { ...process.env, SHOAL_HOST: `unix://${h.apiSocket}` }, encoding: "utf8" });
    say(out.trimEnd().replace(/^/gm, "  "));
  } catch (err) {
    const e = err as { stderr?: string };
    say(`  (failed) ${e.stderr?.trim() ?? describeError(err)}`);
  }
  say();
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
  const lab = new Lab({ labId: "demo" }, { logger });
  const cleanup = async (): Promise<void> => {
    if (!keep) await lab.down().catch(() => undefined);
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  await lab.down().catch(() => undefined);
  say("Shoal demo: a lab of 5 hosts (network namespaces on a private switch), each running shoald.");
  const rec = await lab.up({ managers: 3, workers: 2, command: shoaldCommand({ logLevel: "info" }) });
  say("Forming the swarm: manager1 runs `swarm init`, manager2 and manager3 join as managers (raft learners,");
  say("promoted once caught up), worker1 and worker2 join as workers. Every link is mutual TLS with certificates");
  say("from the swarm's own root CA; join tokens pin that CA.");
  await formSwarm(rec, { logger });
  const managers = rec.hosts.filter((h) => h.role === "manager");
  const m1 = managers[0] as HostRecord;
  say();
  shoal(m1, ["node", "ls"]);
  shoal(m1, ["cluster", "status"]);

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
  say(`Restarting ${old.name}: it keeps its identity and rejoins as a follower.`);
  await lab.start(old.name);
  await leaderOf(managers, 60_000);
  await sleep(3_000);
  shoal(next, ["cluster", "status"]);
  shoal(old, ["node", "inspect", "--pretty", "worker1"]);
  if (keep) {
    say("The lab is still running. Try:");
    say(`  eval "$(npx shoal-lab --lab demo env manager1)"; npx shoal node ls; docker node ls`);
    say("  npx shoal-lab --lab demo down     # when done");
  } else {
    await cleanup();
    say("Lab removed. Run `npm run demo -- --keep` to keep it for exploring.");
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${describeError(err)}\n`);
    if (!keep) await new Lab({ labId: "demo" }, { logger: createLogger({ level: "silent" }) }).down().catch(() => undefined);
    process.exit(1);
  },
);
