// shoald as a process: init through its unix socket, a graceful SIGTERM, a restart that keeps the
// identity, and the TLS TCP API that admits only clients with a certificate from the swarm's CA.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SHOALD_NODE_FLAGS, freeLoopbackPorts, sleep } from "@shoal/common";

const BIN = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "bin", "shoald.js");

function unixCall(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((res, rej) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest({ socketPath, method, path, headers: payload === undefined ? {} : { "content-type": "application/json" } }, (r) => {
      let text = "";
      r.on("data", (c: Buffer) => (text += c.toString()));
      r.on("end", () => res({ status: r.statusCode ?? 0, body: (r.headers["content-type"] ?? "").includes("json") ? (JSON.parse(text) as unknown) : text }));
    });
    req.on("error", rej);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

async function waitForSocket(socketPath: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await unixCall(socketPath, "GET", "/_ping")).status === 200) return;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error("shoald's API did not come up");
}

describe("shoald (the process)", function () {
  this.timeout(60_000);
  let dir: string;
  let child: ChildProcess | undefined;

  const start = (args: string[]): ChildProcess => {
    child = spawn(process.execPath, [BIN, "--state-dir", join(dir, "state"), "--api-socket", join(dir, "api.sock"), "--hostname", "solo", "--log-level", "warn", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    return child;
  };
  const stop = async (): Promise<number | null> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return c?.exitCode ?? null;
    const done = new Promise<number | null>((r) => c.once("exit", (code) => r(code)));
    c.kill("SIGTERM");
    return done;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "shoald-main-"));
  });
  after(async () => {
    if (child !== undefined && child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs as its own executable, with Node's flags for shoald (SHOALD_NODE_FLAGS) on its first line", async () => {
    assert.equal(readFileSync(BIN, "utf8").split("\n")[0], `#!/usr/bin/env -S node ${SHOALD_NODE_FLAGS.join(" ")}`);
    // Started by that line, as `shoald` is: the flags must be ones node accepts.
    const c = spawn(BIN, ["--help"], { stdio: ["ignore", "pipe", "pipe"] });
    child = c; // after() kills it should it hang
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => c.once("exit", (n) => r(n)));
    child = undefined;
    assert.equal(code, 0, err);
    assert.match(out, /^usage: shoald /);
  });

  it("refuses a bad --heartbeat-grace with exit code 2 and a line that says what it must be", async () => {
    for (const [value, why] of [
      ["1", /--heartbeat-grace must be at least 2 \(heartbeat periods a node may miss\), got "1"/],
      ["x", /--heartbeat-grace must be a positive integer, got "x"/],
    ] as const) {
      const c = start(["--heartbeat-grace", value]);
      let err = "";
      c.stderr?.on("data", (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => c.once("exit", (n) => r(n)));
      child = undefined;
      assert.equal(code, 2, err);
      assert.match(err, why);
    }
  });

  it("inits through its socket, stops cleanly on SIGTERM, keeps its identity, and serves a TLS API only to swarm certificates", async () => {
    const [grpcPort, apiPort] = await freeLoopbackPorts(2);
    const sock = join(dir, "api.sock");
    start([]);
    await waitForSocket(sock);
    const init = await unixCall(sock, "POST", "/swarm/init", { ListenAddr: `127.0.0.1:${grpcPort}`, AdvertiseAddr: `127.0.0.1:${grpcPort}` });
    assert.equal(init.status, 200, JSON.stringify(init.body));
    const nodeId = init.body as string;
    // A second shoald on the same state dir (started by mistake, say by hand beside systemd's)
    // exits 1 naming the first, before it reads or writes anything; the first keeps serving.
    const second = spawn(process.execPath, [BIN, "--state-dir", join(dir, "state"), "--api-socket", join(dir, "second.sock"), "--log-level", "warn"], { stdio: ["ignore", "ignore", "pipe"] });
    let secondErr = "";
    second.stderr?.on("data", (d: Buffer) => (secondErr += d.toString()));
    assert.equal(await new Promise<number | null>((r) => second.once("exit", (n) => r(n))), 1);
    assert.equal(secondErr, `shoald: state dir ${join(dir, "state")} is in use by another shoald (pid ${child!.pid}); stop it first, or give this one its own --state-dir\n`);
    assert.equal(((await unixCall(sock, "GET", "/info")).body as { Swarm: { NodeID: string } }).Swarm.NodeID, nodeId);
    assert.equal(await stop(), 0);
    assert.equal(existsSync(join(dir, "state", "shoald.pid")), false, "a clean stop gives the state dir back");

    start(["--api-tcp", `127.0.0.1:${apiPort}`]);
    await waitForSocket(sock);
    const info = await unixCall(sock, "GET", "/info");
    assert.equal((info.body as { Swarm: { NodeID: string } }).Swarm.NodeID, nodeId);

    const certs = join(dir, "state", "certificates");
    const ca = readFileSync(join(certs, "root.crt"));
    const cert = readFileSync(join(certs, "node.crt"));
    const key = (JSON.parse(readFileSync(join(certs, "keys.json"), "utf8")) as { nodeKey: string }).nodeKey;
    const tlsGet = (withCert: boolean): Promise<number> =>
      new Promise((res, rej) => {
        const req = httpsRequest(
          { host: "127.0.0.1", port: apiPort, path: "/_ping", ca, servername: "shoal-manager", ...(withCert ? { cert, key } : {}), checkServerIdentity: () => undefined },
          (r) => {
            r.resume();
            r.on("end", () => res(r.statusCode ?? 0));
          },
        );
        req.on("error", rej);
        req.end();
      });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await tlsGet(true).then(() => true, () => false);
      if (!up) await sleep(50);
    }
    assert.equal(await tlsGet(true), 200);
    await assert.rejects(tlsGet(false));
    assert.equal(await stop(), 0);
  });
});
