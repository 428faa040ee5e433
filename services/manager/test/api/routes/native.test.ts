import assert from "node:assert/strict";
import { MGR_ID } from "../fake-backend.js";
import { messageOf, useHarness } from "../helpers.js";

describe("api routes: /shoal/cluster and /metrics", () => {
  const h = useHarness();

  it("GET /shoal/cluster answers the raft status with each member's lag behind the commit index", async () => {
    h().backend.raft = {
      ...h().backend.raft,
      commitIndex: 100,
      members: [
        { raftId: 1, nodeId: MGR_ID, hostname: "mgr1", addr: "10.0.0.1:2377", suffrage: "voter", leader: true, reachable: true, matchIndex: 100 },
        { raftId: 2, nodeId: "m2", hostname: "mgr2", addr: "10.0.0.2:2377", suffrage: "voter", leader: false, reachable: true, matchIndex: 93 },
        { raftId: 3, nodeId: "m3", hostname: "", addr: "10.0.0.3:2377", suffrage: "learner", leader: false, reachable: false, matchIndex: 0 },
      ],
    };
    const res = await h().call("GET", "/shoal/cluster");
    assert.equal(res.statusCode, 200);
    const body = JSON.parse(res.body) as { leaderRaftId: number; commitIndex: number; members: { raftId: number; hostname: string; lag: number; suffrage: string }[] };
    assert.equal(body.leaderRaftId, 1);
    assert.equal(body.commitIndex, 100);
    assert.deepEqual(body.members.map((m) => [m.raftId, m.hostname, m.suffrage, m.lag]), [[1, "mgr1", "voter", 0], [2, "mgr2", "voter", 7], [3, "", "learner", 100]]);
  });

  it("GET /shoal/cluster on a follower leaves the other members' lag unknown (null): only the leader tracks them", async () => {
    h().backend.raft = {
      ...h().backend.raft,
      raftId: 2,
      leaderRaftId: 1,
      commitIndex: 100,
      appliedIndex: 98,
      members: [
        { raftId: 1, nodeId: "m1", hostname: "mgr1", addr: "10.0.0.1:2377", suffrage: "voter", leader: true, reachable: true, matchIndex: 0 },
        { raftId: 2, nodeId: MGR_ID, hostname: "mgr2", addr: "10.0.0.2:2377", suffrage: "voter", leader: false, reachable: true, matchIndex: 98 },
        { raftId: 3, nodeId: "m3", hostname: "mgr3", addr: "10.0.0.3:2377", suffrage: "voter", leader: false, reachable: true, matchIndex: 0 },
      ],
    };
    const body = JSON.parse((await h().call("GET", "/shoal/cluster")).body) as { members: { raftId: number; lag: number | null }[] };
    assert.deepEqual(body.members.map((m) => [m.raftId, m.lag]), [[1, null], [2, 2], [3, null]]);
  });

  it("GET /shoal/cluster on a worker answers 503 not a swarm manager", async () => {
    h().backend.setState("worker");
    const res = await h().call("GET", "/shoal/cluster");
    assert.equal(res.statusCode, 503);
    assert.match(messageOf(res), /^This node is not a swarm manager\./);
  });

  it("GET /metrics answers the backend's Prometheus text with its content type", async () => {
    const res = await h().call("GET", "/metrics");
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^shoal_up 1$/m);
  });
});
