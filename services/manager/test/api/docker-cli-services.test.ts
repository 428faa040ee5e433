// The stock docker CLI's service commands against the API (fake backend, unix socket): the CLI
// decodes strictly and builds its update bodies from what inspect answered, so these prove the
// shapes round-trip. Tasks are seeded in the store as the orchestrator would make them.
import assert from "node:assert/strict";
import { TaskState } from "@shoal/store";
import { MGR_ID, WRK_ID } from "./fake-backend.js";
import { useDockerCli } from "./docker-cli-harness.js";

describe("api with the docker CLI: services and tasks", () => {
  const cli = useDockerCli();
  const docker = cli.docker;

  function stored(): { id: string; replicas: number | undefined; image: string | undefined; previousReplicas: number | undefined } {
    const s = cli.backend().store.view((tx) => tx.lookup("service", "web"));
    return { id: s.id, replicas: s.spec.replicated?.replicas, image: s.spec.task.container?.image, previousReplicas: s.previousSpec?.replicated?.replicas };
  }

  // The steps build on each other, in order: create, read, update, scale, rollback, remove.
  let id = "";

  it("docker service create -d makes the service (digest resolution is skipped with a warning) and prints its ID", async () => {
    const r = await docker("service", "create", "-d", "--name", "web", "--replicas", "3", "busybox", "sleep", "1d");
    assert.equal(r.code, 0, r.stderr);
    id = stored().id;
    assert.equal(r.stdout.trim(), id);
    assert.match(r.stderr, /image busybox:latest could not be accessed on a registry to record\s+its digest/);
    assert.deepEqual(stored(), { id, replicas: 3, image: "busybox:latest", previousReplicas: undefined });
    const s = cli.backend().store.view((tx) => tx.get("service", id)!);
    assert.deepEqual(s.spec.task.container?.args, ["sleep", "1d"]);
  });

  it("a second docker service create with the same name fails with the daemon's conflict message", async () => {
    const r = await docker("service", "create", "-d", "--name", "web", "busybox");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error response from daemon: .*name conflicts with an existing object/);
  });

  it("docker service ls shows the service with running/desired replicas", async () => {
    await cli.backend().addTask(id, { id: "webtask1aaaaaaaaaaaaaaaaa", slot: 1, nodeId: MGR_ID });
    await cli.backend().addTask(id, { id: "webtask2aaaaaaaaaaaaaaaaa", slot: 2, nodeId: WRK_ID });
    await cli.backend().addTask(id, { id: "webtask3aaaaaaaaaaaaaaaaa", slot: 3, nodeId: WRK_ID, state: TaskState.PREPARING });
    const r = await docker("service", "ls");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${id.slice(0, 12)}\\s+web\\s+replicated\\s+2/3\\s+busybox`));
  });

  it("docker service inspect answers the spec with Docker's defaults", async () => {
    const r = await docker("service", "inspect", "web");
    assert.equal(r.code, 0, r.stderr);
    const [s] = JSON.parse(r.stdout) as { ID: string; Spec: { Name: string; Mode: unknown; UpdateConfig: { Parallelism: number; Order: string }; TaskTemplate: { ContainerSpec: { Image: string } } } }[];
    assert.equal(s?.ID, id);
    assert.deepEqual(s?.Spec.Mode, { Replicated: { Replicas: 3 } });
    assert.equal(s?.Spec.UpdateConfig.Parallelism, 1);
    assert.equal(s?.Spec.UpdateConfig.Order, "stop-first");
    const pretty = await docker("service", "inspect", "--pretty", "web");
    assert.equal(pretty.code, 0, pretty.stderr);
    assert.match(pretty.stdout, /Replicas:\s+3/);
  });

  it("docker service ps lists the tasks with their nodes and states", async () => {
    const r = await docker("service", "ps", "web");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /webtask1aaaa\s+web\.1\s+busybox:latest\s+mgr1\s+Running\s+Running/);
    assert.match(r.stdout, /webtask2aaaa\s+web\.2\s+busybox:latest\s+wrk1\s+Running\s+Running/);
    assert.match(r.stdout, /webtask3aaaa\s+web\.3\s+busybox:latest\s+wrk1\s+Running\s+Preparing/);
  });

  it("docker node ps lists the tasks of a node by ID or hostname", async () => {
    const self = await docker("node", "ps", "self");
    assert.equal(self.code, 0, self.stderr);
    assert.match(self.stdout, /webtask1aaaa\s+web\.1\s+busybox:latest\s+mgr1/);
    assert.doesNotMatch(self.stdout, /webtask2/);
    const wrk = await docker("node", "ps", "wrk1");
    assert.equal(wrk.code, 0, wrk.stderr);
    assert.match(wrk.stdout, /webtask2aaaa/);
    assert.match(wrk.stdout, /webtask3aaaa/);
  });

  it("docker inspect finds a task, a service and a node by ID or name (it asks for networks first)", async () => {
    for (const [ref, format, want] of [
      ["webtask1aaaa", "{{.ServiceID}} {{.Slot}}", `${id} 1`],
      ["web", "{{.ID}} {{.Spec.Name}}", `${id} web`],
      ["wrk1", "{{.ID}}", WRK_ID],
    ] as const) {
      const r = await docker("inspect", "--format", format, ref);
      assert.equal(r.code, 0, `docker inspect ${ref}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), want);
    }
    const none = await docker("inspect", "nosuch");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No such object: nosuch/);
  });

  it("docker service logs exits 1 with the daemon's reason that there are no logs yet", async () => {
    const r = await docker("service", "logs", "web");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error response from daemon: logs are not available yet: tasks run in the simulated executor/);
  });

  it("docker network, secret and config commands exit 1 saying these are not built yet", async () => {
    for (const [args, why] of [
      [["network", "ls"], /networks are not available yet/],
      [["secret", "ls"], /secrets are not available yet/],
      [["config", "ls"], /configs are not available yet/],
      [["service", "create", "-d", "--network", "front", "busybox"], /networks are not available yet/],
    ] as const) {
      const r = await docker(...args);
      assert.equal(r.code, 1, `docker ${args.join(" ")}: ${r.stdout}`);
      assert.match(r.stderr, why);
    }
  });

  it("docker service update -d --replicas 5 replaces the spec and keeps the previous one", async () => {
    const r = await docker("service", "update", "-d", "--replicas", "5", "web");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(stored(), { id, replicas: 5, image: "busybox:latest", previousReplicas: 3 });
  });

  it("docker service scale -d web=2 sets the replicas", async () => {
    const r = await docker("service", "scale", "-d", "web=2");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /web scaled to 2/);
    assert.deepEqual(stored(), { id, replicas: 2, image: "busybox:latest", previousReplicas: 5 });
  });

  it("docker service rollback -d returns to the previous spec", async () => {
    const r = await docker("service", "rollback", "-d", "web");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(stored(), { id, replicas: 5, image: "busybox:latest", previousReplicas: 2 });
    const status = await docker("service", "inspect", "-f", "{{.UpdateStatus.State}}", "web");
    assert.equal(status.stdout.trim(), "rollback_started");
  });

  it("docker service create without -d waits until the up-to-date tasks run, then reports convergence", async () => {
    const created = docker("service", "create", "--name", "api", "--update-monitor", "1ms", "busybox", "sleep", "1d");
    // Play the orchestrator, scheduler and agent: once the service exists, its one task runs.
    let apiId: string | undefined;
    for (let i = 0; i < 100 && apiId === undefined; i++) {
      apiId = cli.backend().store.view((tx) => tx.find("service", { name: "api" })[0]?.id);
      if (apiId === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(apiId !== undefined, "the CLI created the service");
    await cli.backend().addTask(apiId, { id: "apitask1aaaaaaaaaaaaaaaaa", slot: 1, nodeId: MGR_ID });
    const r = await created;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(apiId));
    assert.match(r.stderr + r.stdout, /converged/);
  });

  it("docker service rm removes the service for the API at once", async () => {
    const r = await docker("service", "rm", "web");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "web");
    const ls = await docker("service", "ls", "-q");
    assert.doesNotMatch(ls.stdout, new RegExp(id.slice(0, 12)));
    const gone = await docker("service", "inspect", "web");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no such service: web/i);
  });
});
