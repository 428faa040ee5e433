import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type DockerService, type DockerTask } from "../../src/index.js";
import { Readable } from "node:stream";
import { FakeApi, shoal, type RecordedRequest } from "../support/fake-api.js";
import { info, managerNode, SELF_ID, V, workerNode } from "../support/fixtures.js";
import { service, SERVICE_ID, serviceSpec, task } from "../support/service-fixtures.js";

const FAST = { env: { SHOAL_PROGRESS_POLL_MS: "2" } };
const FULL = `[${"=".repeat(50)}>]`;

/** Answers from `frames` in order, repeating the last one. */
function script<T>(frames: T[]): () => { body: T } {
  let i = 0;
  return () => ({ body: frames[Math.min(i++, frames.length - 1)]! });
}

describe("shoal service", () => {
  let api: FakeApi;

  beforeEach(async () => {
    api = await FakeApi.start();
    api.on("GET", `${V}/info`, { body: info() });
    api.on("GET", `${V}/nodes`, { body: [managerNode(), workerNode()] });
  });

  afterEach(async () => {
    await api.close();
  });

  const posted = (path: string): RecordedRequest => {
    const r = api.requests.find((q) => q.method === "POST" && q.path === path);
    assert.ok(r, `no POST ${path}`);
    return r;
  };

  describe("create", () => {
    beforeEach(() => {
      api.on("POST", `${V}/services/create`, { status: 201, body: { ID: SERVICE_ID } });
      api.on("GET", `${V}/networks/net1`, { body: { Id: "net1id", Name: "net1" } });
      api.on("GET", `${V}/secrets/db-pass`, { body: { ID: "secretid1", Spec: { Name: "db-pass" } } });
      api.on("GET", `${V}/configs/app.conf`, { body: { ID: "configid1", Spec: { Name: "app.conf" } } });
    });

    it("-d sends docker's create body for a rich set of flags, prints the ID and returns without polling", async () => {
      const r = await shoal(api, [
        "service", "create", "-d", "--name", "web", "--replicas", "3", "-p", "8080:80", "--publish", "mode=host,target=53,published=5353,protocol=udp",
        "--network", "net1", "--update-parallelism", "2", "--update-delay", "10s", "--update-failure-action", "rollback", "--update-order", "start-first",
        "--rollback-parallelism", "0", "--reserve-cpu", "0.5", "--reserve-memory", "64MiB", "--limit-memory", "1g", "--limit-cpu", "2",
        "--constraint", "node.role==worker", "--placement-pref", "spread=node.labels.zone", "--replicas-max-per-node", "2",
        "-e", "A=1", "--env", "B=2", "--label", "team=a", "--container-label", "c=d", "--mount", "type=bind,source=/data,target=/srv,readonly",
        "--secret", "db-pass", "--config", "source=app.conf,target=/etc/app.conf,mode=0400", "--restart-condition", "on-failure", "--restart-max-attempts", "3",
        "--health-cmd", "wget -q localhost", "--health-interval", "5s", "--health-retries", "2", "--stop-grace-period", "30s", "--workdir", "/srv", "--user", "nobody",
        "busybox", "httpd", "-f", "-p", "80",
      ]);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${SERVICE_ID}\n`);
      assert.deepEqual(api.calls(), [`GET ${V}/networks/net1?scope=swarm`, `GET ${V}/secrets/db-pass`, `GET ${V}/configs/app.conf`, `POST ${V}/services/create`]);
      const update = { Parallelism: 2, Delay: 10e9, FailureAction: "rollback", Monitor: 5e9, MaxFailureRatio: 0, Order: "start-first" };
      assert.deepEqual(posted(`${V}/services/create`).body, {
        Name: "web",
        Labels: { team: "a" },
        TaskTemplate: {
          ContainerSpec: {
            Image: "busybox:latest",
            Args: ["httpd", "-f", "-p", "80"],
            Env: ["A=1", "B=2"],
            Labels: { c: "d" },
            Dir: "/srv",
            User: "nobody",
            StopGracePeriod: 30e9,
            Healthcheck: { Test: ["CMD-SHELL", "wget -q localhost"], Interval: 5e9, Retries: 2 },
            Mounts: [{ Type: "bind", Source: "/data", Target: "/srv", ReadOnly: true }],
            Secrets: [{ File: { Name: "db-pass", UID: "0", GID: "0", Mode: 0o444 }, SecretID: "secretid1", SecretName: "db-pass" }],
            Configs: [{ File: { Name: "/etc/app.conf", UID: "0", GID: "0", Mode: 0o400 }, ConfigID: "configid1", ConfigName: "app.conf" }],
          },
          Resources: { Limits: { NanoCPUs: 2e9, MemoryBytes: 1024 ** 3 }, Reservations: { NanoCPUs: 5e8, MemoryBytes: 64 * 1024 ** 2 } },
          RestartPolicy: { Condition: "on-failure", MaxAttempts: 3 },
          Placement: { Constraints: ["node.role==worker"], Preferences: [{ Spread: { SpreadDescriptor: "node.labels.zone" } }], MaxReplicas: 2 },
          Networks: [{ Target: "net1id" }],
          ForceUpdate: 0,
        },
        Mode: { Replicated: { Replicas: 3 } },
        UpdateConfig: update,
        RollbackConfig: { Parallelism: 0, FailureAction: "pause", Monitor: 5e9, MaxFailureRatio: 0, Order: "stop-first" },
        EndpointSpec: {
          Mode: "vip",
          Ports: [
            { Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" },
            { Protocol: "udp", TargetPort: 53, PublishedPort: 5353, PublishMode: "host" },
          ],
        },
      });
    });

    it("passes flags after IMAGE to the container (httpd -f -p 80), as docker does", async () => {
      const r = await shoal(api, ["service", "create", "-d", "--name", "web", "busybox", "httpd", "-f", "-p", "80"]);
      assert.equal(r.code, 0);
      const body = posted(`${V}/services/create`).body as { TaskTemplate: { ContainerSpec: { Args: string[] } }; EndpointSpec: unknown };
      assert.deepEqual(body.TaskTemplate.ContainerSpec.Args, ["httpd", "-f", "-p", "80"]);
      assert.deepEqual(body.EndpointSpec, { Mode: "vip" });
    });

    it("--endpoint-mode sets EndpointSpec.Mode, with published ports kept", async () => {
      await shoal(api, ["service", "create", "-d", "--endpoint-mode", "dnsrr", "-p", "mode=host,target=80,published=8080", "busybox"]);
      assert.deepEqual((posted(`${V}/services/create`).body as { EndpointSpec: unknown }).EndpointSpec, {
        Mode: "dnsrr",
        Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "host" }],
      });
    });

    it("global mode sends Mode.Global and refuses --replicas with exit 2", async () => {
      await shoal(api, ["service", "create", "-d", "--mode", "global", "busybox"]);
      assert.deepEqual((posted(`${V}/services/create`).body as { Mode: unknown }).Mode, { Global: {} });
      const bad = await shoal(api, ["service", "create", "-d", "--mode", "global", "--replicas", "2", "busybox"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--replicas cannot be used with --mode global/);
    });

    it("refuses bad flag values with exit 2 naming the flag and sends nothing", async () => {
      for (const [flag, value] of [["--reserve-memory", "lots"], ["--limit-cpu", "two"], ["--update-delay", "10"], ["--publish", "99999:80"], ["--mount", "type=nfs,target=/x"], ["--update-failure-action", "explode"], ["--replicas", "-1"], ["--update-max-failure-ratio", "2"], ["--endpoint-mode", "rr"]] as const) {
        const r = await shoal(api, ["service", "create", "-d", flag, value, "busybox"]);
        assert.equal(r.code, 2, `${flag} ${value}`);
        assert.ok(r.stderr.includes(flag), `${flag}: ${r.stderr}`);
      }
      assert.deepEqual(api.calls(), []);
    });

    it("create --mode replicated-job --replicas N runs N at once unless --max-concurrent says otherwise", async () => {
      await shoal(api, ["service", "create", "-d", "--mode", "replicated-job", "--replicas", "4", "busybox"]);
      await shoal(api, ["service", "create", "-d", "--mode", "replicated-job", "--replicas", "4", "--max-concurrent", "2", "busybox"]);
      const modes = api.requests.filter((q) => q.method === "POST").map((q) => (q.body as { Mode: unknown }).Mode);
      assert.deepEqual(modes, [{ ReplicatedJob: { MaxConcurrent: 4, TotalCompletions: 4 } }, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } }]);
    });

    it("names a missing secret clearly and creates nothing", async () => {
      const r = await shoal(api, ["service", "create", "-d", "--secret", "nope", "busybox"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: secret not found: nope\n");
      assert.ok(!api.calls().some((c) => c.startsWith("POST")));
    });

    it("without -d follows the tasks with docker's polls until they run and the service converged", async () => {
      const s = service({ Spec: serviceSpec({ Mode: { Replicated: { Replicas: 2 } } }) });
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: s });
      api.on("GET", `${V}/tasks`, script<DockerTask[]>([[], [task(1, "pending"), task(2, "new")], [task(1, "running"), task(2, "starting")], [task(1, "running"), task(2, "running")]]));
      const r = await shoal(api, ["service", "create", "--name", "web", "busybox"], FAST);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      assert.equal(
        r.stdout,
        [
          SERVICE_ID,
          "overall progress: 0 out of 2 tasks",
          "1/2: ",
          "2/2: ",
          `1/2: pending   [${"=".repeat(16)}>${" ".repeat(34)}]`,
          `2/2: new       [${"=".repeat(5)}>${" ".repeat(45)}]`,
          "overall progress: 1 out of 2 tasks",
          `1/2: running   ${FULL}`,
          `2/2: starting  [${"=".repeat(44)}>${" ".repeat(6)}]`,
          "overall progress: 2 out of 2 tasks",
          `2/2: running   ${FULL}`,
          `verify: Service ${SERVICE_ID} converged`,
          "",
        ].join("\n"),
      );
      const poll = api.requests.find((q) => q.path === `${V}/tasks`)!;
      assert.equal(poll.query["filters"], JSON.stringify({ "_up-to-date": { true: true }, service: { [SERVICE_ID]: true } }));
      assert.deepEqual(api.calls().slice(1, 4), [`GET ${V}/services/${SERVICE_ID}`, `GET ${V}/tasks?filters=${encodeURIComponent(poll.query["filters"]!)}`, `GET ${V}/nodes`]);
    });

    it("on a TTY redraws the frame in place with cursor-up and clear-line", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service({ Spec: serviceSpec({ Mode: { Replicated: { Replicas: 1 } } }) }) });
      api.on("GET", `${V}/tasks`, script<DockerTask[]>([[task(1, "new")], [task(1, "running")]]));
      let stdout = "";
      const code = await run(["service", "create", "busybox"], {
        stdout: { write: (s: string) => (stdout += s), isTTY: true, columns: 120 },
        stderr: { write: () => true },
        stdin: Readable.from([]),
        env: { SHOAL_HOST: `unix://${api.socketPath}`, SHOAL_PROGRESS_POLL_MS: "2" },
      });
      assert.equal(code, 0);
      const frames = stdout.split("\x1b[2A");
      assert.equal(frames.length, 2);
      assert.equal(frames[0], `${SERVICE_ID}\n\x1b[2K\roverall progress: 0 out of 1 tasks\n\x1b[2K\r1/1: new       [${"=".repeat(5)}>${" ".repeat(45)}]\n`);
      assert.equal(frames[1], `\x1b[2K\roverall progress: 1 out of 1 tasks\n\x1b[2K\r1/1: running   ${FULL}\n\x1b[2K\rverify: Service ${SERVICE_ID} converged\n`);
    });

    it("exits 1 with the UpdateStatus message when the update pauses", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, script<DockerService>([service(), service({ UpdateStatus: { State: "paused", Message: "update paused due to failure of task x" } })]));
      api.on("GET", `${V}/tasks`, { body: [task(1, "failed", { Status: { State: "failed", Err: "task: non-zero exit (1)" } })] });
      const r = await shoal(api, ["service", "create", "busybox"], FAST);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "Error: service update paused: update paused due to failure of task x\n");
      assert.match(r.stdout, /1\/3: task: non-zero exit \(1\)/);
    });

    it("Ctrl-C stops only the watching: exit 0 and a note how to keep watching", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service() });
      api.on("GET", `${V}/tasks`, () => {
        // The watch is running (its SIGINT listener is set): interrupt it as a terminal would.
        setImmediate(() => process.emit("SIGINT"));
        return { body: [] };
      });
      const before = process.listenerCount("SIGINT");
      const r = await shoal(api, ["service", "create", "--name", "web", "busybox"], FAST);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, `Operation continuing in background.\nUse \`shoal service ps ${SERVICE_ID}\` to check progress.\n`);
      assert.equal(process.listenerCount("SIGINT"), before);
    });

    it("--timeout stops watching with exit 1 and says how to keep watching", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service() });
      api.on("GET", `${V}/tasks`, { body: [] });
      const r = await shoal(api, ["service", "create", "--timeout", "50ms", "busybox"], FAST);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /did not converge in time; the operation goes on\. Watch it with: shoal service ps/);
    });
  });

  describe("update, scale, rollback", () => {
    beforeEach(() => {
      api.on("GET", `${V}/services/web`, { body: service({ PreviousSpec: serviceSpec({ TaskTemplate: { ContainerSpec: { Image: "busybox:1.35" } } }) }) });
      api.on("POST", `${V}/services/${SERVICE_ID}/update`, { body: { Warnings: null } });
    });

    it("merges the flags into the spec it read and sends it back with the version read", async () => {
      const r = await shoal(api, [
        "service", "update", "-d", "--image", "busybox:1.36", "--replicas", "5", "--force", "--env-add", "A=9", "--env-add", "C=3", "--env-rm", "B",
        "--label-add", "tier=web", "--label-rm", "team", "--constraint-rm", "node.role==worker", "--constraint-add", "node.labels.zone==a",
        "--publish-rm", "80", "--publish-add", "9090:90", "--update-monitor", "1s", "web",
      ]);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, "web\n");
      const req = posted(`${V}/services/${SERVICE_ID}/update`);
      assert.equal(req.rawQuery, "version=42");
      const expected = serviceSpec();
      expected.Labels = { tier: "web" };
      expected.TaskTemplate!.ContainerSpec = { Image: "busybox:1.36", Args: ["httpd"], Env: ["A=9", "C=3"], Extra: "kept" };
      expected.TaskTemplate!.Placement = { Constraints: ["node.labels.zone==a"] };
      expected.TaskTemplate!.ForceUpdate = 1;
      expected.Mode = { Replicated: { Replicas: 5 } };
      expected.EndpointSpec = { Mode: "vip", Ports: [{ Protocol: "tcp", TargetPort: 90, PublishedPort: 9090, PublishMode: "ingress" }] };
      expected.UpdateConfig = { ...expected.UpdateConfig, Monitor: 1e9 };
      assert.deepEqual(req.body, expected);
    });

    it("--image goes as the docker CLI sends it (tag latest when none is named); one that does not parse goes as typed for the API to refuse", async () => {
      await shoal(api, ["service", "update", "-d", "--image", "registry.example:5000/team/app", "web"]);
      const sent = (): string | undefined => (posted(`${V}/services/${SERVICE_ID}/update`).body as { TaskTemplate: { ContainerSpec: { Image?: string } } }).TaskTemplate.ContainerSpec.Image;
      assert.equal(sent(), "registry.example:5000/team/app:latest");
      api.requests.length = 0;
      await shoal(api, ["service", "update", "-d", "--image", "Team/App", "web"]);
      assert.equal(sent(), "Team/App");
    });

    it("update adds and removes mounts, secrets, configs, networks, container labels and placement preferences", async () => {
      const spec = serviceSpec();
      spec.TaskTemplate!.ContainerSpec = {
        Image: "busybox", Labels: { a: "1", b: "2" },
        Mounts: [{ Type: "volume", Source: "v", Target: "/v" }, { Type: "tmpfs", Target: "/t" }],
        Secrets: [{ File: { Name: "old", UID: "0", GID: "0", Mode: 0o444 }, SecretID: "s0", SecretName: "old" }],
        Configs: [{ File: { Name: "/c", UID: "0", GID: "0", Mode: 0o444 }, ConfigID: "c0", ConfigName: "c" }],
      };
      spec.TaskTemplate!.Networks = [{ Target: "oldnetid" }, { Target: "keptid" }];
      spec.TaskTemplate!.Placement = { Preferences: [{ Spread: { SpreadDescriptor: "node.labels.rack" } }] };
      api.on("GET", `${V}/services/web`, { body: service({ Spec: spec }) });
      api.on("GET", `${V}/secrets/db-pass`, { body: { ID: "secretid1" } });
      api.on("GET", `${V}/configs/app.conf`, { body: { ID: "configid1" } });
      api.on("GET", `${V}/networks/net1`, { body: { Id: "net1id" } });
      api.on("GET", `${V}/networks/oldnet`, { body: { Id: "oldnetid" } });
      const r = await shoal(api, [
        "service", "update", "-d", "--mount-rm", "/t", "--mount-add", "type=bind,source=/d,target=/d", "--secret-rm", "old", "--secret-add", "db-pass",
        "--config-rm", "c", "--config-add", "app.conf", "--network-rm", "oldnet", "--network-add", "net1", "--container-label-rm", "a",
        "--container-label-add", "c=3", "--placement-pref-rm", "spread=node.labels.rack", "--placement-pref-add", "spread=node.labels.zone", "web",
      ]);
      assert.equal(r.stderr, "");
      const body = posted(`${V}/services/${SERVICE_ID}/update`).body as typeof spec;
      const cs = body.TaskTemplate!.ContainerSpec!;
      assert.deepEqual(cs.Mounts, [{ Type: "volume", Source: "v", Target: "/v" }, { Type: "bind", Source: "/d", Target: "/d" }]);
      assert.deepEqual(cs.Secrets, [{ File: { Name: "db-pass", UID: "0", GID: "0", Mode: 0o444 }, SecretID: "secretid1", SecretName: "db-pass" }]);
      assert.deepEqual(cs.Configs, [{ File: { Name: "/app.conf", UID: "0", GID: "0", Mode: 0o444 }, ConfigID: "configid1", ConfigName: "app.conf" }]);
      assert.deepEqual(cs.Labels, { b: "2", c: "3" });
      assert.deepEqual(body.TaskTemplate!.Networks, [{ Target: "keptid" }, { Target: "net1id" }]);
      assert.deepEqual(body.TaskTemplate!.Placement!.Preferences, [{ Spread: { SpreadDescriptor: "node.labels.zone" } }]);
    });

    it("scale sets the replicas of each service and prints docker's line", async () => {
      const r = await shoal(api, ["service", "scale", "-d", "web=7"]);
      assert.equal(r.stdout, "web scaled to 7\n");
      const body = posted(`${V}/services/${SERVICE_ID}/update`).body as { Mode: unknown };
      assert.deepEqual(body.Mode, { Replicated: { Replicas: 7 } });
      const bad = await shoal(api, ["service", "scale", "web"]);
      assert.equal(bad.code, 2);
      const twice = await shoal(api, ["service", "scale", "-d", "web=2", "web=3"]);
      assert.equal(twice.code, 2);
      assert.equal(twice.stderr, "Error: service web is given twice: scale it to one number\n");
    });

    it("scale refuses a global service", async () => {
      api.on("GET", `${V}/services/g`, { body: service({ Spec: serviceSpec({ Mode: { Global: {} } }) }) });
      const r = await shoal(api, ["service", "scale", "-d", "g=2"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /scale can only be used with replicated or replicated-job mode/);
    });

    it("rollback asks for the previous spec, follows the rollback until it converged, then prints its completion", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, script<DockerService>([
        service({ UpdateStatus: { State: "rollback_started", Message: "manually requested rollback" } }),
        service({ UpdateStatus: { State: "rollback_completed", Message: "rollback completed" } }),
      ]));
      api.on("GET", `${V}/tasks`, script<DockerTask[]>([[task(1, "starting")], [task(1, "running"), task(2, "running"), task(3, "running")]]));
      const r = await shoal(api, ["service", "rollback", "web"], FAST);
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      const req = posted(`${V}/services/${SERVICE_ID}/update`);
      assert.equal(req.rawQuery, "version=42&rollback=previous");
      assert.match(r.stdout, /^web\nrollback: manually requested rollback\noverall progress: rolling back update: 0 out of 3 tasks\n/);
      assert.match(r.stdout, /overall progress: rolling back update: 3 out of 3 tasks\n/);
      assert.match(r.stdout, /verify: Service web converged\nrollback: rollback completed\n$/);
    });

    it("update without -d follows the service and names it as typed when converged", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service({ UpdateStatus: { State: "updating" } }) });
      api.on("GET", `${V}/tasks`, { body: [task(1, "running"), task(2, "running"), task(3, "running")] });
      const r = await shoal(api, ["service", "update", "--image", "busybox:1.36", "web"], FAST);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^web\noverall progress: 3 out of 3 tasks\n/);
      assert.match(r.stdout, /verify: Service web converged\n$/);
    });

    it("update follows a failed update into its automatic rollback and, once the rollback converged, fails saying so (exit 1)", async () => {
      const failed = task(2, "failed", { Status: { State: "failed", Err: "task: non-zero exit (1)" } });
      api.on("GET", `${V}/services/${SERVICE_ID}`, script<DockerService>([
        service({ UpdateStatus: { State: "updating" } }),
        service({ UpdateStatus: { State: "rollback_started", Message: "update rolled back due to failure or early termination of task x" } }),
        service({ UpdateStatus: { State: "rollback_completed", Message: "rollback completed" } }),
      ]));
      api.on("GET", `${V}/tasks`, script<DockerTask[]>([
        [task(1, "running"), failed],
        [task(1, "running"), task(2, "starting"), task(3, "running")],
        [task(1, "running"), task(2, "running"), task(3, "running")],
      ]));
      const r = await shoal(api, ["service", "update", "--image", "busybox:bad", "web"], FAST);
      // Not docker's exit 0: the update asked for is not in place, and a deploy script must know.
      assert.equal(r.stderr, "Error: service rolled back: update rolled back due to failure or early termination of task x\n");
      assert.equal(r.code, 1);
      assert.equal(
        r.stdout,
        [
          "web",
          "overall progress: 1 out of 3 tasks",
          `1/3: running   ${FULL}`,
          "2/3: task: non-zero exit (1)",
          "3/3: ",
          "rollback: update rolled back due to failure or early termination of task x",
          "overall progress: rolling back update: 2 out of 3 tasks",
          `1/3: running   [>${" ".repeat(50)}]`,
          `2/3: starting  [${"=".repeat(5)}>${" ".repeat(45)}]`,
          `3/3: running   [>${" ".repeat(50)}]`,
          "overall progress: rolling back update: 3 out of 3 tasks",
          `2/3: running   [>${" ".repeat(50)}]`,
          "verify: Service web converged on its previous spec",
          "",
        ].join("\n"),
      );
    });

    it("scale without -d follows the service until it converged", async () => {
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service({ Spec: serviceSpec({ Mode: { Replicated: { Replicas: 2 } } }) }) });
      api.on("GET", `${V}/tasks`, script<DockerTask[]>([[task(1, "running")], [task(1, "running"), task(2, "running")]]));
      const r = await shoal(api, ["service", "scale", "web=2"], FAST);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^web scaled to 2\noverall progress: 1 out of 2 tasks\n/);
      assert.match(r.stdout, /verify: Service web converged\n$/);
    });

    it("scale during a rolling update is made again on a fresh read when the update's status alone moved the version", async () => {
      const prev = serviceSpec({ TaskTemplate: { ContainerSpec: { Image: "busybox:1.35" } } });
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service({ Version: { Index: 43 }, PreviousSpec: prev, UpdateStatus: { State: "completed" } }) });
      api.on("POST", `${V}/services/${SERVICE_ID}/update`, (req) => (req.query["version"] === "42" ? { status: 409, body: { message: "update out of sequence" } } : { body: { Warnings: null } }));
      const r = await shoal(api, ["service", "scale", "-d", "web=4"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "web scaled to 4\n");
      const posts = api.requests.filter((q) => q.method === "POST");
      assert.deepEqual(posts.map((q) => q.rawQuery), ["version=42", "version=43"]);
      assert.deepEqual((posts[1]!.body as { Mode: unknown }).Mode, { Replicated: { Replicas: 4 } });
    });

    it("keeps the 409 when the Spec or the PreviousSpec changed since the read (another edit), posting once", async () => {
      api.on("POST", `${V}/services/${SERVICE_ID}/update`, { status: 409, body: { message: "update out of sequence" } });
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service({ Version: { Index: 43 }, PreviousSpec: serviceSpec({ TaskTemplate: { ContainerSpec: { Image: "busybox:1.34" } } }) }) });
      const rollback = await shoal(api, ["service", "rollback", "-d", "web"]);
      assert.equal(rollback.code, 1);
      assert.equal(rollback.stderr, "Error: update out of sequence\n");
      api.on("GET", `${V}/services/${SERVICE_ID}`, { body: service({ Version: { Index: 43 }, Spec: serviceSpec({ Mode: { Replicated: { Replicas: 9 } } }) }) });
      const update = await shoal(api, ["service", "update", "-d", "--image", "busybox:1.36", "web"]);
      assert.equal(update.code, 1);
      assert.equal(update.stderr, "Error: update out of sequence\n");
      assert.equal(api.requests.filter((q) => q.method === "POST").length, 2);
    });

    it("update --rollback is the same request as service rollback", async () => {
      await shoal(api, ["service", "update", "-d", "--rollback", "web"]);
      assert.equal(posted(`${V}/services/${SERVICE_ID}/update`).rawQuery, "version=42&rollback=previous");
    });
  });

  describe("ls, ps, inspect, rm", () => {
    it("ls prints docker's columns with running/desired replicas and ports", async () => {
      api.on("GET", `${V}/services`, { body: [service({ ServiceStatus: { RunningTasks: 2, DesiredTasks: 3 }, Endpoint: { Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" }] } })] });
      const r = await shoal(api, ["service", "ls"]);
      assert.equal(api.requests[0]!.rawQuery, "status=true");
      assert.equal(
        r.stdout,
        ["ID             NAME      MODE         REPLICAS   IMAGE            PORTS", "svcweb000000   web       replicated   2/3        busybox:latest   *:8080->80/tcp", ""].join("\n"),
      );
    });

    it("ls folds consecutive ports into ranges and leaves out host-mode ports (they are per task), as docker", async () => {
      const ports = [
        { Protocol: "tcp", TargetPort: 81, PublishedPort: 8081, PublishMode: "ingress" },
        { Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" },
        { Protocol: "udp", TargetPort: 53, PublishedPort: 53, PublishMode: "ingress" },
        { Protocol: "tcp", TargetPort: 9000, PublishedPort: 9000, PublishMode: "host" },
      ];
      api.on("GET", `${V}/services`, { body: [service({ Endpoint: { Ports: ports } })] });
      const r = await shoal(api, ["service", "ls", "--format", "json"]);
      assert.equal((JSON.parse(r.stdout) as { Ports: string }[])[0]!.Ports, "*:8080-8081->80-81/tcp, *:53->53/udp");
    });

    it("ls shows a job's completions beside its running tasks", async () => {
      api.on("GET", `${V}/services`, { body: [service({ Spec: serviceSpec({ Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } } }), ServiceStatus: { RunningTasks: 2, DesiredTasks: 2, CompletedTasks: 1 } })] });
      const r = await shoal(api, ["service", "ls", "--format", "json"]);
      const rows = JSON.parse(r.stdout) as { Mode: string; Replicas: string }[];
      assert.deepEqual([rows[0]!.Mode, rows[0]!.Replicas], ["replicated job", "2/2 (1/5 completed)"]);
    });

    it("ls shows a global job's completions out of the tasks still to complete plus those done", async () => {
      api.on("GET", `${V}/services`, { body: [service({ Spec: serviceSpec({ Mode: { GlobalJob: {} } }), ServiceStatus: { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 3 } })] });
      const r = await shoal(api, ["service", "ls", "--format", "json"]);
      const rows = JSON.parse(r.stdout) as { Mode: string; Replicas: string }[];
      assert.deepEqual([rows[0]!.Mode, rows[0]!.Replicas], ["global job", "1/2 (3/5 completed)"]);
    });

    it("ps lists tasks by slot with history rows under the newest, hostnames for nodes, errors cut at 30 and task ports", async () => {
      api.on("GET", `${V}/services/web`, { body: service() });
      const now = Date.now();
      const iso = (agoMs: number): string => new Date(now - agoMs).toISOString();
      api.on("GET", `${V}/tasks`, {
        body: [
          task(1, "shutdown", { ID: "old1".padEnd(25, "0"), DesiredState: "shutdown", Status: { State: "failed", Err: "task: non-zero exit (1): container died", Timestamp: iso(600_000) } }),
          task(1, "running", { Status: { State: "running", Timestamp: iso(125_000) } }),
          task(2, "running", { Status: { State: "running", Timestamp: iso(500), PortStatus: { Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 30001, PublishMode: "host" }] } } }),
        ],
      });
      const r = await shoal(api, ["service", "ps", "web"]);
      assert.equal(r.stderr, "");
      assert.equal(api.requests[1]!.query["filters"], JSON.stringify({ service: { [SERVICE_ID]: true } }));
      assert.equal(
        r.stdout,
        [
          "ID             NAME        IMAGE            NODE      DESIRED STATE   CURRENT STATE                    ERROR                              PORTS",
          "task1running   web.1       busybox:latest   mgr1      Running         Running 2 minutes ago",
          "old100000000    \\_ web.1   busybox:latest   mgr1      Shutdown        Failed 10 minutes ago            \"task: non-zero exit (1): cont…\"",
          "task2running   web.2       busybox:latest   wrk1      Running         Running less than a second ago                                      *:30001->80/tcp",
          "",
        ].join("\n"),
      );
    });

    it("ps puts a slot's newest task on top by creation, also when the older one stopped last (start-first)", async () => {
      api.on("GET", `${V}/services/web`, { body: service() });
      const now = Date.now();
      const iso = (agoMs: number): string => new Date(now - agoMs).toISOString();
      api.on("GET", `${V}/tasks`, {
        body: [
          task(1, "shutdown", { ID: "old1".padEnd(25, "0"), CreatedAt: iso(60_000), DesiredState: "shutdown", Status: { State: "shutdown", Timestamp: iso(1_000) } }),
          task(1, "running", { CreatedAt: iso(5_000), Status: { State: "running", Timestamp: iso(4_000) } }),
        ],
      });
      const r = await shoal(api, ["service", "ps", "web"]);
      const rows = r.stdout.trim().split("\n").slice(1);
      assert.match(rows[0]!, /^task1running +web\.1 +busybox:latest +mgr1 +Running +Running 4 seconds ago/);
      assert.match(rows[1]!, /^old100000000 +\\_ web\.1 +busybox:latest +mgr1 +Shutdown +Shutdown 1 second ago/);
    });

    it("inspect prints the services as JSON with defaults inserted; rm removes each and prints its name", async () => {
      api.on("GET", `${V}/services/web`, { body: service() });
      const r = await shoal(api, ["service", "inspect", "web"]);
      assert.equal(api.requests[0]!.rawQuery, "insertDefaults=true");
      assert.equal((JSON.parse(r.stdout) as DockerService[])[0]!.ID, SERVICE_ID);
      api.on("DELETE", `${V}/services/web`, {});
      const rm = await shoal(api, ["service", "rm", "web", "nope"]);
      assert.equal(rm.stdout, "web\n");
      assert.equal(rm.code, 1);
    });

    it("inspect prints [] for a name that is not found, and nothing but the error when the manager cannot be reached", async () => {
      const missing = await shoal(api, ["service", "inspect", "nope"]);
      assert.equal(missing.code, 1);
      assert.equal(missing.stdout, "[]\n");
      const sock = join(tmpdir(), `shoal-nosuch-${process.pid}.sock`);
      const down = await shoal(undefined, ["service", "inspect", "web"], { env: { SHOAL_HOST: `unix://${sock}` } });
      assert.equal(down.code, 1);
      assert.equal(down.stdout, "");
      assert.match(down.stderr, /^Error: cannot reach the shoal API/);
    });

    it("inspect --pretty prints docker's sections with durations, sizes and CPUs readable", async () => {
      const spec = serviceSpec();
      spec.TaskTemplate!.Resources = { Reservations: { NanoCPUs: 5e8, MemoryBytes: 64 * 1024 ** 2 }, Limits: {} };
      spec.UpdateConfig = { Parallelism: 2, Delay: 10e9, FailureAction: "rollback", Monitor: 5e9, MaxFailureRatio: 0, Order: "start-first" };
      api.on("GET", `${V}/services/web`, { body: service({ Spec: spec }) });
      const r = await shoal(api, ["service", "inspect", "--pretty", "web"]);
      assert.equal(r.code, 0);
      for (const line of ["Name:           web", "Service Mode:   Replicated", "Replicas:       3", " Constraints:  node.role==worker", " Delay:              10s", " On failure:         rollback", " Env:    A=1, B=2", "  CPU:     0.5", "  Memory:  64MiB", "Ports:          8080->80/tcp (Ingress)"]) {
        assert.ok(r.stdout.split("\n").includes(line), `missing ${JSON.stringify(line)} in\n${r.stdout}`);
      }
    });

    it("node ps lists this node's tasks with service names", async () => {
      api.on("GET", `${V}/nodes/${SELF_ID}`, { body: managerNode() });
      api.on("GET", `${V}/services`, { body: [service()] });
      api.on("GET", `${V}/tasks`, { body: [task(1, "running")] });
      const r = await shoal(api, ["node", "ps"]);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, /^ID +NAME +IMAGE +NODE/);
      assert.match(r.stdout, /task1running {3}web\.1 +busybox:latest +mgr1 +Running +Running/);
      assert.equal(api.requests.find((q) => q.path === `${V}/tasks`)!.query["filters"], JSON.stringify({ node: { [SELF_ID]: true } }));
    });
  });
});
