import assert from "node:assert/strict";
import { NodeState, TaskState, UpdateState } from "@shoal/store";
import { MGR_ID, WRK_ID } from "../fake-backend.js";
import { messageOf, useHarness, type Harness } from "../helpers.js";

interface DockerService {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: Record<string, unknown> & { Name: string; Mode: Record<string, unknown>; TaskTemplate: Record<string, unknown> };
  PreviousSpec?: Record<string, unknown> & { TaskTemplate: Record<string, unknown> };
  Endpoint: { Spec: Record<string, unknown>; Ports?: unknown[] };
  UpdateStatus?: { State: string; Message: string };
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
}

// What `docker service create --replicas 3 --publish 8080:80 --update-parallelism 2 --update-delay 5s`
// sends (docker-cli-traces.txt), without the network (the fake store has none).
function cliSpec(name = "web", image = "busybox:latest"): Record<string, unknown> {
  return {
    Name: name,
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: image, Args: ["httpd", "-f", "-p", "80"], Init: false, DNSConfig: {} },
      Resources: { Limits: {}, Reservations: {} },
      Placement: { Platforms: [{ Architecture: "amd64", OS: "linux" }, { Architecture: "arm64", OS: "linux" }] },
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: 3 } },
    UpdateConfig: { Parallelism: 2, Delay: 5000000000, FailureAction: "pause", Monitor: 5000000000, MaxFailureRatio: 0, Order: "stop-first" },
    EndpointSpec: { Mode: "vip", Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" }] },
  };
}

function filters(f: Record<string, Record<string, boolean>>): string {
  return encodeURIComponent(JSON.stringify(f));
}

async function create(h: Harness, spec: Record<string, unknown>): Promise<string> {
  const res = await h.call("POST", "/v1.50/services/create", spec);
  assert.equal(res.statusCode, 201, res.body);
  return (JSON.parse(res.body) as { ID: string }).ID;
}

async function inspect(h: Harness, ref: string, query = ""): Promise<DockerService> {
  const res = await h.call("GET", `/v1.50/services/${ref}${query}`);
  assert.equal(res.statusCode, 200, res.body);
  return JSON.parse(res.body) as DockerService;
}

describe("api routes: /services", () => {
  const h = useHarness();

  it("create then inspect answers the spec exactly as sent, with a 25-character ID", async () => {
    const id = await create(h(), cliSpec());
    assert.match(id, /^[0-9a-z]{25}$/);
    const s = await inspect(h(), "web", "?insertDefaults=false");
    assert.equal(s.ID, id);
    const sent = cliSpec();
    // DNSConfig is accepted but not kept (no per-service DNS yet).
    delete (sent["TaskTemplate"] as { ContainerSpec: Record<string, unknown> }).ContainerSpec["DNSConfig"];
    assert.deepEqual(s.Spec, sent);
    assert.deepEqual(s.Endpoint.Spec, sent["EndpointSpec"]);
    assert.equal(s.PreviousSpec, undefined);
    assert.equal(s.UpdateStatus, undefined);
    assert.match(s.CreatedAt, /^2026-11-28T/);
  });

  it("insertDefaults=true fills Docker's defaults in the returned spec only", async () => {
    await create(h(), { Name: "db", TaskTemplate: { ContainerSpec: { Image: "postgres" } }, Mode: { Replicated: {} } });
    const plain = await inspect(h(), "db");
    assert.deepEqual(plain.Spec, { Name: "db", Labels: {}, TaskTemplate: { ContainerSpec: { Image: "postgres" } }, Mode: { Replicated: { Replicas: 1 } } });
    const s = await inspect(h(), "db", "?insertDefaults=true");
    const defaults = { Parallelism: 1, Delay: 0, FailureAction: "pause", Monitor: 5e9, MaxFailureRatio: 0, Order: "stop-first" };
    assert.deepEqual(s.Spec["UpdateConfig"], defaults);
    assert.deepEqual(s.Spec["RollbackConfig"], defaults);
    assert.deepEqual(s.Spec.TaskTemplate, { ContainerSpec: { Image: "postgres", StopGracePeriod: 10e9 }, RestartPolicy: { Condition: "any", Delay: 5e9, MaxAttempts: 0 } });
    assert.deepEqual(s.Spec["EndpointSpec"], { Mode: "vip" });
  });

  it("a spec without a mode is replicated with one replica; other modes round-trip", async () => {
    await create(h(), { Name: "a", TaskTemplate: { ContainerSpec: { Image: "x" } } });
    assert.deepEqual((await inspect(h(), "a")).Spec.Mode, { Replicated: { Replicas: 1 } });
    await create(h(), { Name: "g", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { Global: {} } });
    assert.deepEqual((await inspect(h(), "g")).Spec.Mode, { Global: {} });
    await create(h(), { Name: "j", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } } });
    assert.deepEqual((await inspect(h(), "j")).Spec.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } });
  });

  async function seedReferences(): Promise<void> {
    await h().backend.store.update((tx) => {
      tx.create("secret", { id: "sid", spec: { annotations: { name: "s1" }, data: new Uint8Array([1]) } });
      tx.create("config", { id: "cid", spec: { annotations: { name: "c1" }, data: new Uint8Array([2]) } });
      tx.create("network", { id: "netid000000000000000000aa", spec: { annotations: { name: "app_front" }, driverConfig: { name: "overlay" } } });
    });
  }

  it("a rich task template round-trips (mounts, healthcheck, secrets, resources, placement, restart, log driver)", async () => {
    await seedReferences();
    const template = {
      ContainerSpec: {
        Image: "nginx:1",
        Labels: { a: "b" },
        Command: ["nginx"],
        Args: ["-g", "daemon off;"],
        Hostname: "web-{{.Task.Slot}}",
        Env: ["A=1"],
        Dir: "/srv",
        User: "nobody",
        Mounts: [{ Type: "volume", Source: "data", Target: "/data", ReadOnly: true, VolumeOptions: { NoCopy: true, Labels: { x: "y" }, DriverConfig: { Name: "local" } } }],
        StopGracePeriod: 3e9,
        Healthcheck: { Test: ["CMD", "true"], Interval: 1e9, Timeout: 2e9, Retries: 3 },
        Secrets: [{ File: { Name: "s1", UID: "0", GID: "0", Mode: 292 }, SecretID: "sid", SecretName: "s1" }],
        Configs: [{ File: { Name: "/c1", UID: "0", GID: "0", Mode: 292 }, ConfigID: "cid", ConfigName: "c1" }],
      },
      Resources: { Limits: { NanoCPUs: 5e8, MemoryBytes: 64 << 20 }, Reservations: { NanoCPUs: 1e8, GenericResources: [{ DiscreteResourceSpec: { Kind: "gpu", Value: 1 } }] } },
      RestartPolicy: { Condition: "on-failure", Delay: 1e9, MaxAttempts: 3, Window: 6e10 },
      Placement: { Constraints: ["node.role==worker", "node.labels.zone!=b"], Preferences: [{ Spread: { SpreadDescriptor: "node.labels.zone" } }], MaxReplicas: 2 },
      LogDriver: { Name: "json-file", Options: { "max-size": "1m" } },
      ForceUpdate: 2,
    };
    await create(h(), { Name: "rich", Labels: { tier: "front" }, TaskTemplate: template, RollbackConfig: { Parallelism: 0, FailureAction: "continue", Order: "start-first" } });
    const s = await inspect(h(), "rich");
    assert.deepEqual(s.Spec.TaskTemplate, template);
    assert.deepEqual(s.Spec["RollbackConfig"], { Parallelism: 0, FailureAction: "continue", Order: "start-first" });
    assert.deepEqual(s.Spec["Labels"], { tier: "front" });
  });

  it("networks named by name are stored by ID; secrets and configs by name resolve; unknown ones are 404s", async () => {
    await seedReferences();
    const spec = cliSpec("stacked");
    const template = spec["TaskTemplate"] as Record<string, unknown> & { ContainerSpec: Record<string, unknown> };
    template["Networks"] = [{ Target: "app_front", Aliases: ["web"] }];
    template.ContainerSpec["Secrets"] = [{ File: { Name: "s1", UID: "0", GID: "0", Mode: 292 }, SecretID: "", SecretName: "s1" }];
    template.ContainerSpec["Configs"] = [{ File: { Name: "/c1" }, ConfigID: "cid", ConfigName: "" }];
    await create(h(), spec);
    const s = await inspect(h(), "stacked");
    assert.deepEqual(s.Spec.TaskTemplate["Networks"], [{ Target: "netid000000000000000000aa", Aliases: ["web"] }]);
    const container = s.Spec.TaskTemplate["ContainerSpec"] as Record<string, unknown>;
    assert.deepEqual(container["Secrets"], [{ File: { Name: "s1", UID: "0", GID: "0", Mode: 292 }, SecretID: "sid", SecretName: "s1" }]);
    assert.deepEqual(container["Configs"], [{ File: { Name: "/c1" }, ConfigID: "cid", ConfigName: "c1" }]);
    template["Networks"] = [{ Target: "nosuch" }];
    const missing = await h().call("POST", "/services/create", { ...spec, Name: "other" });
    assert.equal(missing.statusCode, 404);
    assert.match(messageOf(missing), /no such network: nosuch/);
    delete template["Networks"];
    template.ContainerSpec["Secrets"] = [{ SecretID: "nosuch", SecretName: "nosuch" }];
    assert.equal((await h().call("POST", "/services/create", { ...spec, Name: "other" })).statusCode, 404);
  });

  it("a taken name is a 409 in Docker's words", async () => {
    await create(h(), cliSpec());
    const res = await h().call("POST", "/services/create", cliSpec("WEB"));
    assert.equal(res.statusCode, 409);
    assert.match(messageOf(res), /name conflicts with an existing object: service WEB already exists/);
  });

  it("an invalid constraint or spread preference is a 400 naming it", async () => {
    const spec = cliSpec();
    (spec["TaskTemplate"] as Record<string, unknown>)["Placement"] = { Constraints: ["node.role==manager", "node.colour==red"] };
    const res = await h().call("POST", "/services/create", spec);
    assert.equal(res.statusCode, 400);
    assert.match(messageOf(res), /invalid constraint "node\.colour==red"/);
    (spec["TaskTemplate"] as Record<string, unknown>)["Placement"] = { Preferences: [{ Spread: { SpreadDescriptor: "node.id" } }] };
    const pref = await h().call("POST", "/services/create", spec);
    assert.equal(pref.statusCode, 400);
    assert.match(messageOf(pref), /spread=node\.id/);
  });

  it("an unknown field, a wrong enum, two modes, no name or no image is a 400 saying what to fix", async () => {
    const unknown = await h().call("POST", "/services/create", { ...cliSpec(), Colour: "red" });
    assert.equal(unknown.statusCode, 400);
    assert.match(messageOf(unknown), /unknown field Colour/);
    const nested = cliSpec();
    (nested["TaskTemplate"] as { ContainerSpec: Record<string, unknown> }).ContainerSpec["Privileged"] = true;
    assert.match(messageOf(await h().call("POST", "/services/create", nested)), /unknown field TaskTemplate\.ContainerSpec\.Privileged/);
    const order = await h().call("POST", "/services/create", { ...cliSpec(), UpdateConfig: { Order: "random" } });
    assert.equal(order.statusCode, 400);
    assert.match(messageOf(order), /UpdateConfig\.Order.*"stop-first", "start-first"/);
    const modes = await h().call("POST", "/services/create", { ...cliSpec(), Mode: { Replicated: { Replicas: 1 }, Global: {} } });
    assert.match(messageOf(modes), /only one of Replicated, Global/);
    assert.match(messageOf(await h().call("POST", "/services/create", { TaskTemplate: { ContainerSpec: { Image: "x" } } })), /missing field Name/);
    assert.match(messageOf(await h().call("POST", "/services/create", { Name: "x", TaskTemplate: {} })), /image reference must be provided/);
    assert.equal(messageOf(await h().call("POST", "/services/create", { ...cliSpec(), Labels: { "": "x" } })), 'invalid Labels: a key may not be empty (got "")');
  });

  it("answers a warning for a DNSConfig it does not apply", async () => {
    const spec = cliSpec();
    (spec["TaskTemplate"] as { ContainerSpec: Record<string, unknown> }).ContainerSpec["DNSConfig"] = { Nameservers: ["1.1.1.1"] };
    const res = await h().call("POST", "/services/create", spec);
    assert.equal(res.statusCode, 201);
    assert.match((JSON.parse(res.body) as { Warnings: string[] }).Warnings[0]!, /DNSConfig/);
  });

  it("GET /services filters by id, name, label and mode", async () => {
    const web = await create(h(), { ...cliSpec(), Labels: { "com.docker.stack.namespace": "app" } });
    await create(h(), { Name: "worker", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { Global: {} } });
    const names = async (q: string): Promise<string[]> => {
      const res = await h().call("GET", `/services${q}`);
      assert.equal(res.statusCode, 200, res.body);
      return (JSON.parse(res.body) as DockerService[]).map((s) => s.Spec.Name).sort();
    };
    assert.deepEqual(await names(""), ["web", "worker"]);
    assert.deepEqual(await names(`?filters=${filters({ name: { w: true } })}`), ["web", "worker"]);
    assert.deepEqual(await names(`?filters=${filters({ name: { wo: true } })}`), ["worker"]);
    assert.deepEqual(await names(`?filters=${filters({ id: { [web.slice(0, 6)]: true } })}`), ["web"]);
    assert.deepEqual(await names(`?filters=${filters({ label: { "com.docker.stack.namespace=app": true } })}`), ["web"]);
    assert.deepEqual(await names(`?filters=${filters({ mode: { global: true } })}`), ["worker"]);
    const bad = await h().call("GET", `/services?filters=${filters({ mode: { sideways: true } })}`);
    assert.equal(bad.statusCode, 400);
  });

  it("status=true counts running tasks on live nodes against replicas, and eligible nodes for global services", async () => {
    const web = await create(h(), cliSpec());
    const b = h().backend;
    await b.addTask(web, { id: "t1", slot: 1, nodeId: MGR_ID });
    await b.addTask(web, { id: "t2", slot: 2, nodeId: WRK_ID });
    await b.addTask(web, { id: "t3", slot: 3, nodeId: WRK_ID, state: TaskState.PREPARING });
    await b.addTask(web, { id: "t4", slot: 3, nodeId: MGR_ID, desiredState: TaskState.SHUTDOWN });
    const global = await create(h(), { Name: "agent", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { Global: {} } });
    await b.addTask(global, { id: "g1", slot: 0, nodeId: MGR_ID });
    await b.addTask(global, { id: "g2", slot: 0, nodeId: WRK_ID });
    const byName = async (): Promise<Map<string, DockerService["ServiceStatus"]>> => {
      const res = await h().call("GET", "/services?status=true");
      return new Map((JSON.parse(res.body) as DockerService[]).map((s) => [s.Spec.Name, s.ServiceStatus]));
    };
    let st = await byName();
    assert.deepEqual(st.get("web"), { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 });
    // wrk2 is drained: two nodes are eligible.
    assert.deepEqual(st.get("agent"), { RunningTasks: 2, DesiredTasks: 2, CompletedTasks: 0 });
    // Listing one service counts its tasks only, not the other's.
    const filtered = await h().call("GET", `/services?status=true&filters=${encodeURIComponent(JSON.stringify({ name: ["web"] }))}`);
    assert.deepEqual(
      (JSON.parse(filtered.body) as DockerService[]).map((s) => [s.Spec.Name, s.ServiceStatus]),
      [["web", { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 }]],
    );
    await b.store.update((tx) => {
      const n = tx.get("node", WRK_ID)!;
      tx.update("node", { ...n, status: { ...n.status, state: NodeState.DOWN } });
    });
    st = await byName();
    assert.deepEqual(st.get("web"), { RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 0 });
    assert.deepEqual(st.get("agent"), { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 });
    const plain = await h().call("GET", "/services");
    assert.equal((JSON.parse(plain.body) as DockerService[])[0]!.ServiceStatus, undefined);
  });

  it("status=true for a replicated job counts completed tasks and asks for what is left, at most MaxConcurrent", async () => {
    const job = await create(h(), { Name: "migrate", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } } });
    await h().backend.addTask(job, { id: "j1", slot: 1, nodeId: MGR_ID, state: TaskState.COMPLETE, desiredState: TaskState.COMPLETE });
    await h().backend.addTask(job, { id: "j2", slot: 2, nodeId: WRK_ID, state: TaskState.RUNNING, desiredState: TaskState.COMPLETE });
    const res = await h().call("GET", "/services?status=true");
    const [s] = JSON.parse(res.body) as DockerService[];
    assert.deepEqual(s?.ServiceStatus, { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 1 });
    await h().backend.addTask(job, { id: "j3", slot: 3, nodeId: WRK_ID, state: TaskState.COMPLETE, desiredState: TaskState.COMPLETE });
    const after = JSON.parse((await h().call("GET", "/services?status=true")).body) as DockerService[];
    assert.deepEqual(after[0]?.ServiceStatus, { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 2 });
  });

  it("a job has a JobStatus from its creation, and a replicated job's task slots are shown from 0, as the docker CLI's job progress reads them", async () => {
    const job = await create(h(), { Name: "migrate", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } } });
    const svc = JSON.parse((await h().call("GET", `/services/${job}`)).body) as DockerService & { JobStatus?: { JobIteration: { Index: number }; LastExecution: string } };
    assert.deepEqual(svc.JobStatus, { JobIteration: { Index: 0 }, LastExecution: svc.CreatedAt });
    await h().backend.addTask(job, { id: "j1", slot: 1, nodeId: MGR_ID, state: TaskState.COMPLETE, desiredState: TaskState.COMPLETE });
    await h().backend.addTask(job, { id: "j2", slot: 2, nodeId: WRK_ID, state: TaskState.COMPLETE, desiredState: TaskState.COMPLETE });
    type JobTask = { ID: string; Slot?: number; JobIteration?: { Index: number } };
    const tasks = JSON.parse((await h().call("GET", `/tasks?filters=${filters({ service: { migrate: true } })}`)).body) as JobTask[];
    assert.deepEqual(tasks.map((t) => [t.ID, t.Slot ?? 0, t.JobIteration?.Index]).sort(), [["j1", 0, 0], ["j2", 1, 0]]);
    assert.equal((JSON.parse((await h().call("GET", "/tasks/j2")).body) as JobTask).Slot, 1);
    // Other modes keep their slots.
    const web = await create(h(), cliSpec());
    await h().backend.addTask(web, { id: "w1", slot: 1, nodeId: MGR_ID });
    assert.equal((JSON.parse((await h().call("GET", "/tasks/w1")).body) as JobTask).Slot, 1);
    assert.equal((JSON.parse((await h().call("GET", `/services/${web}`)).body) as { JobStatus?: unknown }).JobStatus, undefined);
  });

  it("status=true for a global job asks only for the tasks still to complete", async () => {
    const job = await create(h(), { Name: "once", TaskTemplate: { ContainerSpec: { Image: "x" } }, Mode: { GlobalJob: {} } });
    await h().backend.addTask(job, { id: "g1", slot: 0, nodeId: MGR_ID, state: TaskState.COMPLETE, desiredState: TaskState.COMPLETE });
    await h().backend.addTask(job, { id: "g2", slot: 0, nodeId: WRK_ID, state: TaskState.RUNNING, desiredState: TaskState.COMPLETE });
    const [s] = JSON.parse((await h().call("GET", "/services?status=true")).body) as DockerService[];
    // Two eligible nodes (wrk2 is drained), one done.
    assert.deepEqual(s?.ServiceStatus, { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 1 });
  });

  it("GET /services/{x} finds by ID, name and ID prefix; an unknown one is a 404", async () => {
    const id = await create(h(), cliSpec());
    assert.equal((await inspect(h(), id)).ID, id);
    assert.equal((await inspect(h(), id.slice(0, 5))).ID, id);
    assert.equal((await inspect(h(), "WEB")).ID, id);
    const res = await h().call("GET", "/services/nosuch");
    assert.equal(res.statusCode, 404);
    assert.match(messageOf(res), /nosuch/);
  });

  it("an image reference that does not parse is a 400 saying why, on create and on update, and nothing is written", async () => {
    for (const image of ["busy box", "BusyBox", "app:-1", "reg.example:x/app"]) {
      const res = await h().call("POST", "/services/create", cliSpec("bad", image));
      assert.equal(res.statusCode, 400, `${image}: ${res.body}`);
      assert.match(messageOf(res), new RegExp(`^invalid TaskTemplate\\.ContainerSpec\\.Image "${image.replace(/[.]/g, "\\.")}": not a valid image reference: `));
    }
    assert.match(messageOf(await h().call("POST", "/services/create", cliSpec("bad", "BusyBox"))), /must be lowercase/);
    assert.equal(h().backend.store.view((tx) => tx.find("service").length), 0);
    const id = await create(h(), cliSpec("good", "registry.example:5000/team/app:1.2"));
    const before = await inspect(h(), id);
    const res = await h().call("POST", `/services/${id}/update?version=${before.Version.Index}`, cliSpec("good", "team/App"));
    assert.equal(res.statusCode, 400);
    assert.equal((await inspect(h(), id)).Version.Index, before.Version.Index, "a refused update writes nothing");
  });

  it("a port published in ingress mode with endpoint mode dnsrr is a 400 (no virtual IP); host mode is fine", async () => {
    const spec = (mode: string): Record<string, unknown> => ({ ...cliSpec("rr"), EndpointSpec: { Mode: "dnsrr", Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8088, PublishMode: mode }] } });
    const res = await h().call("POST", "/services/create", spec("ingress"));
    assert.equal(res.statusCode, 400);
    assert.match(messageOf(res), /^invalid EndpointSpec: port 8088:80 is published in ingress mode, which needs a virtual IP, and endpoint mode dnsrr has none/);
    assert.equal((await h().call("POST", "/services/create", spec("host"))).statusCode, 201);
  });

  it("a mount or resource no task could start with is a 400 naming it, and nothing is written", async () => {
    const spec = cliSpec("m");
    (spec["TaskTemplate"] as { ContainerSpec: Record<string, unknown> }).ContainerSpec["Mounts"] = [{ Type: "bind", Target: "/data" }];
    const res = await h().call("POST", "/services/create", spec);
    assert.equal(res.statusCode, 400);
    assert.equal(messageOf(res), "invalid TaskTemplate.ContainerSpec.Mounts: the bind mount at /data needs a Source: an absolute path on the node");
    const mem = cliSpec("m");
    (mem["TaskTemplate"] as Record<string, unknown>)["Resources"] = { Limits: { MemoryBytes: 1000 } };
    assert.match(messageOf(await h().call("POST", "/services/create", mem)), /^invalid TaskTemplate\.Resources\.Limits\.MemoryBytes 1000: at least 4194304/);
    assert.equal(h().backend.store.view((tx) => tx.find("service").length), 0);
  });

  it("an update that changes the service's mode is a 400 and writes nothing (each mode's orchestrator owns its tasks)", async () => {
    const id = await create(h(), { ...cliSpec("everywhere"), Mode: { Global: {} } });
    const before = await inspect(h(), id);
    for (const Mode of [{ Replicated: { Replicas: 3 } }, { GlobalJob: {} }]) {
      const res = await h().call("POST", `/services/${id}/update?version=${before.Version.Index}`, { ...cliSpec("everywhere"), Mode });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(messageOf(res), /^service mode change is not allowed: everywhere is global, the spec makes it (replicated|global-job); remove the service and create it again$/);
    }
    assert.equal((await inspect(h(), id)).Version.Index, before.Version.Index);
    const same = await h().call("POST", `/services/${id}/update?version=${before.Version.Index}`, { ...cliSpec("everywhere", "busybox:2"), Mode: { Global: {} } });
    assert.equal(same.statusCode, 200, same.body);
  });

  it("update replaces the spec, keeps the old one as PreviousSpec and clears the update status", async () => {
    const id = await create(h(), cliSpec());
    await h().backend.store.update((tx) => {
      const s = tx.get("service", id)!;
      tx.update("service", { ...s, updateStatus: { state: UpdateState.COMPLETED, startedAt: 1, completedAt: 2, message: "update completed" } });
    });
    const before = await inspect(h(), id);
    assert.equal(before.UpdateStatus?.State, "completed");
    const res = await h().call("POST", `/services/${id}/update?version=${before.Version.Index}&registryAuthFrom=spec`, cliSpec("web", "busybox:2"));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { Warnings: null });
    const after = await inspect(h(), id);
    assert.ok(after.Version.Index > before.Version.Index);
    assert.equal((after.Spec.TaskTemplate["ContainerSpec"] as { Image: string }).Image, "busybox:2");
    assert.equal((after.PreviousSpec?.TaskTemplate["ContainerSpec"] as { Image: string }).Image, "busybox:latest");
    assert.equal(after.UpdateStatus, undefined);
  });

  it("an update with a stale version is a 409 'update out of sequence'", async () => {
    const id = await create(h(), cliSpec());
    const s = await inspect(h(), id);
    assert.equal((await h().call("POST", `/services/${id}/update?version=${s.Version.Index}`, cliSpec("web", "busybox:2"))).statusCode, 200);
    const stale = await h().call("POST", `/services/${id}/update?version=${s.Version.Index}`, cliSpec("web", "busybox:3"));
    assert.equal(stale.statusCode, 409);
    assert.match(messageOf(stale), /update out of sequence/);
    const missing = await h().call("POST", `/services/${id}/update`, cliSpec());
    assert.equal(missing.statusCode, 400);
    const renamed = await h().call("POST", `/services/${id}/update?version=${(await inspect(h(), id)).Version.Index}`, cliSpec("other"));
    assert.equal(renamed.statusCode, 400);
    assert.match(messageOf(renamed), /renaming services is not supported/);
  });

  it("rollback=previous swaps the spec and the previous spec and starts a rollback", async () => {
    const id = await create(h(), cliSpec());
    const noPrevious = await h().call("POST", `/services/${id}/update?version=${(await inspect(h(), id)).Version.Index}&rollback=previous`, cliSpec());
    assert.equal(noPrevious.statusCode, 400);
    assert.match(messageOf(noPrevious), /does not have a previous spec/);
    await h().call("POST", `/services/${id}/update?version=${(await inspect(h(), id)).Version.Index}`, cliSpec("web", "busybox:2"));
    const s = await inspect(h(), id);
    const res = await h().call("POST", `/services/${id}/update?version=${s.Version.Index}&rollback=previous`, s.Spec);
    assert.equal(res.statusCode, 200, res.body);
    const after = await inspect(h(), id);
    assert.equal((after.Spec.TaskTemplate["ContainerSpec"] as { Image: string }).Image, "busybox:latest");
    assert.equal((after.PreviousSpec?.TaskTemplate["ContainerSpec"] as { Image: string }).Image, "busybox:2");
    assert.equal(after.UpdateStatus?.State, "rollback_started");
  });

  it("DELETE marks the service for the orchestrator to remove; it is gone for the API at once", async () => {
    const id = await create(h(), cliSpec());
    const res = await h().call("DELETE", "/services/web");
    assert.equal(res.statusCode, 200);
    const stored = h().backend.store.view((tx) => tx.get("service", id));
    assert.equal(stored?.pendingDelete, true);
    assert.equal((await h().call("GET", `/services/${id}`)).statusCode, 404);
    assert.deepEqual(JSON.parse((await h().call("GET", "/services")).body), []);
    assert.equal((await h().call("DELETE", "/services/web")).statusCode, 404);
    const again = await h().call("POST", "/services/create", cliSpec());
    assert.equal(again.statusCode, 409);
    assert.match(messageOf(again), /service web is being removed/);
  });

  it("GET /services/{id}/logs and /tasks/{id}/logs answer 501 saying why, and 404 for an unknown name", async () => {
    const id = await create(h(), cliSpec());
    const svc = await h().call("GET", `/v1.50/services/${id}/logs?stdout=1&stderr=1&tail=all`);
    assert.equal(svc.statusCode, 501);
    assert.match(messageOf(svc), /logs are not available yet: tasks run in the simulated executor/);
    const unknown = await h().call("GET", "/services/nosuch/logs?stdout=1");
    assert.equal(unknown.statusCode, 404);
    assert.match(messageOf(unknown), /no such service: nosuch/);
    await h().backend.addTask(id, { id: "logtask1aaaaaaaaaaaaaaaaa", slot: 1, nodeId: "" });
    const task = await h().call("GET", "/tasks/logtask1/logs?stdout=1");
    assert.equal(task.statusCode, 501);
    assert.match(messageOf(task), /logs are not available yet/);
    assert.equal((await h().call("GET", "/tasks/nosuch/logs?stdout=1")).statusCode, 404);
  });

  it("/networks, /secrets and /configs answer 501 saying what is not built yet, for every method and sub-path but inspect", async () => {
    for (const [method, url, why] of [
      ["GET", "/v1.50/networks", /networks are not available yet: overlay networking is not built/],
      ["GET", "/networks/foo/bar", /networks are not available yet/],
      ["POST", "/networks/create", /networks are not available yet/],
      ["GET", "/v1.50/secrets?filters=%7B%7D", /secrets are not available yet/],
      ["POST", "/secrets/create", /secrets are not available yet/],
      ["DELETE", "/configs/abc", /configs are not available yet/],
    ] as const) {
      const res = await h().call(method, url, method === "POST" ? { Name: "x" } : undefined);
      assert.equal(res.statusCode, 501, `${method} ${url}: ${res.body}`);
      assert.match(messageOf(res), why);
    }
    // Inspecting one is a 404 (none exists): `docker inspect ID` goes on to nodes, services, tasks.
    for (const [url, want] of [
      ["/v1.50/networks/foo?scope=swarm", /^network foo not found: networks are not available yet/],
      ["/secrets/abc", /^secret abc not found: secrets are not available yet/],
      ["/configs/abc", /^config abc not found: configs are not available yet/],
    ] as const) {
      const res = await h().call("GET", url);
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.match(messageOf(res), want);
    }
  });

  it("GET /distribution/{image}/json answers 501 saying the reference is used as given", async () => {
    const res = await h().call("GET", "/v1.50/distribution/registry.example:5000/team/app:1/json");
    assert.equal(res.statusCode, 501);
    assert.match(messageOf(res), /image reference is used as given/);
  });
});
