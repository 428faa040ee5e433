import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeApi, shoal } from "./support/fake-api.js";
import { info, managerNode, V } from "./support/fixtures.js";

describe("run (exit codes, errors, host selection)", () => {
  let api: FakeApi;
  let other: FakeApi;

  beforeEach(async () => {
    api = await FakeApi.start();
    other = await FakeApi.start();
    for (const a of [api, other]) a.on("GET", `${V}/nodes`, { body: [managerNode()] }).on("GET", `${V}/info`, { body: info() });
  });

  afterEach(async () => {
    await api.close();
    await other.close();
  });

  it("turns an API {message} into one 'Error:' line and exit 1", async () => {
    api.on("GET", `${V}/nodes`, { status: 503, body: { message: 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.' } });
    const r = await shoal(api, ["node", "ls"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, 'Error: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n');
  });

  it("keeps a multi-line or plain-text error body on one line", async () => {
    api.on("GET", `${V}/nodes`, { status: 500, text: "boom:\n  raft unavailable\n" });
    const r = await shoal(api, ["node", "ls"]);
    assert.equal(r.stderr, "Error: boom: raft unavailable\n");
    api.on("GET", `${V}/nodes`, { status: 500 });
    assert.equal((await shoal(api, ["node", "ls"])).stderr, "Error: the API answered 500 Internal Server Error with no message\n");
  });

  it("names the socket it could not reach and hints at shoald, exit 1", async () => {
    const sock = join(api.dir, "nobody-here.sock");
    const r = await shoal(undefined, ["node", "ls"], { env: { SHOAL_HOST: `unix://${sock}` } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: cannot reach the shoal API at unix://${sock} (no such socket): is shoald running?\n`);
  });

  it("exits 2 with one line for an unknown flag, suggesting the close one, and sends nothing", async () => {
    const r = await shoal(api, ["node", "rm", "--forse", "wrk1"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "Error: unknown option '--forse' (Did you mean --force?). See 'shoal node rm --help'.\n");
    assert.deepEqual(api.calls(), []);
  });

  it("exits 2 with one line for an unknown command and for a group without its subcommand", async () => {
    const unknown = await shoal(api, ["nodes", "ls"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^Error: unknown command 'nodes' \(Did you mean node\?\)\. See 'shoal --help'\.\n$/);
    const group = await shoal(api, ["node"]);
    assert.equal(group.code, 2);
    assert.equal(group.stderr, "Error: missing command: use one of ls, inspect, update, promote, demote, rm, ps. See 'shoal node --help'.\n");
    const extra = await shoal(api, ["swarm", "leave", "now"]);
    assert.equal(extra.code, 2);
  });

  it("prints help on stdout with exit 0", async () => {
    const r = await shoal(api, ["node", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: shoal node \[options\] \[command\]/);
    assert.equal(r.stderr, "");
  });

  it("refuses a malformed host with exit 2", async () => {
    const r = await shoal(undefined, ["node", "ls"], { env: { SHOAL_HOST: "ssh://mgr1" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Error: invalid host "ssh:\/\/mgr1"/);
  });

  it("takes -H over SHOAL_HOST, SHOAL_HOST over DOCKER_HOST, and DOCKER_HOST when alone", async () => {
    await shoal(undefined, ["-H", `unix://${api.socketPath}`, "node", "ls", "-q"], { env: { SHOAL_HOST: `unix://${other.socketPath}` } });
    assert.equal(api.requests.length, 1);
    assert.equal(other.requests.length, 0);
    await shoal(undefined, ["node", "ls", "-q"], { env: { SHOAL_HOST: other.socketPath, DOCKER_HOST: `unix://${api.socketPath}` } });
    assert.equal(other.requests.length, 1);
    await shoal(undefined, ["node", "ls", "-q"], { env: { SHOAL_HOST: "", DOCKER_HOST: `unix://${api.socketPath}` } });
    assert.equal(api.requests.length, 2);
  });

  it("traces each exchange on stderr with SHOAL_DEBUG=1", async () => {
    const r = await shoal(api, ["node", "ls", "-q"], { env: { SHOAL_DEBUG: "1" } });
    assert.equal(r.stderr, `debug: GET ${V}/nodes -> 200\n`);
  });
});
