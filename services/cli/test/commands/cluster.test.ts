import assert from "node:assert/strict";
import { FakeApi, shoal } from "../support/fake-api.js";
import { clusterStatus, SELF_ID, WORKER_ID } from "../support/fixtures.js";

describe("shoal cluster status", () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = await FakeApi.start();
  });

  afterEach(async () => {
    await api.close();
  });

  it("asks the native /shoal/cluster (no version prefix) and prints a header and the member table", async () => {
    api.on("GET", "/shoal/cluster", { body: clusterStatus() });
    const r = await shoal(api, ["cluster", "status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(api.calls(), ["GET /shoal/cluster"]);
    assert.equal(
      r.stdout,
      [
        "Cluster ID:     clusterid000000000000000c",
        `Leader:         raft 1 (node ${SELF_ID} mgr1 at 10.99.0.1:2377)`,
        "Term:           7",
        "Commit index:   120",
        "Applied index:  118",
        "",
        "RAFT ID   NODE                        HOSTNAME   ADDRESS          ROLE       REACHABLE   MATCH INDEX   LAG",
        `1 *       ${SELF_ID}   mgr1       10.99.0.1:2377   leader     yes         120           0`,
        `2         ${WORKER_ID}   mgr2       10.99.0.2:2377   follower   yes         119           1`,
        // A member whose node the server did not name (an older server leaves hostnames out).
        "3         node3000000000000000000cc              10.99.0.3:2377   learner    no          90            30",
        "",
      ].join("\n"),
    );
  });

  it("works out the lag when the server leaves it out", async () => {
    const s = clusterStatus();
    s.members = s.members.map((m) => ({ ...m, lag: undefined }));
    api.on("GET", "/shoal/cluster", { body: s });
    const r = await shoal(api, ["cluster", "status"]);
    assert.match(r.stdout, /^3 +node3\S+ +10\.99\.0\.3:2377 +learner +no +90 +30$/m);
    assert.match(r.stdout, /^2 +\S+ +mgr2 +10\.99\.0\.2:2377 +follower +yes +119 +1$/m);
  });

  it("on a follower, or a manager that knows no leader, shows match index and lag only for itself", async () => {
    // As a follower answers (raft 2): only the leader tracks the others, so they are unknown here.
    const s = clusterStatus();
    s.raftId = 2;
    s.appliedIndex = 118;
    s.members = s.members.map((m) => (m.raftId === 2 ? { ...m, matchIndex: 118, lag: 2 } : { ...m, matchIndex: 0, lag: null }));
    api.on("GET", "/shoal/cluster", { body: s });
    let r = await shoal(api, ["cluster", "status"]);
    assert.match(r.stdout, /^1 +\S+ +mgr1 +10\.99\.0\.1:2377 +leader +yes +- +-$/m);
    assert.match(r.stdout, /^2 \* +\S+ +mgr2 +10\.99\.0\.2:2377 +follower +yes +118 +2$/m);
    assert.match(r.stdout, /^3 +node3\S+ +10\.99\.0\.3:2377 +learner +no +- +-$/m);

    // No leader known, from a server that sent 0 and no lag for the others (before lag null).
    s.leaderRaftId = 0;
    s.members = s.members.map((m) => ({ ...m, leader: false, lag: undefined }));
    api.on("GET", "/shoal/cluster", { body: s });
    r = await shoal(api, ["cluster", "status"]);
    assert.match(r.stdout, /^Leader: +none \(an election is running or there is no quorum\)$/m);
    assert.match(r.stdout, /^1 +\S+ +mgr1 +10\.99\.0\.1:2377 +follower +yes +- +-$/m);
    assert.match(r.stdout, /^2 \* +\S+ +mgr2 +10\.99\.0\.2:2377 +follower +yes +118 +2$/m);
  });

  it("--format json prints the status object as the API gave it", async () => {
    api.on("GET", "/shoal/cluster", { body: clusterStatus() });
    const r = await shoal(api, ["cluster", "status", "--format", "json"]);
    assert.deepEqual(JSON.parse(r.stdout), clusterStatus());
  });

  it("reports a follower's refusal as one line", async () => {
    api.on("GET", "/shoal/cluster", { status: 503, body: { message: "This node is not a swarm manager." } });
    const r = await shoal(api, ["cluster", "status"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "Error: This node is not a swarm manager.\n");
  });
});
