import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { FakeApi, shoal } from "../support/fake-api.js";
import { info, managerNode, MANAGER_TOKEN, SELF_ID, swarm, swarmSpec, UNLOCK_KEY, V, WORKER_TOKEN } from "../support/fixtures.js";

const UNLOCK_TEXT = [
  "To unlock a swarm manager after it restarts, run the `shoal swarm unlock`",
  "command and provide the following key:",
  "",
  `    ${UNLOCK_KEY}`,
  "",
  "Remember to store this key in a password manager, since without it you",
  "will not be able to restart the manager.",
];

describe("shoal swarm", () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = await FakeApi.start();
  });

  afterEach(async () => {
    await api.close();
  });

  describe("init", () => {
    beforeEach(() => {
      api
        .on("POST", `${V}/swarm/init`, { body: SELF_ID })
        .on("GET", `${V}/nodes/${SELF_ID}`, { body: managerNode() })
        .on("GET", `${V}/swarm`, { body: swarm() })
        .on("GET", `${V}/swarm/unlockkey`, { body: { UnlockKey: UNLOCK_KEY } });
    });

    it("sends docker's init body and prints the worker join command built from the join token and the manager address", async () => {
      const r = await shoal(api, ["swarm", "init"]);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      assert.deepEqual(api.calls(), [`POST ${V}/swarm/init`, `GET ${V}/nodes/${SELF_ID}`, `GET ${V}/swarm`]);
      assert.equal(api.requests[0]!.contentType, "application/json");
      assert.deepEqual(api.requests[0]!.body, {
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: "",
        DataPathAddr: "",
        DataPathPort: 0,
        ForceNewCluster: false,
        Spec: {
          Labels: null,
          Orchestration: {},
          Raft: { ElectionTick: 0, HeartbeatTick: 0 },
          Dispatcher: {},
          CAConfig: {},
          TaskDefaults: {},
          EncryptionConfig: { AutoLockManagers: false },
        },
        AutoLockManagers: false,
        Availability: "",
        DefaultAddrPool: [],
        SubnetSize: 24,
      });
      assert.equal(
        r.stdout,
        [
          `Swarm initialized: current node (${SELF_ID}) is now a manager.`,
          "",
          "To add a worker to this swarm, run the following command:",
          "",
          `    shoal swarm join --token ${WORKER_TOKEN} 10.99.0.1:2377`,
          "",
          "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.",
          "",
        ].join("\n"),
      );
    });

    it("puts the flags into the body and prints the unlock key with --autolock", async () => {
      const r = await shoal(api, [
        "swarm", "init", "--autolock", "--advertise-addr", "10.99.0.1", "--listen-addr", "10.99.0.1:2377",
        "--availability", "drain", "--force-new-cluster", "--cert-expiry", "90d", "--task-history-limit", "3",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const body = api.requests[0]!.body as Record<string, unknown>;
      assert.equal(body["ListenAddr"], "10.99.0.1:2377");
      assert.equal(body["AdvertiseAddr"], "10.99.0.1");
      assert.equal(body["Availability"], "drain");
      assert.equal(body["ForceNewCluster"], true);
      assert.equal(body["AutoLockManagers"], true);
      const spec = body["Spec"] as Record<string, unknown>;
      assert.deepEqual(spec["CAConfig"], { NodeCertExpiry: 7_776_000_000_000_000 });
      assert.deepEqual(spec["Orchestration"], { TaskHistoryRetentionLimit: 3 });
      assert.deepEqual(spec["EncryptionConfig"], { AutoLockManagers: true });
      assert.equal(api.calls().at(-1), `GET ${V}/swarm/unlockkey`);
      assert.ok(r.stdout.endsWith(`instructions.\n\n${UNLOCK_TEXT.join("\n")}\n`), r.stdout);
    });

    it("refuses a bad --cert-expiry with exit 2, naming the flag, before any request", async () => {
      const r = await shoal(api, ["swarm", "init", "--cert-expiry", "90x"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^Error: option '--cert-expiry <duration>' argument '90x' is invalid\..*See 'shoal swarm init --help'\.\n$/);
      assert.deepEqual(api.calls(), []);
    });

    it("refuses an --availability outside active, pause, drain with exit 2", async () => {
      const r = await shoal(api, ["swarm", "init", "--availability", "sleepy"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^Error: option '--availability <state>' argument 'sleepy' is invalid\. Allowed choices are active, pause, drain\. See/);
    });

    it("still succeeds, pointing at join-token, when the new manager cannot describe itself yet", async () => {
      api.on("GET", `${V}/nodes/${SELF_ID}`, { status: 503, body: { message: "raft not ready" } });
      const r = await shoal(api, ["swarm", "init"]);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, /\nTo add a worker to this swarm, run 'shoal swarm join-token worker' and follow the instructions\.\n/);
    });

    it("reports the API's refusal as one line and exit 1", async () => {
      api.on("POST", `${V}/swarm/init`, { status: 503, body: { message: "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one." } });
      const r = await shoal(api, ["swarm", "init"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, 'Error: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.\n');
    });
  });

  describe("join", () => {
    it("sends the token and the manager address, then asks /info which role it joined as", async () => {
      api.on("POST", `${V}/swarm/join`, {}).on("GET", `${V}/info`, { body: info("active", { ControlAvailable: false }) });
      const r = await shoal(api, ["swarm", "join", "--token", WORKER_TOKEN, "--advertise-addr", "10.99.0.2", "10.99.0.1:2377"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls(), [`POST ${V}/swarm/join`, `GET ${V}/info`]);
      assert.deepEqual(api.requests[0]!.body, {
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: "10.99.0.2",
        DataPathAddr: "",
        RemoteAddrs: ["10.99.0.1:2377"],
        JoinToken: WORKER_TOKEN,
        Availability: "",
      });
      assert.equal(r.stdout, "This node joined a swarm as a worker.\n");
    });

    it("says manager when the joined node has control available", async () => {
      api.on("POST", `${V}/swarm/join`, {}).on("GET", `${V}/info`, { body: info("active", { ControlAvailable: true }) });
      const r = await shoal(api, ["swarm", "join", "--token", MANAGER_TOKEN, "10.99.0.1:2377"]);
      assert.equal(r.stdout, "This node joined a swarm as a manager.\n");
    });

    it("needs --token (exit 2)", async () => {
      const r = await shoal(api, ["swarm", "join", "10.99.0.1:2377"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^Error: required option '--token <token>' not specified\. See 'shoal swarm join --help'\.\n$/);
    });

    it("refuses a manager address without a port (exit 2)", async () => {
      const r = await shoal(api, ["swarm", "join", "--token", "t", "10.99.0.1"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /expected host:port/);
      assert.deepEqual(api.calls(), []);
    });
  });

  describe("join-token", () => {
    beforeEach(() => {
      api
        .on("GET", `${V}/swarm`, { body: swarm() })
        .on("GET", `${V}/info`, { body: info() })
        .on("GET", `${V}/nodes/${SELF_ID}`, { body: managerNode() })
        .on("POST", `${V}/swarm/update`, {});
    });

    it("prints the worker join command with this manager's address", async () => {
      const r = await shoal(api, ["swarm", "join-token", "worker"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls(), [`GET ${V}/swarm`, `GET ${V}/info`, `GET ${V}/nodes/${SELF_ID}`]);
      assert.equal(r.stdout, `To add a worker to this swarm, run the following command:\n\n    shoal swarm join --token ${WORKER_TOKEN} 10.99.0.1:2377\n`);
    });

    it("-q prints only the manager token", async () => {
      const r = await shoal(api, ["swarm", "join-token", "-q", "manager"]);
      assert.equal(r.stdout, `${MANAGER_TOKEN}\n`);
      assert.deepEqual(api.calls(), [`GET ${V}/swarm`]);
    });

    it("--rotate sends the whole Spec back with the version read and only the worker rotation set", async () => {
      const r = await shoal(api, ["swarm", "join-token", "--rotate", "worker"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls().slice(0, 3), [
        `GET ${V}/swarm`,
        `POST ${V}/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=11`,
        `GET ${V}/swarm`,
      ]);
      assert.deepEqual(api.requests[1]!.body, swarmSpec());
      assert.match(r.stdout, /^Successfully rotated worker join token\.\n\nTo add a worker to this swarm/);
    });

    it("--rotate manager sets only the manager rotation", async () => {
      await shoal(api, ["swarm", "join-token", "--rotate", "-q", "manager"]);
      assert.equal(api.requests[1]!.rawQuery, "rotateManagerToken=true&rotateManagerUnlockKey=false&rotateWorkerToken=false&version=11");
    });

    it("refuses a role other than worker or manager (exit 2)", async () => {
      const r = await shoal(api, ["swarm", "join-token", "boss"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Allowed choices are worker, manager/);
    });
  });

  describe("leave", () => {
    it("posts /swarm/leave, with force=1 only under --force", async () => {
      api.on("POST", `${V}/swarm/leave`, {});
      assert.equal((await shoal(api, ["swarm", "leave"])).stdout, "Node left the swarm.\n");
      await shoal(api, ["swarm", "leave", "--force"]);
      assert.deepEqual(api.calls(), [`POST ${V}/swarm/leave`, `POST ${V}/swarm/leave?force=1`]);
    });
  });

  describe("inspect", () => {
    const full = (): ReturnType<typeof swarm> =>
      swarm({ CreatedAt: "2026-11-30T01:16:32.137Z", UpdatedAt: "2026-11-30T01:20:00.5Z", RootRotationInProgress: false, DefaultAddrPool: ["10.0.0.0/8"], SubnetSize: 24, DataPathPort: 4789 });

    it("prints the swarm as JSON without its join tokens", async () => {
      api.on("GET", `${V}/swarm`, { body: full() });
      const r = await shoal(api, ["swarm", "inspect"]);
      assert.equal(r.code, 0, r.stderr);
      const { JoinTokens: _tokens, ...want } = full();
      assert.deepEqual(JSON.parse(r.stdout), want);
      assert.doesNotMatch(r.stdout, new RegExp(`${WORKER_TOKEN}|${MANAGER_TOKEN}`));
    });

    it("--pretty prints the settings in docker info's words, durations short", async () => {
      api.on("GET", `${V}/swarm`, { body: full() });
      const r = await shoal(api, ["swarm", "inspect", "--pretty"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          "ID:                         clusterid000000000000000c",
          "Created at:                 2026-11-30T01:16:32.137Z",
          "Updated at:                 2026-11-30T01:20:00.5Z",
          "Orchestration:",
          " Task History Retention Limit:  5",
          "Raft:",
          " Snapshot Interval:                  10000",
          " Number of Old Snapshots to Retain:  0",
          " Log Entries for Slow Followers:     500",
          " Heartbeat Tick:                     1",
          " Election Tick:                      10",
          "Dispatcher:",
          " Heartbeat Period:  5s",
          "CA Configuration:",
          " Expiry Duration:  90d",
          "Autolock Managers:          false",
          "Root Rotation In Progress:  false",
          "Default Address Pool:       10.0.0.0/8",
          "Subnet Size:                24",
          "Data Path Port:             4789",
          "",
        ].join("\n"),
      );
    });

    it("--pretty leaves out a block whose settings the server did not send", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm({ Spec: { Name: "default", Orchestration: {}, Raft: {}, Dispatcher: {}, CAConfig: {} } }) });
      const r = await shoal(api, ["swarm", "inspect", "--pretty"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "ID:                 clusterid000000000000000c\nAutolock Managers:  false\n");
    });
  });

  describe("update", () => {
    beforeEach(() => {
      api.on("GET", `${V}/swarm/unlockkey`, { body: { UnlockKey: UNLOCK_KEY } }).on("POST", `${V}/swarm/update`, {});
    });

    it("--autolock turns autolock on in the Spec read, sends its version and prints the new unlock key", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm({ Version: { Index: 14 } }) });
      const r = await shoal(api, ["swarm", "update", "--autolock"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls(), [
        `GET ${V}/swarm`,
        `POST ${V}/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=false&version=14`,
        `GET ${V}/swarm/unlockkey`,
      ]);
      assert.deepEqual(api.requests[1]!.body, swarmSpec(true));
      assert.equal(r.stdout, `Swarm updated.\n${UNLOCK_TEXT.join("\n")}\n`);
    });

    it("never prints a blank unlock key when the API reports none", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm() }).on("GET", `${V}/swarm/unlockkey`, { body: { UnlockKey: "" } });
      const r = await shoal(api, ["swarm", "update", "--autolock=true"]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, "Swarm updated.\nAutolock is on, but the API reported no unlock key: run 'shoal swarm unlock-key' to see it.\n");
    });

    it("--autolock=false turns it off and prints no key", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm({ Spec: swarmSpec(true) }) });
      const r = await shoal(api, ["swarm", "update", "--autolock=false"]);
      assert.equal(r.stdout, "Swarm updated.\n");
      assert.deepEqual(api.requests[1]!.body, swarmSpec(false));
      assert.equal(api.calls().length, 2);
    });

    it("changes only the fields named by flags, durations in nanoseconds", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm() });
      const r = await shoal(api, ["swarm", "update", "--cert-expiry", "2160h", "--task-history-limit", "10", "--dispatcher-heartbeat", "500ms", "--snapshot-interval", "2000"]);
      assert.equal(r.code, 0, r.stderr);
      const want = swarmSpec();
      want.CAConfig = { NodeCertExpiry: 7_776_000_000_000_000 };
      want.Orchestration = { TaskHistoryRetentionLimit: 10 };
      want.Dispatcher = { HeartbeatPeriod: 500_000_000 };
      want.Raft = { ...want.Raft, SnapshotInterval: 2000 };
      assert.deepEqual(api.requests[1]!.body, want);
    });

    it("refuses to run without a flag (exit 2)", async () => {
      const r = await shoal(api, ["swarm", "update"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^Error: nothing to update/);
      assert.deepEqual(api.calls(), []);
    });

    it("refuses a bad --dispatcher-heartbeat with exit 2 naming the flag", async () => {
      const r = await shoal(api, ["swarm", "update", "--dispatcher-heartbeat", "5"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^Error: option '--dispatcher-heartbeat <duration>' argument '5' is invalid\. missing unit/);
      assert.equal(r.stderr.split("\n").length, 2);
    });

    it("reports a stale version as the API's one-line message", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm() }).on("POST", `${V}/swarm/update`, { status: 409, body: { message: "update out of sequence" } });
      const r = await shoal(api, ["swarm", "update", "--task-history-limit", "1"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: update out of sequence\n");
    });
  });

  describe("unlock", () => {
    it("reads the key from stdin and posts it after checking the node is locked", async () => {
      api.on("GET", `${V}/info`, { body: info("locked") }).on("POST", `${V}/swarm/unlock`, {});
      const r = await shoal(api, ["swarm", "unlock"], { stdin: Readable.from([`${UNLOCK_KEY}\n`]) });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.calls(), [`GET ${V}/info`, `POST ${V}/swarm/unlock`]);
      assert.deepEqual(api.requests[1]!.body, { UnlockKey: UNLOCK_KEY });
      assert.equal(r.stdout, "");
    });

    it("prompts on a terminal and does not echo the key", async () => {
      api.on("GET", `${V}/info`, { body: info("locked") }).on("POST", `${V}/swarm/unlock`, {});
      const modes: boolean[] = [];
      const tty = Object.assign(new Readable({ read() {} }), { isTTY: true, setRawMode: (m: boolean) => modes.push(m) });
      const pending = shoal(api, ["swarm", "unlock"], { stdin: tty });
      // Typed one key at a time, with a typo fixed by backspace.
      setTimeout(() => {
        for (const ch of [...`${UNLOCK_KEY}x`, "\u007f", "\r"]) tty.push(ch);
      }, 20);
      const r = await pending;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "Please enter unlock key: \n");
      assert.deepEqual(modes, [true, false]);
      assert.deepEqual(api.requests[1]!.body, { UnlockKey: UNLOCK_KEY });
    });

    it("takes --key for scripts", async () => {
      api.on("GET", `${V}/info`, { body: info("locked") }).on("POST", `${V}/swarm/unlock`, {});
      await shoal(api, ["swarm", "unlock", "--key", "k1"]);
      assert.deepEqual(api.requests[1]!.body, { UnlockKey: "k1" });
    });

    it("says so and sends nothing when the swarm is not locked (exit 1)", async () => {
      api.on("GET", `${V}/info`, { body: info("active") });
      const r = await shoal(api, ["swarm", "unlock", "--key", "k1"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: swarm is not locked\n");
      assert.deepEqual(api.calls(), [`GET ${V}/info`]);
    });

    it("reports a wrong key as the API's message", async () => {
      api.on("GET", `${V}/info`, { body: info("locked") }).on("POST", `${V}/swarm/unlock`, { status: 400, body: { message: "invalid key" } });
      const r = await shoal(api, ["swarm", "unlock"], { stdin: Readable.from(["nope\n"]) });
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: invalid key\n");
    });
  });

  describe("unlock-key", () => {
    it("prints the key with instructions, or alone with -q", async () => {
      api.on("GET", `${V}/swarm/unlockkey`, { body: { UnlockKey: UNLOCK_KEY } });
      assert.equal((await shoal(api, ["swarm", "unlock-key"])).stdout, `${UNLOCK_TEXT.join("\n")}\n`);
      assert.equal((await shoal(api, ["swarm", "unlock-key", "-q"])).stdout, `${UNLOCK_KEY}\n`);
    });

    it("--rotate asks for a new unlock key with the version read", async () => {
      api
        .on("GET", `${V}/swarm`, { body: swarm({ Spec: swarmSpec(true), Version: { Index: 16 } }) })
        .on("POST", `${V}/swarm/update`, {})
        .on("GET", `${V}/swarm/unlockkey`, { body: { UnlockKey: UNLOCK_KEY } });
      const r = await shoal(api, ["swarm", "unlock-key", "--rotate"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(api.requests[1]!.rawQuery, "rotateManagerToken=false&rotateManagerUnlockKey=true&rotateWorkerToken=false&version=16");
      assert.deepEqual(api.requests[1]!.body, swarmSpec(true));
      assert.match(r.stdout, /^Successfully rotated manager unlock key\.\n\nTo unlock/);
    });

    it("--rotate refuses when autolock is off, without updating", async () => {
      api.on("GET", `${V}/swarm`, { body: swarm() });
      const r = await shoal(api, ["swarm", "unlock-key", "--rotate"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^Error: cannot rotate the unlock key: autolock is off/);
      assert.deepEqual(api.calls(), [`GET ${V}/swarm`]);
    });

    it("fails with exit 1 when no key is set", async () => {
      api.on("GET", `${V}/swarm/unlockkey`, { body: { UnlockKey: "" } });
      const r = await shoal(api, ["swarm", "unlock-key"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: no unlock key is set: autolock is off\n");
    });
  });
});
