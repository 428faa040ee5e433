import assert from "node:assert/strict";
import { TaskState } from "@shoal/store";
import { MGR_ID, NOW_MS, WRK_ID } from "../fake-backend.js";
import { messageOf, useHarness } from "../helpers.js";

interface DockerTask {
  ID: string;
  Name?: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { Timestamp: string; State: string; Message: string; Err?: string; ContainerStatus?: Record<string, unknown> };
  Spec: { ContainerSpec: { Image: string } };
  Labels: Record<string, string>;
}

function filters(f: Record<string, Record<string, boolean>>): string {
  return encodeURIComponent(JSON.stringify(f));
}

describe("api routes: /tasks", () => {
  const h = useHarness();
  let web: string;
  let db: string;

  beforeEach(async () => {
    const create = async (name: string, labels: Record<string, string>): Promise<string> => {
      const res = await h().call("POST", "/services/create", { Name: name, Labels: labels, TaskTemplate: { ContainerSpec: { Image: `${name}:1` } }, Mode: { Replicated: { Replicas: 2 } } });
      assert.equal(res.statusCode, 201, res.body);
      return (JSON.parse(res.body) as { ID: string }).ID;
    };
    web = await create("web", { "com.docker.stack.namespace": "app" });
    db = await create("db", {});
    const b = h().backend;
    await b.addTask(web, { id: "webtask1aaaaaaaaaaaaaaaaa", slot: 1, nodeId: MGR_ID });
    await b.addTask(web, { id: "webtask2aaaaaaaaaaaaaaaaa", slot: 2, nodeId: WRK_ID, stale: true });
    await b.addTask(web, { id: "webtask3aaaaaaaaaaaaaaaaa", slot: 2, nodeId: WRK_ID, state: TaskState.SHUTDOWN, desiredState: TaskState.SHUTDOWN });
    await b.addTask(db, { id: "dbtask1aaaaaaaaaaaaaaaaaa", slot: 1, nodeId: WRK_ID, state: TaskState.PENDING });
  });

  async function ids(query: string): Promise<string[]> {
    const res = await h().call("GET", `/v1.50/tasks${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return (JSON.parse(res.body) as DockerTask[]).map((t) => t.ID.slice(0, 8)).sort();
  }

  it("lists every task in Docker's shape with lowercase state names", async () => {
    const res = await h().call("GET", "/tasks");
    const tasks = JSON.parse(res.body) as DockerTask[];
    assert.equal(tasks.length, 4);
    const t = tasks.find((x) => x.ID === "webtask1aaaaaaaaaaaaaaaaa")!;
    assert.equal(t.ServiceID, web);
    assert.equal(t.Slot, 1);
    assert.equal(t.NodeID, MGR_ID);
    assert.equal(t.DesiredState, "running");
    assert.equal(t.Name, "web.1.webtask1aaaaaaaaaaaaaaaaa");
    assert.deepEqual(t.Status, { Timestamp: new Date(NOW_MS).toISOString(), State: "running", Message: "started", PortStatus: {} });
    assert.equal(t.Spec.ContainerSpec.Image, "web:1");
    const pending = tasks.find((x) => x.ID.startsWith("dbtask1"))!;
    assert.equal(pending.Status.State, "pending");
  });

  it("filters by service ID or name, and an unknown service matches nothing", async () => {
    assert.deepEqual(await ids(`?filters=${filters({ service: { [web]: true } })}`), ["webtask1", "webtask2", "webtask3"]);
    assert.deepEqual(await ids(`?filters=${filters({ service: { db: true } })}`), ["dbtask1a"]);
    assert.deepEqual(await ids(`?filters=${filters({ service: { nosuch: true } })}`), []);
  });

  it("filters by node ID or hostname (docker node ps)", async () => {
    assert.deepEqual(await ids(`?filters=${filters({ node: { [MGR_ID]: true } })}`), ["webtask1"]);
    assert.deepEqual(await ids(`?filters=${filters({ node: { wrk1: true } })}`), ["dbtask1a", "webtask2", "webtask3"]);
  });

  it("filters by desired state, id prefix, name prefix and service label", async () => {
    assert.deepEqual(await ids(`?filters=${filters({ "desired-state": { running: true } })}`), ["dbtask1a", "webtask1", "webtask2"]);
    assert.deepEqual(await ids(`?filters=${filters({ "desired-state": { shutdown: true } })}`), ["webtask3"]);
    assert.deepEqual(await ids(`?filters=${filters({ id: { webtask1: true } })}`), ["webtask1"]);
    assert.deepEqual(await ids(`?filters=${filters({ name: { "web.2": true } })}`), ["webtask2", "webtask3"]);
    assert.deepEqual(await ids(`?filters=${filters({ label: { "com.docker.stack.namespace=app": true } })}`), ["webtask1", "webtask2", "webtask3"]);
    const bad = await h().call("GET", `/tasks?filters=${filters({ "desired-state": { sleeping: true } })}`);
    assert.equal(bad.statusCode, 400);
    assert.match(messageOf(bad), /desired-state=sleeping/);
  });

  it("_up-to-date keeps the tasks whose template is the service's current one (the CLI's convergence poll)", async () => {
    const q = `?filters=${filters({ "_up-to-date": { true: true }, service: { [web]: true } })}`;
    assert.deepEqual(await ids(q), ["webtask1", "webtask3"]);
    // Scaling changes the service but not its template: the tasks stay up to date.
    const s = h().backend.store.view((tx) => tx.get("service", web)!);
    const spec = { Name: "web", Labels: { "com.docker.stack.namespace": "app" }, TaskTemplate: { ContainerSpec: { Image: "web:1" } }, Mode: { Replicated: { Replicas: 5 } } };
    assert.equal((await h().call("POST", `/services/${web}/update?version=${s.meta.version.index}`, spec)).statusCode, 200);
    assert.deepEqual(await ids(q), ["webtask1", "webtask3"]);
    // A new image makes every existing task stale.
    const s2 = h().backend.store.view((tx) => tx.get("service", web)!);
    const res = await h().call("POST", `/services/${web}/update?version=${s2.meta.version.index}`, { ...spec, TaskTemplate: { ContainerSpec: { Image: "web:2" } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await ids(q), []);
  });

  it("GET /tasks/{id} finds a task by ID or unique prefix; an unknown one is a 404", async () => {
    const res = await h().call("GET", "/tasks/dbtask1");
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((JSON.parse(res.body) as DockerTask).ServiceID, db);
    assert.equal((await h().call("GET", "/tasks/nosuch")).statusCode, 404);
  });
});
