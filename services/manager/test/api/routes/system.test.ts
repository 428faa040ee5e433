import assert from "node:assert/strict";
import type { DockerSwarmInfo } from "../../../src/api/index.js";
import { noLeaderError } from "../../../src/replication/index.js";
import { CLUSTER_ID, MGR_ID, WRK_ID } from "../fake-backend.js";
import { useHarness } from "../helpers.js";

interface InfoBody {
  Name: string;
  NCPU: number;
  MemTotal: number;
  OSType: string;
  Architecture: string;
  ServerVersion: string;
  Swarm: DockerSwarmInfo;
}

describe("api routes: /version and /info", () => {
  const h = useHarness();

  it("GET /version answers Docker's shape with API 1.50 and minimum 1.24", async () => {
    const res = await h().call("GET", "/v1.50/version");
    assert.equal(res.statusCode, 200);
    const v = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(v["ApiVersion"], "1.50");
    assert.equal(v["MinAPIVersion"], "1.24");
    assert.equal(v["Version"], "0.1.0");
    assert.equal(v["Os"], "linux");
    assert.equal(v["Arch"], "x86_64");
    assert.equal(v["KernelVersion"], "6.18.0");
    assert.deepEqual((v["Components"] as { Name: string; Version: string }[]).map((c) => [c.Name, c.Version]), [["Shoal", "0.1.0"]]);
  });

  it("GET /info on a manager has the engine facts, the swarm section, the cluster and node counts", async () => {
    const info = JSON.parse((await h().call("GET", "/info")).body) as InfoBody;
    assert.equal(info.Name, "mgr1");
    assert.equal(info.NCPU, 4);
    assert.equal(info.MemTotal, 8 * 1024 ** 3);
    assert.equal(info.OSType, "linux");
    assert.equal(info.Architecture, "x86_64");
    assert.equal(info.ServerVersion, "0.1.0");
    assert.equal(info.Swarm.NodeID, MGR_ID);
    assert.equal(info.Swarm.NodeAddr, "127.0.0.1");
    assert.equal(info.Swarm.LocalNodeState, "active");
    assert.equal(info.Swarm.ControlAvailable, true);
    assert.deepEqual(info.Swarm.RemoteManagers, [{ NodeID: MGR_ID, Addr: "127.0.0.1:2377" }]);
    assert.equal(info.Swarm.Nodes, 3);
    assert.equal(info.Swarm.Managers, 1);
    assert.equal(info.Swarm.Cluster?.ID, CLUSTER_ID);
    assert.equal(info.Swarm.Cluster?.Spec.Name, "default");
    assert.deepEqual(info.Swarm.Cluster?.DefaultAddrPool, ["10.0.0.0/8"]);
    assert.equal(info.Swarm.Cluster?.SubnetSize, 24);
    assert.equal(info.Swarm.Cluster?.DataPathPort, 4789);
  });

  it("GET /info on a worker has the swarm section without cluster, nodes or managers", async () => {
    h().backend.setState("worker");
    const info = JSON.parse((await h().call("GET", "/info")).body) as InfoBody;
    assert.equal(info.Swarm.LocalNodeState, "active");
    assert.equal(info.Swarm.ControlAvailable, false);
    assert.equal(info.Swarm.NodeID, MGR_ID);
    assert.equal(info.Swarm.Cluster, undefined);
    assert.equal(info.Swarm.Nodes, undefined);
    assert.equal(info.Swarm.Managers, undefined);
  });

  it("GET /info on an inactive node says inactive with empty IDs", async () => {
    h().backend.setState("inactive");
    const res = await h().call("GET", "/info");
    assert.equal(res.statusCode, 200);
    const info = JSON.parse(res.body) as InfoBody;
    assert.equal(info.Swarm.LocalNodeState, "inactive");
    assert.equal(info.Swarm.NodeID, "");
    assert.equal(info.Swarm.ControlAvailable, false);
    assert.equal(info.Swarm.RemoteManagers, null);
    assert.equal(info.Swarm.Cluster, undefined);
  });

  it("a manager that knows no leader refuses reads of cluster state (503, why and what to do); /info says so in Swarm.Error, /shoal/cluster still answers", async () => {
    h().backend.noLeader = noLeaderError(1, 3);
    for (const url of ["/nodes", `/nodes/${WRK_ID}`, "/services", "/services/nosuch", "/tasks", "/tasks/nosuch", "/swarm", "/swarm/unlockkey"]) {
      const res = await h().call("GET", url);
      assert.equal(res.statusCode, 503, url);
      const message = (JSON.parse(res.body) as { message: string }).message;
      assert.match(message, /^The swarm does not have a leader\. It's possible that too few managers are online\./, url);
      assert.match(message, /hears 1 of 3 managers \(2 needed\).*shoal swarm init --force-new-cluster/, url);
    }
    const info = JSON.parse((await h().call("GET", "/info")).body) as InfoBody;
    assert.equal(info.Swarm.LocalNodeState, "active");
    assert.equal(info.Swarm.ControlAvailable, true);
    assert.match(info.Swarm.Error, /^The swarm does not have a leader/);
    assert.equal(info.Swarm.Cluster, undefined);
    assert.equal(info.Swarm.Nodes, undefined);
    assert.equal((await h().call("GET", "/shoal/cluster")).statusCode, 200);

    // An election with a majority in hearing says to retry, not to recover.
    h().backend.noLeader = noLeaderError(3, 3);
    const during = (JSON.parse((await h().call("GET", "/nodes")).body) as { message: string }).message;
    assert.match(during, /hears 3 of 3 managers \(2 needed\): an election is under way, try again in a few seconds/);
    assert.doesNotMatch(during, /force-new-cluster/);

    h().backend.noLeader = undefined;
    assert.equal((await h().call("GET", "/nodes")).statusCode, 200);
    assert.equal(JSON.parse((await h().call("GET", "/info")).body).Swarm.Error, "");
  });
});
