// shoald's core in one process: four daemons on loopback (three managers and a worker) form a swarm
// through init and join, with real certificates, mTLS gRPC and raft on disk; then the leader stops
// and restarts from its state dir.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, freeLoopbackPorts, silentLogger, sleep } from "@shoal/common";
import { clusterSpecFromDocker, clusterSpecToDocker, type Manager } from "@shoal/manager";
import { NodeRole, NodeState, RestartCondition, TaskState, type Cluster, type Node, type Task } from "@shoal/store";
import { SNAPSHOT_FLOOR_BYTES } from "@shoal/raft";
import { Daemon } from "../src/index.js";

const logger = process.env["SHOAL_TEST_LOG"] === undefined ? silentLogger() : createLogger({ level: process.env["SHOAL_TEST_LOG"] });

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * An operator's node edit, as `shoal node update|promote|demote` makes it: read, edit the Spec,
 * write with the version read; when the managers moved the version by a status write alone (the
 * Spec unchanged), read again (the write may still be in flight: until it shows) and edit that.
 */
async function editNode(mgr: Pick<Manager, "updateNode">, read: () => Node | undefined, edit: (spec: Node["spec"]) => Node["spec"]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cur = read();
    assert.ok(cur);
    try {
      await mgr.updateNode(cur.id, cur.meta.version.index, edit(cur.spec));
      return;
    } catch (err) {
      if (attempt >= 5 || (err as { code?: string }).code !== "STORE_VERSION_CONFLICT") throw err;
      const fresh = await until("the conflicting write to show", 2_000, () => {
        const n = read();
        return n !== undefined && n.meta.version.index !== cur.meta.version.index ? n : undefined;
      });
      if (JSON.stringify(fresh.spec) !== JSON.stringify(cur.spec)) throw err;
    }
  }
}

describe("shoald in process: three managers and a worker on loopback", function () {
  this.timeout(120_000);
  let root: string;
  let ports: number[];
  const daemons = new Map<string, Daemon>();

  /** A daemon for `name`'s state dir, registered for cleanup but not started. */
  const make = (name: string): Daemon => {
    const d = new Daemon({ stateDir: join(root, name), hostname: name, heartbeatPeriodMs: 300, executor: "simulated" }, { logger });
    daemons.set(name, d);
    return d;
  };
  const start = async (name: string): Promise<Daemon> => {
    const d = make(name);
    await d.start();
    return d;
  };
  const get = (name: string): Daemon => {
    const d = daemons.get(name);
    assert.ok(d);
    return d;
  };
  const leaderName = (names: string[]): string | undefined =>
    names.find((n) => {
      const m = daemons.get(n)?.manager();
      return m !== undefined && m.clusterStatus().leaderRaftId === m.clusterStatus().raftId;
    });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "shoald-test-"));
    ports = await freeLoopbackPorts(4);
  });

  after(async () => {
    for (const d of daemons.values()) await d.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("forms a swarm: init, two managers and a worker join, every node READY", async () => {
    const m1 = await start("m1");
    const nodeId = await m1.init({ listenAddr: `127.0.0.1:${ports[0]}`, advertiseAddr: `127.0.0.1:${ports[0]}`, forceNewCluster: false, autoLockManagers: false });
    assert.equal(m1.info().nodeId, nodeId);
    const backend = m1.manager();
    assert.ok(backend);
    const swarm = backend.store.view((tx) => tx.find("cluster", { all: true })[0]);
    assert.ok(swarm?.rootCa);
    const remote = [`127.0.0.1:${ports[0]}`];
    for (const [i, name] of ["m2", "m3"].entries()) {
      const d = await start(name);
      const addr = `127.0.0.1:${ports[i + 1]}`;
      await d.join({ listenAddr: addr, advertiseAddr: addr, remoteAddrs: remote, joinToken: swarm.rootCa.joinTokens.manager });
      await until(`${name} a voter`, 20_000, () => (backend.clusterStatus().members.filter((m) => m.suffrage === "voter").length === i + 2 ? true : undefined));
    }
    const w1 = await start("w1");
    // A real port: promoted later, it must serve raft at the address it advertised.
    await w1.join({ listenAddr: `127.0.0.1:${ports[3]}`, advertiseAddr: "127.0.0.1", remoteAddrs: remote, joinToken: swarm.rootCa.joinTokens.worker });
    assert.equal(w1.info().controlAvailable, false);
    assert.equal(w1.manager(), undefined);
    const ready = await until("4 READY nodes", 20_000, () => {
      const all = backend.store.view((tx) => tx.find("node", { all: true }));
      return all.length === 4 && all.every((n) => n.status.state === NodeState.READY) ? all : undefined;
    });
    assert.equal(ready.filter((n) => n.role === NodeRole.MANAGER).length, 3);
    // Raft's members carry their nodes' hostnames (shoal cluster status shows them).
    assert.deepEqual(backend.clusterStatus().members.map((m) => m.hostname).sort(), ["m1", "m2", "m3"]);
    assert.deepEqual(ready.map((n) => n.description?.hostname).sort(), ["m1", "m2", "m3", "w1"]);

    // /metrics shows the store's write path: the leader proposed every write so far.
    const text = await m1.registry.metrics();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    const stats = backend.store.writeStats();
    assert.ok(stats.proposals >= 4, `proposals ${stats.proposals}`);
    assert.ok(value("shoal_store_proposals_total") >= stats.proposals);
    assert.ok(value("shoal_store_proposed_actions_total") >= value("shoal_store_proposals_total"));
    assert.ok(value("shoal_store_commit_wait_seconds_total") > 0);
    // The leader lets the lock go once its entry is appended (entries in flight overlap), so the
    // time it was held may be shorter than the time entries were in flight: both are counted.
    assert.ok(value("shoal_store_write_lock_held_seconds_total") > 0, "the write lock's time is counted");
    // The assignment streams' counts (no task yet) and their pace (a few nodes: never paced).
    assert.equal(value("shoal_dispatcher_assignment_changes_total"), 0);
    assert.ok(value("shoal_dispatcher_assignment_messages_total") >= 0);
    assert.equal(value("shoal_dispatcher_assignment_pace_seconds"), 0);
    assert.equal(value("shoal_dispatcher_status_reports_total"), 0);
    assert.equal(value("shoal_dispatcher_status_updates_total"), 0);
    // What an alert on a lost quorum or a retired manager reads.
    assert.equal(value("shoal_raft_has_leader"), 1);
    assert.equal(value("shoal_raft_removed"), 0);
    // Raft's silences, as the driver counts them (normally none here; a busy host may add some,
    // even between the reads: the scrape falls between the counts before and after it).
    const raft = (backend as Manager).rs.raft;
    const before = raft.silenceStats();
    const scraped = await m1.registry.metrics();
    const after = raft.silenceStats();
    const scrapedValue = (re: RegExp): number => Number(re.exec(scraped)?.[1]);
    const leaderCount = scrapedValue(/^shoal_raft_leader_silences_total (\S+)$/m);
    assert.ok(leaderCount >= before.leaderSilences && leaderCount <= after.leaderSilences, scraped);
    assert.ok(Number.isFinite(scrapedValue(/^shoal_raft_follower_silences_total (\S+)$/m)), scraped);
    const longest = scrapedValue(/^shoal_raft_longest_silence_seconds\{side="leader"\} (\S+)$/m);
    assert.ok(longest >= before.longestLeaderSilenceMs / 1000 && longest <= after.longestLeaderSilenceMs / 1000, scraped);
    // Snapshots: none yet in a cluster this small; the log since the last one grows with writes.
    const snap = raft.snapshotStats();
    assert.equal(scrapedValue(/^shoal_raft_snapshots_total (\S+)$/m), snap.taken, scraped);
    assert.equal(scrapedValue(/^shoal_raft_snapshot_threshold_bytes (\S+)$/m), SNAPSHOT_FLOOR_BYTES, scraped);
    assert.ok(scrapedValue(/^shoal_raft_log_bytes_since_snapshot (\S+)$/m) > 0, scraped);
    assert.ok(Number.isFinite(scrapedValue(/^shoal_raft_snapshot_bytes (\S+)$/m)), scraped);
  });

  it("applies the cluster's raft settings on every manager and refuses the ones it does not have", async () => {
    const backend = get("m1").manager() as Manager;
    const retention = (name: string): { snapshotEntries: number; compactKeepEntries: number } => (get(name).manager() as Manager).rs.raft.logRetention();
    const cluster = (): Cluster => backend.store.view((tx) => tx.find("cluster", { all: true })[0]!);
    const defaults = retention("m2");
    assert.deepEqual(defaults, { snapshotEntries: 10_000, compactKeepEntries: 1_000 });

    const c0 = cluster();
    await backend.updateCluster(c0.meta.version.index, { ...c0.spec, raft: { snapshotInterval: 500, logEntriesForSlowFollowers: 50 } }, { rotateWorkerToken: false, rotateManagerToken: false, rotateManagerUnlockKey: false });
    for (const name of ["m1", "m2", "m3"]) {
      await until(`${name} took the cluster's retention`, 10_000, () => (retention(name).snapshotEntries === 500 ? true : undefined));
      assert.deepEqual(retention(name), { snapshotEntries: 500, compactKeepEntries: 50 });
    }

    const flags = { rotateWorkerToken: false, rotateManagerToken: false, rotateManagerUnlockKey: false };
    for (const [raft, field] of [[{ electionTick: 20 }, "ElectionTick"], [{ heartbeatTick: 2 }, "HeartbeatTick"], [{ keepOldSnapshots: 3 }, "KeepOldSnapshots"]] as const) {
      const c = cluster();
      await assert.rejects(
        backend.updateCluster(c.meta.version.index, { ...c.spec, raft: { ...c.spec.raft, ...raft } }, flags),
        (err: Error & { code?: string }) => err.code === "CLUSTER_SPEC_UNSUPPORTED" && err.message.includes(`Raft.${field}`),
      );
      assert.equal(cluster().meta.version.index, c.meta.version.index, "a refused update writes nothing");
    }

    // Unset again: every manager goes back to its defaults.
    const c1 = cluster();
    await backend.updateCluster(c1.meta.version.index, { ...c1.spec, raft: {} }, flags);
    for (const name of ["m1", "m2", "m3"]) await until(`${name} back to its defaults`, 10_000, () => (retention(name).snapshotEntries === defaults.snapshotEntries ? true : undefined));
    assert.deepEqual(retention("m3"), defaults);
  });

  it("shows each setting the cluster spec leaves unset at the manager's value, and a spec sent back as read pins none of them", async () => {
    const backend = get("m1").manager() as Manager;
    const cluster = (): Cluster => backend.store.view((tx) => tx.find("cluster", { all: true })[0]!);
    const flags = { rotateWorkerToken: false, rotateManagerToken: false, rotateManagerUnlockKey: false };
    const defaults = backend.clusterSettingDefaults();
    // This daemon's --heartbeat-ms (300) and a manager's 8 election ticks, not Docker's numbers.
    assert.deepEqual(defaults, {
      taskHistoryRetentionLimit: 5,
      snapshotInterval: 10_000,
      logEntriesForSlowFollowers: 1_000,
      electionTick: 8,
      heartbeatTick: 1,
      heartbeatPeriodNs: 300e6,
      nodeCertExpiryNs: 90 * 24 * 3600e9,
    });
    const c0 = cluster();
    assert.equal(c0.spec.dispatcher?.heartbeatPeriodNs, undefined);
    const shown = clusterSpecToDocker(c0.spec, defaults);
    assert.deepEqual(shown.Orchestration, { TaskHistoryRetentionLimit: 5 });
    assert.deepEqual(shown.Raft, { SnapshotInterval: 10_000, LogEntriesForSlowFollowers: 1_000, ElectionTick: 8, HeartbeatTick: 1 });
    assert.deepEqual(shown.Dispatcher, { HeartbeatPeriod: 300e6 });
    assert.equal(shown.CAConfig?.NodeCertExpiry, 90 * 24 * 3600e9);

    // `docker swarm update --task-history-limit 3`: the spec as read, one field changed. The raft
    // ticks shown go back too, and must not be refused as a change.
    await backend.updateCluster(c0.meta.version.index, clusterSpecFromDocker({ ...shown, Orchestration: { TaskHistoryRetentionLimit: 3 } }), flags);
    const c1 = cluster();
    assert.equal(c1.spec.orchestration?.taskHistoryRetentionLimit, 3);
    assert.equal(c1.spec.dispatcher?.heartbeatPeriodNs, undefined, "the heartbeat period still follows --heartbeat-ms");
    assert.deepEqual(c1.spec.raft, {});
    assert.equal(c1.spec.caConfig?.nodeCertExpiryNs, undefined);
    assert.equal(clusterSpecToDocker(c1.spec, defaults).Orchestration?.TaskHistoryRetentionLimit, 3);

    // A value other than the one shown is the operator's: it is kept.
    const again = clusterSpecToDocker(c1.spec, defaults);
    await backend.updateCluster(c1.meta.version.index, clusterSpecFromDocker({ ...again, Orchestration: { TaskHistoryRetentionLimit: 5 }, Dispatcher: { HeartbeatPeriod: 400e6 } }), flags);
    const c2 = cluster();
    assert.equal(c2.spec.orchestration?.taskHistoryRetentionLimit, 5, "set before, so kept even at the default's value");
    assert.equal(c2.spec.dispatcher?.heartbeatPeriodNs, 400e6);
    await backend.updateCluster(c2.meta.version.index, { ...c2.spec, orchestration: {}, dispatcher: {} }, flags);
  });

  it("refuses --force-new-cluster on a manager of a working cluster, which would split the swarm, and changes nothing", async () => {
    const lead = await until("a leader", 10_000, () => leaderName(["m1", "m2", "m3"]));
    for (const name of ["m1", "m2", "m3"]) {
      const d = get(name);
      await assert.rejects(
        d.init({ listenAddr: "", advertiseAddr: "", forceNewCluster: true, autoLockManagers: false }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, "NODE_FORCE_REFUSED", `${name}: ${err.message}`);
          assert.match(err.message, /^refusing --force-new-cluster: the swarm has a working quorum \(leader m\d, [23] of 3 managers reachable\), and forcing a new cluster now would split it/);
          return true;
        },
      );
      const st = d.manager()!.clusterStatus();
      assert.equal(st.members.filter((m) => m.suffrage === "voter").length, 3, name);
    }
    assert.equal(leaderName(["m1", "m2", "m3"]), lead);
  });

  it("refuses a wrong join token with CA_TOKEN_REJECTED, says plainly when no manager answers, and leaves the node out of the swarm", async () => {
    const d = await start("bad");
    const swarm = get("m1").manager()?.store.view((tx) => tx.find("cluster", { all: true })[0]);
    assert.ok(swarm?.rootCa);
    const token = swarm.rootCa.joinTokens.worker.replace(/-[^-]+$/, "-0000000000000000000000000");
    await assert.rejects(
      d.join({ listenAddr: "127.0.0.1:0", advertiseAddr: "127.0.0.1", remoteAddrs: [`127.0.0.1:${ports[0]}`], joinToken: token }),
      (err: Error & { code?: string }) => err.code === "CA_TOKEN_REJECTED" && /invalid join token/.test(err.message),
    );
    assert.equal(d.info().localNodeState, "inactive");
    // No manager at the address: said plainly, with the system's reason.
    const [nobody] = await freeLoopbackPorts(1);
    await assert.rejects(
      d.join({ listenAddr: "127.0.0.1:0", advertiseAddr: "127.0.0.1", remoteAddrs: [`127.0.0.1:${nobody}`], joinToken: swarm.rootCa.joinTokens.worker }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "NODE_JOIN_FAILED");
        assert.equal(err.message, `could not reach a manager to join (connect ECONNREFUSED 127.0.0.1:${nobody}): check the address and port, and that the manager's shoald is running`);
        return true;
      },
    );
    assert.equal(d.info().localNodeState, "inactive");
  });

  it("survives the leader stopping: a new leader, writes through a follower, and the old leader rejoins with its identity", async () => {
    const names = ["m1", "m2", "m3"];
    const old = await until("a leader", 10_000, () => leaderName(names));
    const oldId = get(old).info().nodeId;
    await get(old).stop();
    daemons.delete(old);
    const rest = names.filter((n) => n !== old);
    const next = await until("a new leader", 20_000, () => leaderName(rest));
    const follower = rest.find((n) => n !== next);
    assert.ok(follower);
    const fm = get(follower).manager();
    assert.ok(fm);
    const readW1 = (): Node | undefined => fm.store.view((tx) => tx.find("node", { all: true })).find((n) => n.description?.hostname === "w1");
    // The new leader re-registers w1 (a write of the node) when its agent finds it: a label edit
    // that read the node before that is refused as out of sequence, and is made again on a fresh
    // read, as the CLI does.
    const w1 = readW1();
    assert.ok(w1);
    await editNode(fm, readW1, (spec) => ({ ...spec, annotations: { ...spec.annotations, labels: { zone: "a" } } }));
    // The follower hears only from the new leader; it shows the stopped manager unreachable and
    // the other two reachable, as the leader stored them.
    const reachable = (): Record<string, boolean> => Object.fromEntries(fm.clusterStatus().members.map((m) => [m.hostname, m.reachable]));
    await until("the follower to show the stopped manager unreachable", 20_000, () => (reachable()[old] === false ? true : undefined));
    assert.deepEqual(reachable(), { [old]: false, [next]: true, [follower]: true });
    const restarted = await start(old);
    assert.equal(restarted.info().nodeId, oldId);
    await until("the follower to show the restarted manager reachable", 20_000, () => (reachable()[old] === true ? true : undefined));
    const seen = await until("the old leader to catch up", 20_000, () => {
      const n = restarted.manager()?.store.view((tx) => tx.get("node", w1.id));
      return n?.spec.annotations.labels?.["zone"] === "a" ? n : undefined;
    });
    assert.ok(seen);
    assert.notEqual(leaderName([old]), old);
  });

  it("runs a replicated service: tasks allocated, spread across the nodes, and RUNNING on their agents", async () => {
    const lead = await until("a leader", 10_000, () => leaderName(["m1", "m2", "m3"]));
    const backend = get(lead).manager();
    assert.ok(backend);
    // The previous test restarted a manager: spread is judged over nodes that are all READY.
    await until("4 READY nodes", 20_000, () => {
      const all = backend.store.view((tx) => tx.find("node", { all: true }));
      return all.length === 4 && all.every((n) => n.status.state === NodeState.READY) ? true : undefined;
    });
    await backend.store.update((tx) =>
      tx.create("service", { id: "svcweb000000000000000000a", spec: { annotations: { name: "web" }, task: { container: { image: "busybox" } }, replicated: { replicas: 6 } } }),
    );
    const webTasks = (): Task[] => backend.store.view((tx) => tx.find("task", { serviceId: "svcweb000000000000000000a" }));
    const assigned = await until("6 running tasks", 20_000, () => {
      const tasks = webTasks();
      return tasks.length === 6 && tasks.every((t) => t.nodeId !== "" && t.status.state === TaskState.RUNNING) ? tasks : undefined;
    }).catch((err: unknown) => {
      // Where they stood, and who led: a timeout here once (in a whole CI run) said nothing more.
      const states = webTasks().map((t) => `${t.slot}:${TaskState[t.status.state]}@${t.nodeId || "-"} (${t.status.message})`);
      throw new Error(`${(err as Error).message}; tasks ${states.join(", ")}; leader now ${leaderName(["m1", "m2", "m3"]) ?? "none"}, was ${lead}`);
    });
    assert.deepEqual(assigned.map((t) => t.slot).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
    // Spread: 6 tasks over the 4 ready nodes, at most 2 on any.
    const perNode = new Map<string, number>();
    for (const t of assigned) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
    assert.equal(perNode.size, 4);
    assert.ok([...perNode.values()].every((c) => c <= 2));
    await backend.store.update((tx) => {
      const svc = tx.get("service", "svcweb000000000000000000a");
      if (svc !== undefined) tx.update("service", { ...svc, pendingDelete: true });
    });
  });

  it("reports a task that exits non-zero as FAILED with its exit code, and restarts it per the restart policy", async () => {
    const lead = await until("a leader", 10_000, () => leaderName(["m1", "m2", "m3"]));
    const backend = get(lead).manager();
    assert.ok(backend);
    const id = "svcfail00000000000000000a";
    await backend.store.update((tx) =>
      tx.create("service", {
        id,
        spec: {
          annotations: { name: "fails" },
          task: {
            container: { image: "busybox", env: ["SHOAL_SIM_RUN_MS=200", "SHOAL_SIM_EXIT_CODE=3"] },
            restart: { condition: RestartCondition.ON_FAILURE, delayNs: 100_000_000, maxAttempts: 1 },
          },
          replicated: { replicas: 1 },
        },
      }),
    );
    const failed = await until("two failed runs (the first and its one restart)", 30_000, () => {
      const ts = backend.store.view((tx) => tx.find("task", { serviceId: id })).filter((t) => t.status.state === TaskState.FAILED);
      return ts.length >= 2 ? ts : undefined;
    });
    for (const t of failed) {
      assert.equal(t.status.containerStatus?.exitCode, 3);
      assert.match(t.status.err ?? "", /exit/);
    }
    // maxAttempts 1: no third run.
    await sleep(1_000);
    const all = backend.store.view((tx) => tx.find("task", { serviceId: id }));
    assert.equal(all.filter((t) => t.desiredState === TaskState.RUNNING && t.status.state < TaskState.COMPLETE).length, 0);
    await backend.store.update((tx) => {
      const svc = tx.get("service", id);
      if (svc !== undefined) tx.update("service", { ...svc, pendingDelete: true });
    });
  });

  it("marks a stopped worker DOWN once its heartbeats stop, and READY again when it comes back", async () => {
    const backend = get(leaderName(["m1", "m2", "m3"]) ?? "m1").manager();
    assert.ok(backend);
    const w1Id = get("w1").info().nodeId;
    await until("w1 READY first", 20_000, () => (backend.store.view((tx) => tx.get("node", w1Id))?.status.state === NodeState.READY ? true : undefined));
    await get("w1").stop();
    daemons.delete("w1");
    await until("w1 DOWN", 20_000, () => (backend.store.view((tx) => tx.get("node", w1Id))?.status.state === NodeState.DOWN ? true : undefined));
    const back = await start("w1");
    assert.equal(back.info().nodeId, w1Id);
    await until("w1 READY", 20_000, () => (backend.store.view((tx) => tx.get("node", w1Id))?.status.state === NodeState.READY ? true : undefined));
  });

  it("promotes a worker to manager (a new raft voter), demotes it back to a worker, and removes it right after the demotion", async () => {
    const lead = await until("a leader", 10_000, () => leaderName(["m1", "m2", "m3"]));
    const backend = get(lead).manager();
    assert.ok(backend);
    const w1 = get("w1");
    const id = w1.info().nodeId;
    const readW1 = (): Node | undefined => backend.store.view((tx) => tx.get("node", id));
    // The managers write w1 on their own as well (its status, its promotion taking effect), so
    // each role change is made as the CLI makes it (editNode).
    await editNode(backend, readW1, (spec) => ({ ...spec, desiredRole: NodeRole.MANAGER }));
    await until("w1 a manager and voter", 30_000, () => (w1.manager() !== undefined && backend.clusterStatus().members.filter((m) => m.suffrage === "voter").length === 4 ? true : undefined));
    assert.equal(w1.info().controlAvailable, true);
    await editNode(backend, readW1, (spec) => ({ ...spec, desiredRole: NodeRole.WORKER }));
    // `node demote X && node rm --force X`: the removal waits for the demotion to leave raft
    // instead of refusing a manager the operator has just demoted.
    await backend.removeNode(id, true);
    assert.equal(backend.store.view((tx) => tx.get("node", id)), undefined);
    assert.equal(backend.clusterStatus().members.length, 3);
    await until("w1 out of the swarm", 30_000, () => (w1.manager() === undefined && w1.info().localNodeState === "inactive" ? true : undefined));
  });

  // Destroys the three-manager swarm (w1 already left it): the tests after it make their own daemons.
  it("restores from a copy of a stopped manager's state dir after every manager is lost (docs/OPERATIONS.md, Backup and restore)", async () => {
    const managers = ["m1", "m2", "m3"];
    const lead = await until("a leader", 10_000, () => leaderName(managers));
    const backend = get(lead).manager();
    assert.ok(backend);
    // The edits go to the leader's node object.
    const leadId = get(lead).info().nodeId;
    const readLead = (mgr: Pick<Manager, "store">) => (): Node | undefined => mgr.store.view((tx) => tx.get("node", leadId));
    const setLabel = (mgr: Pick<Manager, "store" | "updateNode">, key: string): Promise<void> =>
      editNode(mgr, readLead(mgr), (spec) => ({ ...spec, annotations: { ...spec.annotations, labels: { ...spec.annotations.labels, [key]: "yes" } } }));
    await setLabel(backend, "before-backup");

    // The backup: one follower stopped (the others serve on), its state dir copied, started again.
    const f = managers.find((n) => n !== lead)!;
    await until("the follower to hold the label", 10_000, () => (readLead(get(f).manager()!)()?.spec.annotations.labels?.["before-backup"] === "yes" ? true : undefined));
    await get(f).stop();
    daemons.delete(f);
    const backup = join(root, "backup");
    cpSync(join(root, f), backup, { recursive: true });
    await start(f);
    await setLabel(backend, "after-backup");

    // Every manager lost; the copy put back on the follower's machine (same address).
    for (const name of managers) {
      await get(name).stop();
      daemons.delete(name);
    }
    rmSync(join(root, f), { recursive: true, force: true });
    cpSync(backup, join(root, f), { recursive: true });
    const restored = await start(f);
    await restored.init({ listenAddr: "", advertiseAddr: "", forceNewCluster: true, autoLockManagers: false });
    const mgr = restored.manager();
    assert.ok(mgr);
    await until("the restored manager to lead", 10_000, () => (leaderName([f]) === f ? true : undefined));
    assert.deepEqual(mgr.clusterStatus().members.map((m) => m.suffrage), ["voter"]);
    // What the backup held is back, what came after it is not, and the swarm takes writes.
    const labels = readLead(mgr)()?.spec.annotations.labels ?? {};
    assert.equal(labels["before-backup"], "yes");
    assert.equal(labels["after-backup"], undefined);
    await setLabel(mgr, "restored");
    await until("the restored manager's node shown as the leader", 10_000, () =>
      mgr.store.view((tx) => tx.get("node", restored.info().nodeId))?.managerStatus?.leader === true ? true : undefined,
    );
  });

  it("keeps an autolocked manager locked after a restart until the right unlock key is given", async () => {
    const [port] = await freeLoopbackPorts(1);
    const solo = await start("solo");
    await solo.init({ listenAddr: `127.0.0.1:${port}`, advertiseAddr: `127.0.0.1:${port}`, forceNewCluster: false, autoLockManagers: true });
    const backend = solo.manager();
    assert.ok(backend);
    const key = await backend.unlockKey();
    assert.match(key, /^SHKEY-1-/);
    const self = backend.store.view((tx) => tx.get("node", solo.info().nodeId));
    assert.ok(self);
    await assert.rejects(backend.updateNode(self.id, self.meta.version.index, { ...self.spec, desiredRole: NodeRole.WORKER }), /last manager/);
    await solo.stop();
    daemons.delete("solo");
    const again = await start("solo");
    assert.equal(again.info().localNodeState, "locked");
    assert.equal(again.manager(), undefined);
    // Another key: one character in the middle changed (the last one carries unused bits).
    const wrong = key.slice(0, 20) + (key[20] === "A" ? "B" : "A") + key.slice(21);
    await assert.rejects(again.unlock(wrong), (err: Error & { code?: string }) => err.code === "CA_UNLOCK_KEY_WRONG");
    assert.equal(again.info().localNodeState, "locked");
    await again.unlock(key);
    assert.equal(again.info().localNodeState, "active");
    await until("the cluster object back", 10_000, () => again.manager()?.store.view((tx) => tx.find("cluster", { all: true })[0]));
  });

  it("reports a manager whose raft stopped on an entry it cannot apply as an error that says why, also after a restart", async () => {
    const [port] = await freeLoopbackPorts(1);
    const lone = await start("lone");
    await lone.init({ listenAddr: `127.0.0.1:${port}`, advertiseAddr: `127.0.0.1:${port}`, forceNewCluster: false, autoLockManagers: false });
    const mgr = lone.manager() as Manager | undefined;
    assert.ok(mgr);
    // An entry as a newer shoald would write it (a store format this version does not read).
    const newer = new TextEncoder().encode(JSON.stringify({ v: 9, actions: [] }));
    await assert.rejects(mgr.rs.raft.propose(newer), /RAFT_STOPPED|raft stopped/);
    const why = /store actions of format 9, which this version of shoald does not read .*upgrade this manager/;
    await until("the node in error", 10_000, () => (lone.info().localNodeState === "error" ? true : undefined));
    assert.match(lone.info().error, why);
    assert.equal(lone.manager(), undefined);
    await lone.stop();
    daemons.delete("lone");
    // The restart's replay stops on the entry, so start() rejects; shoald's main then serves the
    // API anyway, and /info says why.
    const again = make("lone");
    await assert.rejects(again.start(), why);
    assert.equal(again.info().localNodeState, "error");
    assert.match(again.info().error, why);
    assert.equal(again.manager(), undefined);
  });
});
