// The stock docker CLI (28.2, preinstalled here and on CI) against the API over a unix socket: it
// proves the response shapes, which the CLI decodes strictly.
import assert from "node:assert/strict";
import { MGR_ID, WRK2_ID, WRK_ID } from "./fake-backend.js";
import { useDockerCli } from "./docker-cli-harness.js";

describe("api with the docker CLI", () => {
  const cli = useDockerCli();
  const docker = cli.docker;

  it("docker info shows the swarm as an active manager with the cluster's settings", async () => {
    const r = await docker("info");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Swarm: active/);
    assert.match(r.stdout, new RegExp(`NodeID: ${MGR_ID}`));
    assert.match(r.stdout, /Is Manager: true/);
    assert.match(r.stdout, /Managers: 1\n\s+Nodes: 3/);
    assert.match(r.stdout, /Election Tick: 10/);
    assert.match(r.stdout, /Name: mgr1/);
  });

  it("docker node ls lists the nodes, marks self and the leader", async () => {
    const r = await docker("node", "ls");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION$/);
    assert.match(r.stdout, new RegExp(`${MGR_ID} \\*\\s+mgr1\\s+Ready\\s+Active\\s+Leader\\s+0\\.1\\.0`));
    assert.match(r.stdout, new RegExp(`${WRK_ID}\\s+wrk1\\s+Ready\\s+Active\\s+0\\.1\\.0`));
    assert.match(r.stdout, new RegExp(`${WRK2_ID}\\s+wrk2\\s+Ready\\s+Drain\\s+0\\.1\\.0`));
  });

  it("docker node inspect self answers the node as JSON", async () => {
    const r = await docker("node", "inspect", "self");
    assert.equal(r.code, 0, r.stderr);
    const [node] = JSON.parse(r.stdout) as { ID: string; Spec: { Role: string }; ManagerStatus: { Leader: boolean; Addr: string } }[];
    assert.equal(node?.ID, MGR_ID);
    assert.equal(node?.Spec.Role, "manager");
    assert.deepEqual(node?.ManagerStatus, { Leader: true, Reachability: "reachable", Addr: "127.0.0.1:2377" });
  });

  it("docker swarm join-token worker prints the join command from the token and the manager address", async () => {
    const r = await docker("swarm", "join-token", "worker");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /docker swarm join --token SHTKN-1-digest-workersecret 127\.0\.0\.1:2377/);
  });

  it("docker node update --availability reaches the backend, and errors print the daemon's message", async () => {
    const ok = await docker("node", "update", "--availability", "pause", "wrk1");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match((await docker("node", "ls")).stdout, /wrk1\s+Ready\s+Pause/);
    const refused = await docker("node", "rm", "wrk2");
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim(), `Error response from daemon: node ${WRK2_ID} is not down and can't be removed`);
  });

  it("docker swarm init sends a body the API accepts and prints the worker join command", async () => {
    const r = await docker("swarm", "init", "--advertise-addr", "127.0.0.1");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Swarm initialized: current node \\(${MGR_ID}\\) is now a manager`));
    assert.match(r.stdout, /docker swarm join --token SHTKN-1-digest-workersecret 127\.0\.0\.1:2377/);
    const init = cli.backend().calls.find((c) => c.op === "init");
    assert.ok(init?.op === "init");
    assert.equal(init.req.advertiseAddr, "127.0.0.1");
  });

  it("docker swarm update --autolock sends the whole spec back and prints the unlock key", async () => {
    cli.backend().unlockKeyValue = "SWMKEY-1-testkey";
    const r = await docker("swarm", "update", "--autolock");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Swarm updated\./);
    assert.match(r.stdout, /SWMKEY-1-testkey/);
    const update = cli.backend().calls.find((c) => c.op === "updateCluster");
    assert.ok(update?.op === "updateCluster");
    assert.equal(update.spec.encryptionConfig?.autoLockManagers, true);
    assert.equal(update.spec.raft?.electionTick, 10, "the spec read is sent back whole");
  });
});
