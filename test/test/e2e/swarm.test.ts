// The manager control plane end to end on the lab: 3 managers + 2 workers, each a network
// namespace running shoald, driven through the hosts' REST APIs, the shoal CLI and the stock
// docker CLI. The cases run in order on one lab and end with the destructive ones (lost quorum).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "@shoal/common";
import { LabError, apiCall, apiJson, waitForReadyNodes, type HostRecord, type Lab, type LabRecord } from "@shoal/lab";
import { SwarmLab } from "../../src/e2e/swarm-lab.js";

const REPO = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..", "..");
const SHOAL_BIN = join(REPO, "services", "cli", "bin", "shoal.js");
const PROBE = join(REPO, "test", "dist", "src", "e2e", "rpc-probe.js");
const DOCKER = ["/usr/local/bin/docker", "/usr/bin/docker"].find((p) => existsSync(p));

interface DockerNode {
  ID: string;
  Version: { Index: number };
  Spec: { Labels?: Record<string, string>; Role: string; Availability: string };
  Description: { Hostname: string };
  Status: { State: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

interface ClusterStatus {
  raftId: number;
  leaderRaftId: number;
  members: { raftId: number; nodeId: string; suffrage: string; leader: boolean }[];
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe("swarm on the lab: 3 managers + 2 workers", function () {
  this.timeout(600_000);
  let swarm: SwarmLab;
  let lab: Lab;
  let rec: LabRecord;
  const host = (name: string): HostRecord => swarm.host(name);
  const managers = (): HostRecord[] => swarm.managers();

  async function nodes(via: HostRecord): Promise<DockerNode[]> {
    return apiJson<DockerNode[]>(via.apiSocket, "GET", "/nodes");
  }

  async function nodeByHost(via: HostRecord, hostname: string): Promise<DockerNode> {
    const n = (await nodes(via)).find((x) => x.Description.Hostname === hostname);
    assert.ok(n, `node ${hostname} not listed by ${via.name}`);
    return n;
  }

  /**
   * A node's labels as `via` reads them once every key of `want` holds its value, or as they are
   * after timeoutMs: a member that was away catches up on the entries it missed. Catching up
   * includes learning the leader and reaching it: a manager just back from a partition refused a
   * read as leaderless (503, "an election is under way") once right after every manager had named
   * the new leader, and one refuses reads (503) until the leader confirms its store is current, so
   * such a refusal is retried until the deadline, and is the answer if it lasts.
   */
  async function labelsOnceCaughtUp(via: HostRecord, hostname: string, want: Record<string, string>, timeoutMs = 15_000): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    let labels: Record<string, string> = {};
    while (Date.now() < deadline) {
      try {
        labels = (await nodeByHost(via, hostname)).Spec.Labels ?? {};
      } catch (err) {
        const leaderless = err instanceof LabError && err.meta["status"] === 503 && /does not have a leader|could not confirm with the leader/.test(err.message);
        if (!leaderless || Date.now() + 100 >= deadline) throw err;
        await sleep(100);
        continue;
      }
      if (Object.entries(want).every(([k, v]) => labels[k] === v)) break;
      await sleep(100);
    }
    return labels;
  }

  const leaderHost = (among?: HostRecord[], timeoutMs?: number): Promise<HostRecord> => swarm.leaderHost(among, timeoutMs);

  /** Sets a label on a node through the given manager's API (a replicated write). */
  async function label(via: HostRecord, hostname: string, key: string, value: string): Promise<{ status: number; body: unknown }> {
    const n = await nodeByHost(via, hostname);
    const spec = { ...n.Spec, Labels: { ...(n.Spec.Labels ?? {}), [key]: value } };
    return apiCall(via.apiSocket, "POST", `/nodes/${n.ID}/update?version=${n.Version.Index}`, spec, 15_000);
  }

  async function labelOk(via: HostRecord, hostname: string, key: string, value: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await label(via, hostname, key, value);
      if (r.status === 200) return;
      // A concurrent heartbeat write may bump the node's version between read and write.
      if (r.status === 409 && attempt < 5) continue;
      assert.fail(`label ${key}=${value} via ${via.name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  }

  before(async () => {
    swarm = await SwarmLab.up({ managers: 3, workers: 2, shoald: { heartbeatMs: 500, logLevel: "debug" } });
    lab = swarm.lab;
    rec = swarm.rec;
  });

  after(async () => {
    await swarm?.down();
  });

  it("lists all five nodes READY with exactly one leader, through shoal node ls and docker node ls", async () => {
    const m1 = host("manager1");
    const listed = await nodes(m1);
    assert.equal(listed.length, 5);
    assert.ok(listed.every((n) => n.Status.State === "ready"), JSON.stringify(listed.map((n) => [n.Description.Hostname, n.Status.State])));
    assert.equal(listed.filter((n) => n.ManagerStatus?.Leader === true).length, 1);
    assert.deepEqual(listed.map((n) => n.Description.Hostname).sort(), ["manager1", "manager2", "manager3", "worker1", "worker2"]);

    const shoal = await run(process.execPath, [SHOAL_BIN, "node", "ls"], { SHOAL_HOST: `unix://${m1.apiSocket}` });
    assert.equal(shoal.code, 0, shoal.stderr);
    const rows = shoal.stdout.trim().split("\n").slice(1);
    assert.equal(rows.length, 5, shoal.stdout);
    assert.ok(rows.every((r) => /\bReady\b/.test(r)), shoal.stdout);
    assert.equal(rows.filter((r) => /\bLeader\b/.test(r)).length, 1, shoal.stdout);

    if (DOCKER !== undefined) {
      const docker = await run(DOCKER, ["node", "ls"], { DOCKER_HOST: `unix://${m1.apiSocket}` });
      assert.equal(docker.code, 0, docker.stderr);
      const drows = docker.stdout.trim().split("\n").slice(1);
      assert.equal(drows.length, 5, docker.stdout);
      assert.ok(drows.every((r) => /\bReady\b/.test(r)), docker.stdout);
      assert.equal(drows.filter((r) => /\bLeader\b/.test(r)).length, 1, docker.stdout);
    }
  });

  it("refuses docker swarm ca --rotate with the reason (there is no root CA rotation), and still takes an expiry update", async () => {
    assert.ok(DOCKER !== undefined, "no docker CLI (scripts/setup.sh installs one)");
    const env = { DOCKER_HOST: `unix://${host("manager1").apiSocket}` };
    const rotate = await run(DOCKER, ["swarm", "ca", "--rotate", "--detach"], env);
    assert.equal(rotate.code, 1, rotate.stdout + rotate.stderr);
    assert.match(rotate.stderr, /Error response from daemon: CAConfig\.ForceRotate is not supported: root CA rotation is not available yet/);
    const update = await run(DOCKER, ["swarm", "update", "--cert-expiry", "2160h"], env);
    assert.equal(update.code, 0, update.stderr);
    const info = await run(DOCKER, ["info", "--format", "{{json .Swarm.Cluster.Spec.CAConfig}}"], env);
    assert.deepEqual(JSON.parse(info.stdout), { NodeCertExpiry: 2160 * 3600 * 1e9 }, "the refused rotation stored nothing");
  });

  it("accepts writes through every manager (followers forward them to the leader)", async () => {
    for (const m of managers()) await labelOk(m, "worker1", `via.${m.name}`, "yes");
    const leader = await leaderHost();
    const w1 = await nodeByHost(leader, "worker1");
    for (const m of managers()) assert.equal(w1.Spec.Labels?.[`via.${m.name}`], "yes");
  });

  it("refuses a worker certificate on a manager-only RPC and lets a manager certificate through", async () => {
    const target = `${host("manager1").address}:2377`;
    const asWorker = await lab.exec("worker1", [process.execPath, PROBE, join(host("worker1").dir, "state"), target, "propose"], { timeoutMs: 30_000 });
    const w = JSON.parse(asWorker.stdout) as { ok: boolean; grpcStatus: number; message: string };
    assert.equal(w.ok, false);
    assert.equal(w.grpcStatus, 7, `expected PERMISSION_DENIED, got ${asWorker.stdout}`);
    assert.match(w.message, /permission denied|worker/i);
    // A manager's certificate passes authorization; the empty proposal is then refused as invalid.
    const asManager = await lab.exec("manager2", [process.execPath, PROBE, join(host("manager2").dir, "state"), target, "propose"], { timeoutMs: 30_000 });
    const m = JSON.parse(asManager.stdout) as { ok: boolean; grpcStatus: number };
    assert.notEqual(m.grpcStatus, 7, asManager.stdout);
    assert.notEqual(m.grpcStatus, 16, asManager.stdout);
  });

  it("refuses a wrong or rotated-away join token with a clear message", async () => {
    const m1 = host("manager1");
    const w2 = host("worker2");
    const left = await apiCall(w2.apiSocket, "POST", "/swarm/leave", undefined);
    assert.equal(left.status, 200, JSON.stringify(left.body));
    const join = (token: string) =>
      apiCall(w2.apiSocket, "POST", "/swarm/join", { ListenAddr: "0.0.0.0:2377", AdvertiseAddr: w2.address, RemoteAddrs: [`${m1.address}:2377`], JoinToken: token }, 30_000);

    const malformed = await join("not-a-token");
    assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
    assert.match(String((malformed.body as { message: string }).message), /join token/i);

    const swarm = await apiJson<{ Version: { Index: number }; Spec: unknown; JoinTokens: { Worker: string } }>(m1.apiSocket, "GET", "/swarm");
    const oldToken = swarm.JoinTokens.Worker;
    await apiJson(m1.apiSocket, "POST", `/swarm/update?version=${swarm.Version.Index}&rotateWorkerToken=true`, swarm.Spec);
    const fresh = await apiJson<{ JoinTokens: { Worker: string } }>(m1.apiSocket, "GET", "/swarm");
    assert.notEqual(fresh.JoinTokens.Worker, oldToken);

    const rotated = await join(oldToken);
    assert.equal(rotated.status, 400, JSON.stringify(rotated.body));
    assert.match(String((rotated.body as { message: string }).message), /invalid join token/i);
    const info = await apiJson<{ Swarm: { LocalNodeState: string } }>(w2.apiSocket, "GET", "/info");
    assert.equal(info.Swarm.LocalNodeState, "inactive", "a refused join leaves the node out of the swarm");

    const ok = await join(fresh.JoinTokens.Worker);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // The node that left is still listed (down) until removed: remove it.
    const stale = (await nodes(m1)).filter((n) => n.Description.Hostname === "worker2");
    assert.equal(stale.length, 2);
    const self = await apiJson<{ Swarm: { NodeID: string } }>(w2.apiSocket, "GET", "/info");
    for (const n of stale) if (n.ID !== self.Swarm.NodeID) await apiJson(m1.apiSocket, "DELETE", `/nodes/${n.ID}?force=1`);
    await waitForReadyNodes(rec, 5);
  });

  it("keeps a restarted node's identity", async () => {
    const w1 = host("worker1");
    const before = await apiJson<{ Swarm: { NodeID: string } }>(w1.apiSocket, "GET", "/info");
    await lab.kill("worker1");
    await lab.start("worker1");
    const deadline = Date.now() + 30_000;
    let after: { Swarm: { NodeID: string; LocalNodeState: string } } | undefined;
    while (Date.now() < deadline) {
      try {
        after = await apiJson(w1.apiSocket, "GET", "/info", undefined, 2_000);
        if (after?.Swarm.LocalNodeState === "active") break;
      } catch {
        // still starting
      }
      await sleep(200);
    }
    assert.equal(after?.Swarm.NodeID, before.Swarm.NodeID);
    assert.equal(after?.Swarm.LocalNodeState, "active");
    await waitForReadyNodes(rec, 5);
    assert.equal((await nodes(host("manager1"))).length, 5);
  });

  it("a manager restarted after seconds down answers its first read with the nodes, not 'no leader'", async () => {
    const lead = await leaderHost();
    const m = managers().find((h) => h !== lead)!;
    await lab.kill(m.name);
    // Down long enough for the leader's reconnect backoff to it to reach its longest (2 s).
    await sleep(4_000);
    await lab.start(m.name);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const ping = await apiCall(m.apiSocket, "GET", "/_ping", undefined, 1_000).catch(() => undefined);
      if (ping?.status === 200) break;
      await sleep(50);
    }
    const first = await apiCall(m.apiSocket, "GET", "/nodes", undefined, 15_000);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal((first.body as DockerNode[]).length, 5);
  });

  it("elects a new leader after the leader is SIGKILLed; writes go through the survivors; the old leader rejoins, agrees on the leader and has every write", async () => {
    const old = await leaderHost();
    const survivors = managers().filter((m) => m !== old);
    const t0 = Date.now();
    await lab.kill(old.name);
    const next = await leaderHost(survivors, 20_000);
    const elapsed = Date.now() - t0;
    assert.notEqual(next, old);
    process.stderr.write(`      (new leader ${next.name} after ${elapsed} ms)\n`);
    for (const m of survivors) await labelOk(m, "worker2", `after-failover.${m.name}`, "1");
    await lab.start(old.name);
    // All three agree on one leader again; PreVote keeps the returning member from disrupting the
    // new leader, but a load-induced election may still move leadership, so any agreed leader counts.
    const agreed = await leaderHost(managers(), 30_000);
    if (agreed !== next) process.stderr.write(`      (leadership moved again to ${agreed.name} after the restart)\n`);
    // A read on the old leader waits until the leader confirms its store holds every acknowledged
    // write, or is refused (503) while it cannot reach the leader yet: retried within a bound.
    const want = survivors.map((m) => `after-failover.${m.name}`);
    const labels = await labelsOnceCaughtUp(old, "worker2", Object.fromEntries(want.map((k) => [k, "1"])));
    for (const k of want) assert.equal(labels[k], "1", `acknowledged write ${k} missing on the old leader`);
  });

  it("a partitioned leader steps down, refuses reads and writes while it knows no leader, and healing loses no acknowledged write", async () => {
    const leader = await leaderHost();
    const majority = managers().filter((m) => m !== leader);
    const w1 = await nodeByHost(leader, "worker1");
    await lab.partition([leader.name]);
    try {
      const next = await leaderHost(majority, 20_000);
      const acknowledged: string[] = [];
      for (let i = 0; i < 5; i++) {
        await labelOk(next, "worker1", `partition.${i}`, "acked");
        acknowledged.push(`partition.${i}`);
      }
      // CheckQuorum: the cut-off leader notices it has no quorum and steps down.
      const deadline = Date.now() + 10_000;
      let view: ClusterStatus | undefined;
      while (Date.now() < deadline) {
        view = await apiJson<ClusterStatus>(leader.apiSocket, "GET", "/shoal/cluster");
        if (view.leaderRaftId !== view.raftId) break;
        await sleep(100);
      }
      assert.notEqual(view?.leaderRaftId, view?.raftId, "the partitioned leader still thinks it leads");
      // Its store misses the majority's writes: it shows none of it rather than a stale picture.
      const read = await apiCall(leader.apiSocket, "GET", "/nodes", undefined, 15_000);
      assert.equal(read.status, 503, JSON.stringify(read.body));
      assert.match(String((read.body as { message: string }).message), /^The swarm does not have a leader\. .*hears 1 of 3 managers \(2 needed\)/);
      const spec = { ...w1.Spec, Labels: { ...(w1.Spec.Labels ?? {}), "partition.minority": "x" } };
      const refused = await apiCall(leader.apiSocket, "POST", `/nodes/${w1.ID}/update?version=${w1.Version.Index}`, spec, 15_000);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      await lab.heal();
      const healed = await leaderHost(managers(), 30_000);
      assert.ok(majority.includes(healed));
      const labels = await labelsOnceCaughtUp(leader, "worker1", Object.fromEntries(acknowledged.map((k) => [k, "acked"])));
      for (const k of acknowledged) assert.equal(labels[k], "acked", `acknowledged write ${k} lost`);
      assert.equal(labels["partition.minority"], undefined, "a refused write must not appear");
    } finally {
      await lab.heal();
    }
  });

  it("without quorum (2 of 3 managers gone) writes fail promptly with 'no quorum' and reads are refused as leaderless; --force-new-cluster on the survivor brings back every object and shows the lost managers unreachable", async () => {
    const survivor = host("manager1");
    await labelOk(survivor, "worker1", "before-disaster", "kept");
    const w1 = await nodeByHost(survivor, "worker1");
    for (const m of managers()) if (m !== survivor) await lab.kill(m.name);
    const t0 = Date.now();
    const spec = { ...w1.Spec, Labels: { ...(w1.Spec.Labels ?? {}), "no-quorum": "x" } };
    const refused = await apiCall(survivor.apiSocket, "POST", `/nodes/${w1.ID}/update?version=${w1.Version.Index}`, spec, 15_000);
    const tookMs = Date.now() - t0;
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match(String((refused.body as { message: string }).message), /no quorum/i);
    assert.ok(tookMs < 15_000, `a write without quorum took ${tookMs} ms to fail`);
    // Reads: refused with docker's wording and the way out, through the API and the docker CLI;
    // /info answers, with the reason in Swarm.Error and no cluster.
    const read = await apiCall(survivor.apiSocket, "GET", "/nodes", undefined, 15_000);
    assert.equal(read.status, 503, JSON.stringify(read.body));
    assert.match(String((read.body as { message: string }).message), /^The swarm does not have a leader\. .*hears 1 of 3 managers \(2 needed\).*--force-new-cluster/);
    const info = await apiJson<{ Swarm: { Error: string; ControlAvailable: boolean; Cluster?: unknown } }>(survivor.apiSocket, "GET", "/info");
    assert.match(info.Swarm.Error, /^The swarm does not have a leader\./);
    assert.equal(info.Swarm.ControlAvailable, true);
    assert.equal(info.Swarm.Cluster, undefined);
    assert.match(String((await apiCall(survivor.apiSocket, "GET", "/metrics")).body), /^shoal_raft_has_leader 0$/m, "what an alert reads");
    if (DOCKER !== undefined) {
      const ls = await run(DOCKER, ["node", "ls"], { DOCKER_HOST: `unix://${survivor.apiSocket}` });
      assert.equal(ls.code, 1);
      assert.match(ls.stderr, /^Error response from daemon: The swarm does not have a leader\./);
    }

    const forced = await apiCall(survivor.apiSocket, "POST", "/swarm/init", { ListenAddr: "0.0.0.0:2377", AdvertiseAddr: `${survivor.address}:2377`, ForceNewCluster: true }, 60_000);
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    const deadline = Date.now() + 20_000;
    let st: ClusterStatus | undefined;
    while (Date.now() < deadline) {
      st = await apiJson<ClusterStatus>(survivor.apiSocket, "GET", "/shoal/cluster");
      if (st.leaderRaftId === st.raftId) break;
      await sleep(100);
    }
    assert.equal(st?.leaderRaftId, st?.raftId, "the survivor leads its one-member cluster");
    assert.equal(st?.members.filter((m) => m.suffrage === "voter").length, 1);
    const after = await nodes(survivor);
    assert.equal(after.length, 5, "every node object is back");
    assert.equal(after.find((n) => n.Description.Hostname === "worker1")?.Spec.Labels?.["before-disaster"], "kept");
    await labelOk(survivor, "worker1", "after-force-new-cluster", "yes");
    // The lost managers stay listed for 'node demote' and 'node rm', shown unreachable: their raft
    // ids are retired. (Before, they stayed "reachable" for good.)
    const until = Date.now() + 15_000;
    let lost: DockerNode[] = [];
    while (Date.now() < until) {
      lost = (await nodes(survivor)).filter((n) => n.Spec.Role === "manager" && n.Description.Hostname !== survivor.name);
      if (lost.length === 2 && lost.every((n) => n.ManagerStatus?.Reachability === "unreachable")) break;
      await sleep(200);
    }
    assert.deepEqual(lost.map((n) => n.ManagerStatus?.Reachability), ["unreachable", "unreachable"]);

    // A lost manager that comes back never saw its retirement: the survivor refuses its raft
    // messages as a removed member's, and it says so (leave and join again) rather than offer
    // recovery from its stale state.
    const back = managers().find((m) => m !== survivor)!;
    await lab.start(back.name);
    const until2 = Date.now() + 30_000;
    let error = "";
    while (Date.now() < until2) {
      try {
        error = (await apiJson<{ Swarm: { Error: string } }>(back.apiSocket, "GET", "/info", undefined, 2_000)).Swarm.Error;
      } catch {
        // still starting
      }
      if (/removed from the swarm's raft cluster/.test(error)) break;
      await sleep(200);
    }
    assert.match(error, /^this manager was removed from the swarm's raft cluster \(raft member \d+ refuses its messages\)\..*shoal swarm leave --force/);
    assert.match(String((await apiCall(back.apiSocket, "GET", "/metrics")).body), /^shoal_raft_removed 1$/m);
    const refusedRead = await apiCall(back.apiSocket, "GET", "/services", undefined, 15_000);
    assert.equal(refusedRead.status, 503);
    assert.doesNotMatch(String((refusedRead.body as { message: string }).message), /recover with/);
  });
});
