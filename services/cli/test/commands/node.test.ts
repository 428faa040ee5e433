import assert from "node:assert/strict";
import { FakeApi, shoal } from "../support/fake-api.js";
import { info, managerNode, SELF_ID, V, WORKER_ID, workerNode } from "../support/fixtures.js";

describe("shoal node", () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = await FakeApi.start();
    api.on("GET", `${V}/info`, { body: info() });
  });

  afterEach(async () => {
    await api.close();
  });

  describe("ls", () => {
    beforeEach(() => {
      // Out of order on purpose: the table is sorted by hostname.
      api.on("GET", `${V}/nodes`, { body: [workerNode({ ManagerStatus: { Leader: false, Reachability: "unreachable", Addr: "10.99.0.2:2377" } }), managerNode(), workerNode({ ID: "worker200000000000000000c", Description: { Hostname: "wrk10" }, Spec: { Availability: "drain", Role: "worker" }, Status: { State: "down" } })] });
    });

    it("prints docker's columns, marks this node with * and the leader as Leader", async () => {
      const r = await shoal(api, ["node", "ls"]);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      assert.deepEqual(api.calls(), [`GET ${V}/nodes`, `GET ${V}/info`]);
      assert.equal(
        r.stdout,
        [
          "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION",
          `${SELF_ID} *   mgr1       Ready     Active         Leader           0.1.0`,
          `${WORKER_ID}     wrk1       Ready     Active         Unreachable      0.1.0`,
          "worker200000000000000000c     wrk10      Down      Drain",
          "",
        ].join("\n"),
      );
    });

    it("-q prints only IDs and skips /info", async () => {
      const r = await shoal(api, ["node", "ls", "-q"]);
      assert.equal(r.stdout, `${SELF_ID}\n${WORKER_ID}\nworker200000000000000000c\n`);
      assert.deepEqual(api.calls(), [`GET ${V}/nodes`]);
    });

    it("--format json prints the rows as a JSON array", async () => {
      const r = await shoal(api, ["node", "ls", "--format", "json"]);
      const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
      assert.equal(rows.length, 3);
      assert.deepEqual(rows[0], { ID: SELF_ID, Self: true, Hostname: "mgr1", Status: "Ready", Availability: "Active", ManagerStatus: "Leader", EngineVersion: "0.1.0" });
      assert.equal(rows[1]!["Self"], false);
    });

    it("sends repeated --filter flags as docker's JSON filter map", async () => {
      await shoal(api, ["node", "ls", "-q", "--filter", "role=manager", "-f", "label=zone", "--filter", "role=worker"]);
      assert.equal(api.requests[0]!.query["filters"], JSON.stringify({ role: { manager: true, worker: true }, label: { zone: true } }));
      assert.equal(api.requests[0]!.rawQuery, `filters=${encodeURIComponent(JSON.stringify({ role: { manager: true, worker: true }, label: { zone: true } }))}`);
    });

    it("refuses an unknown filter key, and -q with --format json, with exit 2 and no request", async () => {
      const bad = await shoal(api, ["node", "ls", "--filter", "colour=red"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /unknown filter "colour"/);
      const both = await shoal(api, ["node", "ls", "-q", "--format", "json"]);
      assert.equal(both.code, 2);
      assert.equal(both.stderr, "Error: -q and --format json cannot be combined\n");
      assert.deepEqual(api.calls(), []);
    });

    it("prints only the header when there are no nodes", async () => {
      api.on("GET", `${V}/nodes`, { body: [] });
      const r = await shoal(api, ["node", "ls"]);
      assert.equal(r.stdout, "ID        HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n");
    });

    it("refuses a response of the wrong shape with one line and exit 1", async () => {
      api.on("GET", `${V}/nodes`, { body: { ID: "x" } });
      const r = await shoal(api, ["node", "ls"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: GET /nodes answered an object, expected a list\n");
    });
  });

  describe("inspect", () => {
    beforeEach(() => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode() }).on("GET", `${V}/nodes/${SELF_ID}`, { body: managerNode() });
    });

    it("prints a JSON array with 4-space indentation, resolving self through /info", async () => {
      const r = await shoal(api, ["node", "inspect", "self", "wrk1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls(), [`GET ${V}/info`, `GET ${V}/nodes/${SELF_ID}`, `GET ${V}/nodes/wrk1`]);
      assert.deepEqual(JSON.parse(r.stdout), [managerNode(), workerNode()]);
      assert.match(r.stdout, /^\[\n {4}\{\n {8}"ID": /);
      assert.equal((await shoal(api, ["node", "inspect", "--format", "json", "wrk1"])).stdout, `${JSON.stringify([workerNode()], null, 4)}\n`);
    });

    it("--pretty prints aligned fields", async () => {
      const r = await shoal(api, ["node", "inspect", "--pretty", "self"]);
      assert.equal(
        r.stdout,
        [
          `ID:              ${SELF_ID}`,
          "Hostname:        mgr1",
          "Joined at:       2026-11-28T04:15:41.919Z",
          "Role:            manager",
          "Status:",
          " State:         Ready",
          " Availability:  Active",
          " Address:       10.99.0.1",
          "Manager Status:",
          " Address:      10.99.0.1:2377",
          " Raft Status:  Reachable",
          " Leader:       Yes",
          "Platform:",
          " Operating System:  linux",
          " Architecture:      x86_64",
          "Resources:",
          " CPUs:    4",
          " Memory:  8GiB",
          "Engine Version:  0.1.0",
          "TLS Info:",
          " Issuer Subject:     MBMxETAPBgNVBAMTCHN3YXJtLWNh",
          " Issuer Public Key:  MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
          "",
        ].join("\n"),
      );
    });

    it("--pretty leaves out fields the API sent empty", async () => {
      api.on("GET", `${V}/nodes/bare`, { body: workerNode({ Description: { Hostname: "bare", Engine: { EngineVersion: "" }, TLSInfo: { CertIssuerSubject: "", CertIssuerPublicKey: "" } }, Status: { State: "ready", Message: "", Addr: "10.99.0.9" } }) });
      const r = await shoal(api, ["node", "inspect", "--pretty", "bare"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /TLS Info|Engine Version|Message/);
      assert.match(r.stdout, /^Labels:\n zone: {2}a$/m);
    });

    it("--pretty lists the engine's plugins by type, as docker does (the task runtime among them)", async () => {
      const plugins = [
        { Type: "Runtime", Name: "simulated" },
        { Type: "Log", Name: "json-file" },
        { Type: "Log", Name: "journald" },
      ];
      api.on("GET", `${V}/nodes/wrk9`, { body: workerNode({ Description: { Hostname: "wrk9", Engine: { EngineVersion: "0.1.0", Plugins: plugins } } }) });
      const r = await shoal(api, ["node", "inspect", "--pretty", "wrk9"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Plugins:\n Runtime: +simulated\n Log: +json-file, journald\nEngine Version: +0\.1\.0$/m);
    });

    it("prints the nodes found, then one error line per missing node, exit 1", async () => {
      api.on("GET", `${V}/nodes/nope`, { status: 404, body: { message: "node nope not found" } });
      const r = await shoal(api, ["node", "inspect", "nope", "wrk1"]);
      assert.equal(r.code, 1);
      assert.deepEqual(JSON.parse(r.stdout), [workerNode()]);
      assert.equal(r.stderr, "Error: node nope not found\n");
    });
  });

  describe("update", () => {
    it("reads the node, then posts its whole Spec with the change and the version read", async () => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode() }).on("POST", `${V}/nodes/${WORKER_ID}/update`, {});
      const r = await shoal(api, ["node", "update", "--availability", "drain", "wrk1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "wrk1\n");
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/wrk1`, `POST ${V}/nodes/${WORKER_ID}/update?version=19`]);
      assert.deepEqual(api.requests[1]!.body, { Labels: { zone: "a" }, Role: "worker", Availability: "drain" });
    });

    it("adds and removes labels and changes the role", async () => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode() }).on("POST", `${V}/nodes/${WORKER_ID}/update`, {});
      await shoal(api, ["node", "update", "--label-add", "disk=ssd", "--label-add", "gpu", "--label-rm", "zone", "--role", "manager", "wrk1"]);
      assert.deepEqual(api.requests[1]!.body, { Labels: { disk: "ssd", gpu: "" }, Role: "manager", Availability: "active" });
    });

    it("refuses to remove a label the node does not have, before posting", async () => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode() });
      const r = await shoal(api, ["node", "update", "--label-rm", "colour", "wrk1"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'Error: node wrk1 has no label "colour" to remove\n');
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/wrk1`]);
    });

    it("refuses no flags, a bad --role and a missing node argument with exit 2", async () => {
      assert.equal((await shoal(api, ["node", "update", "wrk1"])).code, 2);
      assert.equal((await shoal(api, ["node", "update", "--role", "boss", "wrk1"])).code, 2);
      const missing = await shoal(api, ["node", "update", "--role", "worker"]);
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr, "Error: missing required argument 'node'. See 'shoal node update --help'.\n");
      assert.deepEqual(api.calls(), []);
    });

    it("reports a stale version as one line, exit 1", async () => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode() }).on("GET", `${V}/nodes/${WORKER_ID}`, { body: workerNode() }).on("POST", `${V}/nodes/${WORKER_ID}/update`, { status: 409, body: { message: "update out of sequence" } });
      const r = await shoal(api, ["node", "update", "--availability", "pause", "wrk1"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: update out of sequence\n");
    });

    it("makes the edit again on a fresh read when only the node's status moved its version", async () => {
      let reads = 0;
      api
        .on("GET", `${V}/nodes/wrk1`, () => ({ body: workerNode(reads++ === 0 ? {} : { Version: { Index: 20 }, Status: { State: "ready", Addr: "10.99.0.9" } }) }))
        .on("GET", `${V}/nodes/${WORKER_ID}`, () => ({ body: workerNode({ Version: { Index: 20 }, Status: { State: "ready", Addr: "10.99.0.9" } }) }))
        .on("POST", `${V}/nodes/${WORKER_ID}/update`, (req) => (req.query.version === "19" ? { status: 409, body: { message: "update out of sequence" } } : {}));
      const r = await shoal(api, ["node", "update", "--label-add", "disk=ssd", "wrk1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/wrk1`, `POST ${V}/nodes/${WORKER_ID}/update?version=19`, `GET ${V}/nodes/${WORKER_ID}`, `POST ${V}/nodes/${WORKER_ID}/update?version=20`]);
      assert.deepEqual(api.requests[3]!.body, { Labels: { zone: "a", disk: "ssd" }, Role: "worker", Availability: "active" });
    });

    it("waits for the write behind a 409 to show in reads (the leader checks edits against its writes in flight), then makes the edit again", async () => {
      let reads = 0;
      api
        .on("GET", `${V}/nodes/wrk1`, { body: workerNode() })
        // The status write that moved the version is applied (and read) only on the third read.
        .on("GET", `${V}/nodes/${WORKER_ID}`, () => ({ body: workerNode(++reads < 3 ? {} : { Version: { Index: 20 } }) }))
        .on("POST", `${V}/nodes/${WORKER_ID}/update`, (req) => (req.query.version === "19" ? { status: 409, body: { message: "update out of sequence" } } : {}));
      const r = await shoal(api, ["node", "update", "--availability", "drain", "wrk1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "wrk1\n");
      const id = `${V}/nodes/${WORKER_ID}`;
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/wrk1`, `POST ${id}/update?version=19`, `GET ${id}`, `GET ${id}`, `GET ${id}`, `POST ${id}/update?version=20`]);
    });

    it("keeps the 409 when another edit changed the Spec since the read, and posts nothing more", async () => {
      api
        .on("GET", `${V}/nodes/wrk1`, { body: workerNode() })
        .on("GET", `${V}/nodes/${WORKER_ID}`, { body: workerNode({ Version: { Index: 20 }, Spec: { Labels: { zone: "b" }, Role: "worker", Availability: "active" } }) })
        .on("POST", `${V}/nodes/${WORKER_ID}/update`, { status: 409, body: { message: "update out of sequence" } });
      const r = await shoal(api, ["node", "update", "--availability", "drain", "wrk1"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: update out of sequence\n");
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/wrk1`, `POST ${V}/nodes/${WORKER_ID}/update?version=19`, `GET ${V}/nodes/${WORKER_ID}`]);
    });
  });

  describe("promote and demote", () => {
    it("demote right after a promotion took effect (the node's version moved, its Spec did not) demotes it", async () => {
      const manager = { Labels: {}, Role: "manager" as const, Availability: "active" as const };
      api
        .on("GET", `${V}/nodes/wrk1`, { body: workerNode({ Version: { Index: 20 }, Spec: manager }) })
        .on("GET", `${V}/nodes/${WORKER_ID}`, { body: workerNode({ Version: { Index: 21 }, Spec: manager, ManagerStatus: { Leader: false, Reachability: "reachable", Addr: "10.99.0.2:2377" } }) })
        .on("POST", `${V}/nodes/${WORKER_ID}/update`, (req) => (req.query.version === "20" ? { status: 409, body: { message: "update out of sequence" } } : {}));
      const r = await shoal(api, ["node", "demote", "wrk1"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Manager wrk1 demoted in the swarm.\n");
      assert.equal(api.requests[3]!.rawQuery, "version=21");
      assert.deepEqual(api.requests[3]!.body, { ...manager, Role: "worker" });
    });

    it("promote sends the read version with Role manager and keeps the rest of the Spec", async () => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode({ Spec: { Labels: {}, Role: "worker", Availability: "drain" } }) }).on("POST", `${V}/nodes/${WORKER_ID}/update`, {});
      const r = await shoal(api, ["node", "promote", "wrk1"]);
      assert.equal(r.stdout, "Node wrk1 promoted to a manager in the swarm.\n");
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/wrk1`, `POST ${V}/nodes/${WORKER_ID}/update?version=19`]);
      assert.deepEqual(api.requests[1]!.body, { Labels: {}, Role: "manager", Availability: "drain" });
    });

    it("demote sends the read version with Role worker", async () => {
      api.on("GET", `${V}/nodes/wrk1`, { body: workerNode({ Version: { Index: 20 }, Spec: { Labels: {}, Role: "manager", Availability: "drain" } }) }).on("POST", `${V}/nodes/${WORKER_ID}/update`, {});
      const r = await shoal(api, ["node", "demote", "wrk1"]);
      assert.equal(r.stdout, "Manager wrk1 demoted in the swarm.\n");
      assert.equal(api.requests[1]!.rawQuery, "version=20");
      assert.deepEqual(api.requests[1]!.body, { Labels: {}, Role: "worker", Availability: "drain" });
    });

    it("skips a node already in the role without updating it", async () => {
      api.on("GET", `${V}/nodes/mgr1`, { body: managerNode() });
      const r = await shoal(api, ["node", "promote", "mgr1"]);
      assert.equal(r.stdout, "Node mgr1 is already a manager.\n");
      assert.deepEqual(api.calls(), [`GET ${V}/nodes/mgr1`]);
    });

    it("reports the quorum guard's refusal", async () => {
      api.on("GET", `${V}/nodes/mgr1`, { body: managerNode() }).on("POST", `${V}/nodes/${SELF_ID}/update`, { status: 400, body: { message: "demoting the last manager of the cluster is not allowed" } });
      const r = await shoal(api, ["node", "demote", "mgr1"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: demoting the last manager of the cluster is not allowed\n");
    });
  });

  describe("rm", () => {
    it("deletes each node, with force=1 under --force, printing each name", async () => {
      api.on("DELETE", `${V}/nodes/wrk1`, {}).on("DELETE", `${V}/nodes/wrk2`, {});
      const r = await shoal(api, ["node", "rm", "--force", "wrk1", "wrk2"]);
      assert.equal(r.stdout, "wrk1\nwrk2\n");
      assert.deepEqual(api.calls(), [`DELETE ${V}/nodes/wrk1?force=1`, `DELETE ${V}/nodes/wrk2?force=1`]);
      await shoal(api, ["node", "rm", "wrk1"]);
      assert.equal(api.calls().at(-1), `DELETE ${V}/nodes/wrk1`);
    });

    it("goes on after a refusal and reports every refusal on its own line, exit 1", async () => {
      api
        .on("DELETE", `${V}/nodes/a`, { status: 400, body: { message: "node a is not down and can't be removed" } })
        .on("DELETE", `${V}/nodes/b`, {})
        .on("DELETE", `${V}/nodes/c`, { status: 404, body: { message: "node c not found" } });
      const r = await shoal(api, ["node", "rm", "a", "b", "c"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "b\n");
      assert.equal(r.stderr, "Error: node a is not down and can't be removed\nError: node c not found\n");
    });
  });
});
