// The orchestration benchmark (issue "Orchestration"): 3 shoald managers on loopback (drained, so
// they only manage) and SHOAL_BENCH_AGENTS simulated nodes (real Daemons with the simulated
// executor, SHOAL_BENCH_AGENT_PROCS processes), then services totalling SHOAL_BENCH_TASKS tasks
// created through the REST API. Reports the CPU the idle nodes cost (sessions and heartbeats, per
// node per second, measured for SHOAL_BENCH_IDLE_SECONDS first), the time until every task is
// RUNNING, tasks/s, the managers' RSS, nodes ever seen DOWN during the run and raft elections
// while the tasks were placed (both should be 0), CPU per task and the cores kept busy, the
// leader's store write path and its garbage collection pauses, and the
// worker-loss time: one extra single-node process is SIGKILLed and its tasks are timed until they
// run elsewhere. Last, the leading manager is SIGKILLed: the time to a new leader, the nodes it
// marks DOWN while every node finds it (should be 0), and the running tasks after.
// Standalone: `node test/dist/src/bench/orchestration.js`; lines `name value unit` on stdout.
// SHOAL_BENCH_PROFILE_DIR=<dir>: every manager and agent process writes a V8 CPU profile there
// (`<dir>/<name>/*.cpuprofile`, stopped with SIGTERM after the worker loss; the leader failover is
// left out), and the task phase's bounds are printed on the monotonic clock the profiles use.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SHOALD_NODE_FLAGS, describeError, freeLoopbackPorts, sleep } from "@shoal/common";
import { apiCall, apiJson } from "@shoal/lab";
import { processCpuSeconds } from "./proc-cpu.js";

const AGENTS = Number(process.env["SHOAL_BENCH_AGENTS"] ?? 1000);
const TASKS = Number(process.env["SHOAL_BENCH_TASKS"] ?? 100_000);
const PROCS = Number(process.env["SHOAL_BENCH_AGENT_PROCS"] ?? 4);
const SERVICES = Number(process.env["SHOAL_BENCH_SERVICES"] ?? 100);
// The simulated nodes' CPU priority (nice). On 2 cores, 1,000 simulated nodes at the managers'
// priority starve the managers long enough for raft elections; at nice 10 the managers starve
// them instead, and their nodes miss heartbeats. Neither is what separate machines would do.
const AGENT_NICE = Number(process.env["SHOAL_BENCH_AGENT_NICE"] ?? 0);
/** Set: the processes' logs are copied there before the run's directory is removed. */
const LOG_DIR = process.env["SHOAL_BENCH_LOG_DIR"];
// Each simulated node stands for a machine with its own disk. On the managers' filesystem their
// state (1,000 level DBs) shares its journal with the managers' synced raft writes, which then
// also wait for the agents' writeback (ext4, data=ordered). So they live on tmpfs when the host
// has one.
const AGENT_STATE_PARENT = process.env["SHOAL_BENCH_AGENT_STATE_DIR"] ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const PROFILE_DIR = process.env["SHOAL_BENCH_PROFILE_DIR"];
/**
 * Extra node flags for the managers only (e.g. --perf-basic-prof, to attach perf to one), after
 * SHOALD_NODE_FLAGS, which every manager runs with as shoald does (a later flag wins). The
 * simulated nodes' processes are this harness's, not shoald: they run with Node's defaults.
 */
const MANAGER_FLAGS = (process.env["SHOAL_BENCH_MANAGER_FLAGS"] ?? "").split(/\s+/).filter((f) => f !== "");
/** How long the idle nodes are measured before the services are created. */
const IDLE_MS = Number(process.env["SHOAL_BENCH_IDLE_SECONDS"] ?? 10) * 1000;
const HERE = resolve(fileURLToPath(import.meta.url), "..");
const SHOALD = resolve(HERE, "..", "..", "..", "..", "services", "node", "bin", "shoald.js");

const children: ChildProcess[] = [];
const out = (name: string, value: number, unit: string): void => void process.stdout.write(`${name} ${Number.isFinite(value) ? (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)) : "NaN"} ${unit}\n`);
const progress = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

/**
 * Whose CPU is profiled: every process ("all"), the managers only ("managers": the agents run at
 * full speed) or the agents only ("agents"). With one side only, the failover runs too.
 */
const PROFILE_WHO = process.env["SHOAL_BENCH_PROFILE_WHO"] ?? "all";
/** SHOAL_BENCH_FAILOVER=0 leaves the leader failover out (a profiled leader then writes its profile). */
const FAILOVER = process.env["SHOAL_BENCH_FAILOVER"] !== "0";
if (!["all", "managers", "agents"].includes(PROFILE_WHO)) throw new Error(`SHOAL_BENCH_PROFILE_WHO is all, managers or agents, not ${PROFILE_WHO}`);
/** Node's flags for a child process named `name`: a CPU profile when SHOAL_BENCH_PROFILE_DIR is set. */
const nodeFlags = (name: string): string[] => {
  if (PROFILE_DIR === undefined) return [];
  const manager = /^m\d$/.test(name);
  if ((PROFILE_WHO === "managers" && !manager) || (PROFILE_WHO === "agents" && manager)) return [];
  return ["--cpu-prof", `--cpu-prof-dir=${join(PROFILE_DIR, name)}`];
};
/** Now on the monotonic clock of V8's CPU profiles (their startTime and endTime), in µs. */
const monotonicUs = (): string => String(process.hrtime.bigint() / 1000n);

/** Profiles are written when a process exits by itself: SIGTERM each, then wait (at most 60 s). */

interface StoreWrites {
  proposals: number;
  actions: number;
  commitWait: number;
  lockHeld: number;
  assignmentMessages: number;
  assignmentChanges: number;
  statusReports: number;
  statusUpdates: number;
  /** The main thread's garbage-collection pauses: scavenges of the young generation, and the rest. */
  gcMinor: number;
  gcOther: number;
}

/** A manager's /metrics, read once: the value of a series by its name and labels (NaN if absent). */
async function metricsOf(sock: string): Promise<(series: string) => number> {
  const r = await apiCall(sock, "GET", "/metrics");
  const text = typeof r.body === "string" ? r.body : "";
  return (series) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
}

/** A manager's cumulative store write statistics, read from its /metrics. */
async function storeWrites(sock: string): Promise<StoreWrites> {
  const value = await metricsOf(sock);
  return {
    proposals: value("shoal_store_proposals_total"),
    actions: value("shoal_store_proposed_actions_total"),
    commitWait: value("shoal_store_commit_wait_seconds_total"),
    lockHeld: value("shoal_store_write_lock_held_seconds_total"),
    assignmentMessages: value("shoal_dispatcher_assignment_messages_total"),
    assignmentChanges: value("shoal_dispatcher_assignment_changes_total"),
    statusReports: value("shoal_dispatcher_status_reports_total"),
    statusUpdates: value("shoal_dispatcher_status_updates_total"),
    // Series a kind of collection has not run yet are absent (NaN): they count as 0.
    gcMinor: value('nodejs_gc_duration_seconds_sum{kind="minor"}') || 0,
    gcOther: ["major", "incremental", "weakcb"].reduce((a, kind) => a + (value(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) || 0), 0),
  };
}
/** How often a manager, leading, went silent to a member for half an election timeout, and the longest (s). */
async function leaderSilences(sock: string): Promise<{ count: number; longestS: number }> {
  const value = await metricsOf(sock);
  return { count: value("shoal_raft_leader_silences_total"), longestS: value('shoal_raft_longest_silence_seconds{side="leader"}') };
}
/** Raft snapshots a manager has taken of its store since it started. */
async function snapshotsTaken(sock: string): Promise<number> {
  return (await metricsOf(sock))("shoal_raft_snapshots_total");
}
/** The raft term a manager is in. */
async function raftTerm(sock: string): Promise<number> {
  return (await apiJson<{ term: number }>(sock, "GET", "/shoal/cluster")).term;
}
async function stopForProfiles(): Promise<void> {
  if (PROFILE_DIR === undefined) return;
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill("SIGTERM");
  await Promise.race([Promise.all(running.map((c) => new Promise((res) => c.once("exit", res)))), sleep(60_000)]);
}

function start(cmd: string[], logFile: string): ChildProcess {
  // Many nodes per process keep many files open (a local DB each): raise the soft limit to the hard one.
  const c = spawn("bash", ["-c", `ulimit -n $(ulimit -Hn); exec "$@" 2>>${logFile}`, "bash", ...cmd], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(c);
  return c;
}

/** CPU time (user + system, all threads) a process has used, ms; NaN if it is gone. */
function cpuMs(pid: number | undefined): number {
  return pid === undefined ? NaN : (processCpuSeconds(pid) ?? NaN) * 1000;
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function waitLine(c: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    let buf = "";
    const t = setTimeout(() => rej(new Error(`no "${re.source}" within ${timeoutMs} ms`)), timeoutMs);
    c.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m !== null) {
        clearTimeout(t);
        res(m[0]);
      }
    });
    c.once("exit", (code) => rej(new Error(`process exited (${code}) before "${re.source}"`)));
  });
}

interface NodeView {
  Description: { Hostname: string };
  Status: { State: string };
  ManagerStatus?: { Leader: boolean };
}

interface TaskView {
  ID: string;
  Slot?: number;
  NodeID?: string;
  CreatedAt?: string;
  Status: { State: string };
}

interface ServiceView {
  ID: string;
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "shoal-bench-orch-"));
  const agentsDir = mkdtempSync(join(AGENT_STATE_PARENT, "shoal-bench-orch-agents-"));
  const cleanup = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    if (LOG_DIR !== undefined) for (const f of readdirSync(dir).filter((n) => n.endsWith(".log"))) cpSync(join(dir, f), join(LOG_DIR, f));
    // A process blocked in a disk write dies only once the write returns, and may still create files.
    for (const d of [dir, agentsDir]) rmSync(d, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  };
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    // A second signal (timeout(1) forwards one too) must not cut the cleanup short.
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      cleanup();
      process.exit(130);
    });
  }
  try {
    const ports = await freeLoopbackPorts(3);
    const managers = ports.map((p, i) => ({ port: p, sock: join(dir, `m${i + 1}.sock`), proc: undefined as ChildProcess | undefined }));
    for (const [i, m] of managers.entries()) {
      m.proc = start([process.execPath, ...SHOALD_NODE_FLAGS, ...MANAGER_FLAGS, ...nodeFlags(`m${i + 1}`), SHOALD, "--state-dir", join(dir, `m${i + 1}`), "--api-socket", m.sock, "--hostname", `m${i + 1}`, "--log-level", process.env["SHOAL_LOG_LEVEL"] ?? "warn"], join(dir, `m${i + 1}.log`));
    }
    const m1 = managers[0]!;
    await until("manager APIs", 20_000, async () => ((await apiCall(m1.sock, "GET", "/_ping")).status === 200 ? true : undefined));
    await apiJson(m1.sock, "POST", "/swarm/init", { ListenAddr: `127.0.0.1:${m1.port}`, AdvertiseAddr: `127.0.0.1:${m1.port}`, Availability: "drain" });
    const swarm = await apiJson<{ JoinTokens: { Worker: string; Manager: string } }>(m1.sock, "GET", "/swarm");
    for (const m of managers.slice(1)) {
      await until(`${m.sock}`, 20_000, async () => ((await apiCall(m.sock, "GET", "/_ping")).status === 200 ? true : undefined));
      await apiJson(m.sock, "POST", "/swarm/join", { ListenAddr: `127.0.0.1:${m.port}`, AdvertiseAddr: `127.0.0.1:${m.port}`, RemoteAddrs: [`127.0.0.1:${m1.port}`], JoinToken: swarm.JoinTokens.Manager, Availability: "drain" });
    }
    progress(`3 managers up (drained): ${managers.map((m, i) => `m${i + 1} pid ${m.proc?.pid}`).join(", ")}`);
    const remote = `127.0.0.1:${m1.port}`;
    const t0 = performance.now();
    const per = Math.ceil(AGENTS / PROCS);
    const procs: ChildProcess[] = [];
    for (let p = 0; p < PROCS; p++) {
      const n = Math.min(per, AGENTS - p * per);
      if (n <= 0) break;
      procs.push(start(["nice", "-n", String(AGENT_NICE), process.execPath, ...nodeFlags(`agents${p}`), join(HERE, "agents.js"), "--count", String(n), "--root", join(agentsDir, `agents${p}`), "--remote", remote, "--token", swarm.JoinTokens.Worker, "--prefix", `sim${p}`], join(dir, `agents${p}.log`)));
    }
    const lone = start(["nice", "-n", String(AGENT_NICE), process.execPath, ...nodeFlags("lone"), join(HERE, "agents.js"), "--count", "1", "--root", join(agentsDir, "lone"), "--remote", remote, "--token", swarm.JoinTokens.Worker, "--prefix", "lone"], join(dir, "lone.log"));
    await Promise.all([...procs, lone].map((c) => waitLine(c, /joined \d+/, 600_000)));
    const total = AGENTS + 1 + 3;
    await until(`${total} ready nodes`, 300_000, async () => {
      const nodes = await apiJson<{ Status: { State: string } }[]>(m1.sock, "GET", "/nodes");
      return nodes.filter((n) => n.Status.State === "ready").length >= total ? true : undefined;
    });
    out("orch_agents_join_s", (performance.now() - t0) / 1000, "s");
    progress(`${AGENTS + 1} simulated nodes ready`);

    const perService = Math.floor(TASKS / SERVICES);
    const sumCpu = (ps: (ChildProcess | undefined)[]): number => ps.reduce((a, p) => a + cpuMs(p?.pid), 0);
    const agentProcs = [...procs, lone];
    const managerProcs = managers.map((m) => m.proc);
    // What the nodes cost with nothing to run (sessions, heartbeats): CPU per node per second.
    const idle0 = { managers: sumCpu(managerProcs), agents: sumCpu(agentProcs), at: performance.now() };
    await sleep(IDLE_MS);
    const idleNodeSeconds = ((AGENTS + 1) * (performance.now() - idle0.at)) / 1000;
    out("orch_idle_cpu_managers", (sumCpu(managerProcs) - idle0.managers) / idleNodeSeconds, "ms/node/s");
    out("orch_idle_cpu_agents", (sumCpu(agentProcs) - idle0.agents) / idleNodeSeconds, "ms/node/s");
    const cpu0 = { managers: sumCpu(managerProcs), agents: sumCpu(agentProcs), leader: cpuMs(managers[0]!.proc?.pid) };
    const store0 = await storeWrites(m1.sock);
    const term0 = await raftTerm(m1.sock);
    const silences0 = await leaderSilences(m1.sock);
    const snapshots0 = await Promise.all(managers.map((m) => snapshotsTaken(m.sock)));
    const tc = performance.now();
    const phaseFrom = monotonicUs();
    for (let s = 0; s < SERVICES; s++) {
      // With the endpoint spec that `shoal service create` and `docker service create` always send.
      const spec = { Name: `bench${s}`, TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Replicated: { Replicas: perService } }, EndpointSpec: { Mode: "vip" } };
      // Under load a create may time out at the commit deadline: retry (a create that did commit
      // answers 409 on the retry, which counts as done).
      for (let attempt = 1; ; attempt++) {
        const r = await apiCall(m1.sock, "POST", "/services/create", spec, 60_000);
        if (r.status === 201 || r.status === 409) break;
        if (attempt >= 20) throw new Error(`service create failed: ${r.status} ${JSON.stringify(r.body)}`);
        await sleep(Math.min(10_000, 1_000 * attempt));
      }
    }
    const want = perService * SERVICES;
    let downSeen = 0;
    let lastNodeCheck = 0;
    let rssMax = 0;
    await until(`${want} running tasks`, 1_800_000, async () => {
      rssMax = Math.max(rssMax, ...managers.map((m) => rssMb(m.proc?.pid)).filter(Number.isFinite));
      if (Date.now() - lastNodeCheck > 5_000) {
        lastNodeCheck = Date.now();
        const nodes = await apiJson<{ Status: { State: string } }[]>(m1.sock, "GET", "/nodes");
        downSeen = Math.max(downSeen, nodes.filter((n) => n.Status.State === "down").length);
      }
      const svcs = await apiJson<ServiceView[]>(m1.sock, "GET", "/services?status=true");
      const runningNow = svcs.reduce((a, s) => a + (s.ServiceStatus?.RunningTasks ?? 0), 0);
      progress(`running ${runningNow}/${want}`);
      return runningNow >= want ? true : undefined;
    }, 1_000); // counting every task's state is work for the manager too: once a second
    const secs = (performance.now() - tc) / 1000;
    if (PROFILE_DIR !== undefined) progress(`task phase on the profiles' clock: ${phaseFrom} to ${monotonicUs()} µs`);
    out("orch_all_running_s", secs, "s");
    out("orch_tasks_per_s", want / secs, "tasks/s");
    out("orch_manager_rss_max", rssMax, "MiB");
    out("orch_nodes_down_seen", downSeen, "nodes");
    // Raft terms begun while the tasks were placed (should be 0): a leader that lost its term
    // under the load (its loop held past the election timeout) shows here, and the store figures
    // below, read from m1, then cover only part of the phase.
    out("orch_elections_during_tasks", (await raftTerm(m1.sock)) - term0, "terms");
    // How close it came: the leader's silences of half an election timeout or more (warned of in
    // its log) while the tasks were placed, and the longest since it started.
    const silences1 = await leaderSilences(m1.sock);
    out("orch_leader_silences_during_tasks", silences1.count - silences0.count, "silences");
    out("orch_leader_longest_silence", silences1.longestS * 1000, "ms");
    // CPU per task says more than tasks/s on a shared host, whose other tenants' load swings the
    // rate by a quarter between runs (it includes the once-a-second status polls).
    out("orch_cpu_per_task_managers", (sumCpu(managerProcs) - cpu0.managers) / want, "ms");
    out("orch_cpu_per_task_agents", (sumCpu(agentProcs) - cpu0.agents) / want, "ms");
    // Of the managers' share, the leader's (m1 unless leadership moved): the rest is the two
    // followers appending, persisting and applying the same entries.
    out("orch_cpu_per_task_leader", (cpuMs(managers[0]!.proc?.pid) - cpu0.leader) / want, "ms");
    // Cores the managers and the nodes kept busy. Runs of the same code on this 2-core host kept it
    // at about 1.7 whatever their rate: tasks/s is these cores over the CPU per task, so a slower
    // host (more CPU per task) means fewer tasks/s, and only less CPU per task means more.
    out("orch_cpu_busy_cores", (sumCpu(managerProcs) - cpu0.managers + sumCpu(agentProcs) - cpu0.agents) / 1000 / secs, "cores");
    // The leader's store write path over the task phase (m1 leads unless leadership moved): how
    // many raft entries, how full, how long each took to commit and apply, and how much of the time
    // the write lock was held (near 1: writes queue behind the raft round trip).
    const store1 = await storeWrites(m1.sock);
    const entries = store1.proposals - store0.proposals;
    out("orch_store_entries_per_s", entries / secs, "entries/s");
    out("orch_store_actions_per_entry", entries > 0 ? (store1.actions - store0.actions) / entries : 0, "actions");
    out("orch_store_commit_wait_per_entry", entries > 0 ? ((store1.commitWait - store0.commitWait) * 1000) / entries : 0, "ms");
    out("orch_store_lock_held", (store1.lockHeld - store0.lockHeld) / secs, "s/s");
    // The leader's main thread stopped for garbage collection (its helper threads collect in
    // parallel besides): young-generation scavenges, then major collections (with their
    // incremental marking steps and weak-callback processing).
    out("orch_leader_gc_scavenge", (store1.gcMinor - store0.gcMinor) / secs, "s/s");
    out("orch_leader_gc_major", (store1.gcOther - store0.gcOther) / secs, "s/s");
    // Each re-encodes the whole store (seconds of CPU and memory for its encodings): how many the
    // three managers took while the tasks were placed.
    const snapshots1 = await Promise.all(managers.map((m) => snapshotsTaken(m.sock)));
    out("orch_snapshots_during_tasks", snapshots1.reduce((a, n, i) => a + n - snapshots0[i]!, 0), "snapshots");
    // How well the dispatcher batched the nodes' assignments (paced streams carry several each).
    const messages = store1.assignmentMessages - store0.assignmentMessages;
    out("orch_assignment_changes_per_message", messages > 0 ? (store1.assignmentChanges - store0.assignmentChanges) / messages : 0, "changes");
    // And how well the nodes batched their status reports to it.
    const reports = store1.statusReports - store0.statusReports;
    out("orch_status_reports_per_task", reports / want, "reports");
    out("orch_status_updates_per_report", reports > 0 ? (store1.statusUpdates - store0.statusUpdates) / reports : 0, "updates");
    // What `docker service ls` costs at this size (the benchmark polls it once a second above):
    // per status listing of every service, over ten in a row, the time to answer and the
    // leader's CPU meanwhile (its heartbeats with the nodes included; the CPU clock counts in
    // 10 ms ticks).
    const listing0 = { cpu: cpuMs(managers[0]!.proc?.pid), at: performance.now() };
    for (let i = 0; i < 10; i++) await apiJson<ServiceView[]>(m1.sock, "GET", "/services?status=true");
    out("orch_service_ls_ms", (performance.now() - listing0.at) / 10, "ms");
    out("orch_service_ls_leader_cpu", (cpuMs(managers[0]!.proc?.pid) - listing0.cpu) / 10, "ms");

    lone.kill("SIGKILL");
    const tk = performance.now();
    await sleep(500);
    await until("the lost node's tasks running elsewhere", 300_000, async () => {
      const svcs = await apiJson<ServiceView[]>(m1.sock, "GET", "/services?status=true");
      const runningNow = svcs.reduce((a, s) => a + (s.ServiceStatus?.RunningTasks ?? 0), 0);
      const nodes = await apiJson<{ Description: { Hostname: string }; Status: { State: string } }[]>(m1.sock, "GET", "/nodes");
      const loneDown = nodes.find((n) => n.Description.Hostname === "lone-0")?.Status.State === "down";
      return loneDown && runningNow >= want ? true : undefined;
    });
    out("orch_worker_loss_s", (performance.now() - tk) / 1000, "s");

    if (PROFILE_DIR !== undefined && (PROFILE_WHO === "all" || !FAILOVER)) {
      // A SIGKILLed leader writes no profile, and the leader's is the one that matters. (With the
      // managers only, the failover runs unless SHOAL_BENCH_FAILOVER=0: the new leader's profile
      // shows its take-over.)
      progress("profiling: the leader failover is left out");
      await stopForProfiles();
      return;
    }
    if (!FAILOVER) {
      progress("SHOAL_BENCH_FAILOVER=0: the leader failover is left out");
      return;
    }
    // Leader failover at full size: SIGKILL the leading manager; every node must find the new
    // leader and re-register before its grace runs out, so none is marked DOWN (and no task moves).
    const nodeList = async (sock: string): Promise<NodeView[]> => apiJson<NodeView[]>(sock, "GET", "/nodes");
    const leaderName = (await nodeList(m1.sock)).find((n) => n.ManagerStatus?.Leader === true)?.Description.Hostname;
    const victim = managers.find((_, i) => `m${i + 1}` === leaderName);
    if (victim === undefined) throw new Error("no leader to kill");
    const survivor = managers.find((m) => m !== victim)!;
    const alive = (n: NodeView): boolean => n.Description.Hostname !== leaderName && n.Description.Hostname !== "lone-0";
    progress(`leader failover: SIGKILL ${leaderName} (pid ${victim.proc?.pid})`);
    victim.proc?.kill("SIGKILL");
    const tf = performance.now();
    if (PROFILE_DIR !== undefined) progress(`leader killed at ${monotonicUs()} µs on the profiles' clock`);
    let downAfterKill = 0;
    await until("a new leader", 60_000, async () => ((await nodeList(survivor.sock)).some((n) => n.ManagerStatus?.Leader === true && n.Description.Hostname !== leaderName) ? true : undefined));
    out("orch_leader_failover_s", (performance.now() - tf) / 1000, "s");
    // Watched for a while after: a node the new leader gives up on is marked DOWN after its grace.
    const watchUntil = performance.now() + 45_000;
    await until("the watch after failover", 120_000, async () => {
      const nodes = (await nodeList(survivor.sock)).filter(alive);
      downAfterKill = Math.max(downAfterKill, nodes.filter((n) => n.Status.State === "down").length);
      return performance.now() > watchUntil ? true : undefined;
    }, 1_000);
    const svcs = await apiJson<ServiceView[]>(survivor.sock, "GET", "/services?status=true");
    out("orch_failover_nodes_down", downAfterKill, "nodes");
    out("orch_failover_running_after", svcs.reduce((a, s) => a + (s.ServiceStatus?.RunningTasks ?? 0), 0), "tasks");
    // More running than desired means a slot holds two live tasks (or a scale-down is still due):
    // name the first such services' doubled slots.
    const over = svcs.filter((s) => (s.ServiceStatus?.RunningTasks ?? 0) > (s.ServiceStatus?.DesiredTasks ?? 0));
    out("orch_failover_services_over_desired", over.length, "services");
    for (const s of over.slice(0, 3)) {
      const filters = encodeURIComponent(JSON.stringify({ service: [s.ID], "desired-state": ["running"] }));
      const tasks = await apiJson<TaskView[]>(survivor.sock, "GET", `/tasks?filters=${filters}`);
      const bySlot = new Map<number, TaskView[]>();
      for (const t of tasks) bySlot.set(t.Slot ?? 0, [...(bySlot.get(t.Slot ?? 0) ?? []), t]);
      const doubled = [...bySlot].filter(([, ts]) => ts.length > 1);
      progress(`service ${s.ID}: ${s.ServiceStatus?.RunningTasks} running of ${s.ServiceStatus?.DesiredTasks}; ${doubled.length} slots with several tasks, e.g. ${JSON.stringify(doubled.slice(0, 2).map(([slot, ts]) => ({ slot, tasks: ts.map((t) => ({ id: t.ID, node: t.NodeID, state: t.Status.State, created: t.CreatedAt })) })))}`);
    }
  } finally {
    // A run that failed (a phase timed out) still leaves its profiles.
    await stopForProfiles();
    cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${describeError(err)}\n`);
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    process.exit(1);
  },
);
