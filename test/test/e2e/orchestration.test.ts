// Orchestration end to end on the lab: 3 managers + 2 workers running shoald with the simulated
// executor (tasks "run" in memory; the runc runtime comes with its own issue), driven through the
// Docker-shaped REST API: placement and spread, rescheduling off a killed worker, new tasks after
// the leader is cut off by a partition, drain, a global service following a joining node, a rolling
// update in batches, an update the cluster rolls back (shoal exits 1), and a leader failover
// mid-update.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "@shoal/common";
import { apiCall, apiJson, waitForReadyNodes, type HostRecord, type Lab, type LabRecord } from "@shoal/lab";
import { SwarmLab } from "../../src/e2e/swarm-lab.js";

interface DockerTask {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string };
  Spec: { ContainerSpec?: { Image?: string } };
}

interface DockerNode {
  ID: string;
  Version: { Index: number };
  Spec: { Role: string; Availability: string; Labels?: Record<string, string> };
  Description: { Hostname: string };
  Status: { State: string };
}

interface DockerService {
  ID: string;
  Version: { Index: number };
  Spec: Record<string, unknown> & { TaskTemplate: { ContainerSpec: { Image: string } } };
  UpdateStatus?: { State?: string; Message?: string };
}

const DOCKER = ["/usr/local/bin/docker", "/usr/bin/docker"].find((p) => existsSync(p)) ?? "docker";
const SHOAL_BIN = join(resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..", ".."), "services", "cli", "bin", "shoal.js");

/** The shoal CLI against a manager's API socket, stdout and stderr apart. */
function shoalCli(socket: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [SHOAL_BIN, ...args], { env: { PATH: process.env["PATH"], SHOAL_HOST: `unix://${socket}` }, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The stock docker CLI against a manager's API socket; stdout and stderr together (its progress view writes to both). */
function docker(socket: string, configDir: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise) => {
    execFile(DOCKER, args, { env: { PATH: process.env["PATH"], DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: configDir }, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1;
      resolvePromise({ code, out: stdout + stderr });
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await sleep(100);
  }
}

describe("orchestration on the lab: 3 managers + 2 workers, simulated executor", function () {
  this.timeout(600_000);
  let swarm: SwarmLab;
  let lab: Lab;
  let rec: LabRecord;
  const host = (name: string): HostRecord => swarm.host(name);
  /** Any manager that answers (the first one may be down in a test). */
  const managerUp = async (): Promise<HostRecord> =>
    until("a manager that answers", 20_000, async () => {
      for (const m of rec.hosts.filter((h) => h.role === "manager")) {
        const r = await apiCall(m.apiSocket, "GET", "/_ping", undefined, 1_000).catch(() => undefined);
        if (r?.status === 200) return m;
      }
      return undefined;
    });
  const nodes = async (): Promise<DockerNode[]> => apiJson<DockerNode[]>((await managerUp()).apiSocket, "GET", "/nodes");
  /** A service's tasks, as `via` (default: any manager that answers) lists them. */
  const tasksOf = async (service: string, via?: HostRecord): Promise<DockerTask[]> =>
    apiJson<DockerTask[]>((via ?? (await managerUp())).apiSocket, "GET", `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`);
  const running = (ts: DockerTask[]): DockerTask[] => ts.filter((t) => t.DesiredState === "running" && t.Status.State === "running");
  const create = async (spec: Record<string, unknown>): Promise<string> => {
    const r = await apiJson<{ ID: string }>((await managerUp()).apiSocket, "POST", "/services/create", spec);
    return r.ID;
  };
  const remove = async (id: string): Promise<void> => {
    await apiJson((await managerUp()).apiSocket, "DELETE", `/services/${id}`);
  };
  const hostnameOf = async (): Promise<Map<string, string>> => new Map((await nodes()).map((n) => [n.ID, n.Description.Hostname]));
  /** The docker CLI's own config dir (no contexts or credentials of the machine's user leak in). */
  let dockerConfig: string | undefined;
  const dockerRun = async (...args: string[]): Promise<{ code: number; out: string }> => docker((await managerUp()).apiSocket, dockerConfig!, ...args);
  const dockerOk = async (...args: string[]): Promise<string> => {
    const r = await dockerRun(...args);
    assert.equal(r.code, 0, `docker ${args.join(" ")}: ${r.out}`);
    return r.out;
  };

  before(async () => {
    dockerConfig = mkdtempSync(join(tmpdir(), "shoal-e2e-docker-"));
    swarm = await SwarmLab.up({ managers: 3, workers: 2, shoald: { heartbeatMs: 1000, logLevel: "debug", extraArgs: ["--executor", "simulated"] } });
    lab = swarm.lab;
    rec = swarm.rec;
  });

  after(async () => {
    if (dockerConfig !== undefined) rmSync(dockerConfig, { recursive: true, force: true });
    await swarm?.down();
  });

  it("spreads a 6-replica service over all 5 nodes", async () => {
    const id = await create({ Name: "spread", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Replicated: { Replicas: 6 } } });
    const tasks = await until("6 running tasks", 60_000, async () => {
      const r = running(await tasksOf(id));
      return r.length === 6 ? r : undefined;
    });
    const perNode = new Map<string, number>();
    for (const t of tasks) perNode.set(t.NodeID ?? "", (perNode.get(t.NodeID ?? "") ?? 0) + 1);
    assert.equal(perNode.size, 5, `tasks per node: ${JSON.stringify([...perNode])}`);
    assert.deepEqual(tasks.map((t) => t.Slot).sort((a, b) => (a ?? 0) - (b ?? 0)), [1, 2, 3, 4, 5, 6]);
    await remove(id);
  });

  it("the stock docker CLI drives a service through create, update, rollback, scale and rm, with its progress view", async () => {
    const runningImages = async (): Promise<string[]> =>
      (await dockerOk("service", "ps", "dk", "--filter", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}"))
        .trim()
        .split("\n")
        .map((l) => l.split(" ").slice(0, 2).join(" "))
        .sort();

    // Without -d the CLI follows the service until it converges.
    const created = await dockerOk("service", "create", "--name", "dk", "--replicas", "4", "--update-parallelism", "2", "--update-monitor", "1s", "--rollback-monitor", "1s", "busybox:1.36");
    assert.match(created, /overall progress: 4 out of 4 tasks/);
    assert.match(created, /verify: Service \w+ converged/);
    assert.equal((await dockerOk("service", "ls", "--filter", "name=dk", "--format", "{{.Name}} {{.Replicas}} {{.Image}}")).trim(), "dk 4/4 busybox:1.36");
    assert.deepEqual(await runningImages(), Array(4).fill("busybox:1.36 Running"));

    const updated = await dockerOk("service", "update", "--image", "busybox:1.37", "dk");
    assert.match(updated, /verify: Service dk converged/);
    assert.deepEqual(await runningImages(), Array(4).fill("busybox:1.37 Running"));

    const rolledBack = await dockerOk("service", "rollback", "dk");
    assert.match(rolledBack, /rolling back update: 4 out of 4 tasks/);
    assert.match(rolledBack, /verify: Service dk converged/);
    assert.deepEqual(await runningImages(), Array(4).fill("busybox:1.36 Running"));

    assert.match(await dockerOk("service", "scale", "dk=2"), /verify: Service dk converged/);
    assert.deepEqual(await runningImages(), Array(2).fill("busybox:1.36 Running"));

    const logs = await dockerRun("service", "logs", "dk");
    assert.equal(logs.code, 1, logs.out);
    assert.match(logs.out, /Error response from daemon: logs are not available yet/);

    assert.equal((await dockerOk("service", "rm", "dk")).trim(), "dk");
    const gone = await dockerRun("service", "inspect", "dk");
    assert.equal(gone.code, 1);
    assert.match(gone.out, /no such service: dk/);
  });

  it("shoal service update whose new version fails is rolled back by the cluster, and the command says so and exits 1", async () => {
    const id = await create({
      Name: "sr",
      TaskTemplate: { ContainerSpec: { Image: "busybox:1.36" } },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, FailureAction: "rollback", Monitor: 2_000_000_000 },
      RollbackConfig: { Parallelism: 0, Monitor: 1_000_000_000 },
    });
    await until("3 running", 30_000, async () => (running(await tasksOf(id)).length === 3 ? true : undefined));
    // The new version's tasks exit 1 shortly after they start.
    const r = await shoalCli((await managerUp()).apiSocket, "service", "update", "--env-add", "SHOAL_SIM_RUN_MS=300", "--env-add", "SHOAL_SIM_EXIT_CODE=1", "sr");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^Error: service rolled back: update rolled back due to failure or early termination of task \w+\n$/);
    assert.match(r.stdout, /rollback: update rolled back due to failure/);
    assert.match(r.stdout, /verify: Service sr converged on its previous spec\n$/);
    const after = await apiJson<DockerService>((await managerUp()).apiSocket, "GET", `/services/${id}`);
    assert.equal(after.UpdateStatus?.State === "rollback_completed" || after.UpdateStatus?.State === "rollback_started", true, JSON.stringify(after.UpdateStatus));
    assert.equal(JSON.stringify(after.Spec.TaskTemplate.ContainerSpec).includes("SHOAL_SIM_EXIT_CODE"), false, "the spec is the previous one");
    assert.equal(running(await tasksOf(id)).length, 3);
    await remove(id);
  });

  it("the stock docker CLI follows a replicated job and a global job to completion", async () => {
    // The simulated tasks exit 0 after 300 ms: COMPLETE.
    const replicated = await dockerOk("service", "create", "--name", "batch", "--mode", "replicated-job", "--replicas", "4", "--max-concurrent", "2", "-e", "SHOAL_SIM_RUN_MS=300", "busybox");
    assert.match(replicated, /job complete/);
    const global = await dockerOk("service", "create", "--name", "once", "--mode", "global-job", "-e", "SHOAL_SIM_RUN_MS=300", "busybox");
    assert.match(global, /job complete/);
    const ls = await dockerOk("service", "ls", "--format", "{{.Name}} {{.Replicas}}");
    assert.match(ls, /^batch 0\/0 \(4\/4 completed\)$/m);
    assert.match(ls, /^once 0\/0 \(5\/5 completed\)$/m);
    await dockerOk("service", "rm", "batch", "once");
  });

  it("runs a killed worker's tasks elsewhere", async () => {
    const id = await create({ Name: "moves", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Replicated: { Replicas: 5 } } });
    await until("5 running", 60_000, async () => (running(await tasksOf(id)).length === 5 ? true : undefined));
    const names = await hostnameOf();
    // A worker that runs some of the tasks (5 tasks over 5 nodes: normally one each).
    const target = running(await tasksOf(id)).some((t) => names.get(t.NodeID ?? "") === "worker1") ? "worker1" : "worker2";
    const lost = running(await tasksOf(id)).filter((t) => names.get(t.NodeID ?? "") === target);
    assert.ok(lost.length > 0, `${target} runs none of the tasks`);
    await lab.kill(target);
    const t0 = Date.now();
    const after = await until(`5 running off ${target}`, 60_000, async () => {
      const r = running(await tasksOf(id)).filter((t) => names.get(t.NodeID ?? "") !== target);
      return r.length === 5 ? r : undefined;
    });
    process.stderr.write(`      (rescheduled ${lost.length} task(s) off ${target} in ${Date.now() - t0} ms)\n`);
    assert.equal(new Set(after.map((t) => t.Slot)).size, 5, "every slot has exactly one running task");
    await lab.start(target);
    await waitForReadyNodes(rec, 5, 60_000);
    await remove(id);
  });

  it("every node the partition left with the majority takes new tasks from the new leader", async () => {
    // An agent's assignment stream to a leader cut off by a partition neither ends nor fails:
    // nothing comes back from that leader, and the agent sends nothing on the stream for TCP to
    // notice. The agent must move it to wherever its heartbeat session moved.
    const leader = await swarm.leaderHost();
    const majority = swarm.managers().filter((m) => m !== leader);
    const names = await hostnameOf();
    await lab.partition([leader.name]);
    try {
      const next = await swarm.leaderHost(majority, 20_000);
      const t0 = Date.now();
      const { ID: id } = await apiJson<{ ID: string }>(next.apiSocket, "POST", "/services/create", { Name: "cutoff", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Global: {} } });
      await until("a running task on each of the 4 nodes with the majority", 60_000, async () => {
        const hosts = new Set(running(await tasksOf(id, next)).map((t) => names.get(t.NodeID ?? "")));
        return hosts.size === 4 && !hosts.has(leader.name) ? true : undefined;
      });
      process.stderr.write(`      (cut off the leader ${leader.name}; the new service ran on the other 4 nodes ${Date.now() - t0} ms after it was created)\n`);
      await lab.heal();
      await waitForReadyNodes(rec, 5, 60_000);
      await apiJson(next.apiSocket, "DELETE", `/services/${id}`);
    } finally {
      await lab.heal();
    }
  });

  it("moves tasks off a drained node at once (shoal node update --availability drain)", async () => {
    const id = await create({ Name: "drain", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Replicated: { Replicas: 5 } } });
    await until("5 running", 60_000, async () => (running(await tasksOf(id)).length === 5 ? true : undefined));
    const m = await managerUp();
    const w2 = (await nodes()).find((n) => n.Description.Hostname === "worker2");
    assert.ok(w2);
    const drained = await shoalCli(m.apiSocket, "node", "update", "--availability", "drain", "worker2");
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal(drained.stdout, "worker2\n");
    const moved = await until("5 running, none on worker2", 30_000, async () => {
      const r = running(await tasksOf(id));
      return r.length === 5 && r.every((t) => t.NodeID !== w2.ID) ? r : undefined;
    });
    assert.equal(moved.length, 5);
    assert.equal((await shoalCli(m.apiSocket, "node", "update", "--availability", "active", "worker2")).code, 0);
    assert.equal((await nodes()).find((n) => n.ID === w2.ID)?.Spec.Availability, "active");
    await remove(id);
  });

  it("runs a global service on every node, including one that joins later", async () => {
    const w2 = host("worker2");
    const m1 = await managerUp();
    const id = await create({ Name: "everywhere", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Global: {} } });
    await until("5 running", 60_000, async () => (running(await tasksOf(id)).length === 5 ? true : undefined));
    // worker2 leaves, its node is removed, and it joins again as a new node.
    const self = await apiJson<{ Swarm: { NodeID: string } }>(w2.apiSocket, "GET", "/info");
    await apiJson(w2.apiSocket, "POST", "/swarm/leave", undefined);
    await until("worker2 down", 30_000, async () => ((await nodes()).find((n) => n.ID === self.Swarm.NodeID)?.Status.State === "down" ? true : undefined));
    await apiJson(m1.apiSocket, "DELETE", `/nodes/${self.Swarm.NodeID}?force=1`);
    await until("4 running", 60_000, async () => (running(await tasksOf(id)).length === 4 ? true : undefined));
    const swarm = await apiJson<{ JoinTokens: { Worker: string } }>(m1.apiSocket, "GET", "/swarm");
    await apiJson(w2.apiSocket, "POST", "/swarm/join", { ListenAddr: "0.0.0.0:2377", AdvertiseAddr: w2.address, RemoteAddrs: [`${host("manager1").address}:2377`], JoinToken: swarm.JoinTokens.Worker });
    const again = await apiJson<{ Swarm: { NodeID: string } }>(w2.apiSocket, "GET", "/info");
    await until("a task on the rejoined worker2", 60_000, async () => {
      const r = running(await tasksOf(id));
      return r.length === 5 && r.some((t) => t.NodeID === again.Swarm.NodeID) ? true : undefined;
    });
    await remove(id);
  });

  it("rolls an update in batches of 2, and a leader failover mid-update neither loses nor duplicates slots", async () => {
    const id = await create({
      Name: "rolling",
      TaskTemplate: { ContainerSpec: { Image: "app:v1" } },
      Mode: { Replicated: { Replicas: 6 } },
      UpdateConfig: { Parallelism: 2, Delay: 2_000_000_000, Order: "stop-first", FailureAction: "pause", Monitor: 1_000_000_000 },
    });
    await until("6 running v1", 60_000, async () => (running(await tasksOf(id)).filter((t) => t.Spec.ContainerSpec?.Image === "app:v1").length === 6 ? true : undefined));
    const m = await managerUp();
    const svc = await apiJson<DockerService>(m.apiSocket, "GET", `/services/${id}`);
    const spec = { ...svc.Spec, TaskTemplate: { ...(svc.Spec.TaskTemplate as object), ContainerSpec: { ...svc.Spec.TaskTemplate.ContainerSpec, Image: "app:v2" } } };
    await apiJson(m.apiSocket, "POST", `/services/${id}/update?version=${svc.Version.Index}`, spec);

    // Watch the update: never more than 2 slots without a running task of either version (before
    // the kill).
    let maxDown = 0;
    let killed = false;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ts = await tasksOf(id).catch(() => undefined);
      if (ts !== undefined) {
        const up = new Set(running(ts).map((t) => t.Slot));
        // Until the kill (which takes the leader host's own tasks down with it), the updater alone
        // decides how many slots are down.
        if (!killed) maxDown = Math.max(maxDown, 6 - up.size);
        const v2 = running(ts).filter((t) => t.Spec.ContainerSpec?.Image === "app:v2");
        if (!killed && v2.length >= 2) {
          // Mid-update: kill the leader's host.
          const views = await Promise.all(
            rec.hosts.filter((h) => h.role === "manager").map(async (h) => ({ h, st: await apiJson<{ raftId: number; leaderRaftId: number }>(h.apiSocket, "GET", "/shoal/cluster", undefined, 1_000).catch(() => undefined) })),
          );
          const leader = views.find((v) => v.st !== undefined && v.st.raftId === v.st.leaderRaftId)?.h;
          if (leader !== undefined) {
            await lab.kill(leader.name);
            killed = true;
            process.stderr.write(`      (killed the leader ${leader.name} with ${v2.length} slots updated)\n`);
          }
        }
        if (v2.length === 6 && running(ts).length === 6) break;
      }
      if (Date.now() > deadline) assert.fail("the update did not finish within 180 s");
      await sleep(200);
    }
    assert.ok(killed, "the leader was not killed mid-update");
    assert.ok(maxDown <= 2, `up to ${maxDown} slots were down at once with parallelism 2`);
    const final = running(await tasksOf(id));
    assert.equal(final.length, 6);
    assert.deepEqual(final.map((t) => t.Slot).sort((a, b) => (a ?? 0) - (b ?? 0)), [1, 2, 3, 4, 5, 6], "each slot exactly once");
    // Completed once the last batch has passed its monitor window.
    const st = await until("the update completed", 60_000, async () => {
      const svc = await apiJson<DockerService>((await managerUp()).apiSocket, "GET", `/services/${id}`);
      return svc.UpdateStatus?.State === "completed" ? svc : undefined;
    });
    assert.equal(st.UpdateStatus?.State, "completed");
  });
});
