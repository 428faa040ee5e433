import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeApi } from "./support/fake-api.js";
import { info, managerNode, V } from "./support/fixtures.js";

// The committed launcher that `npx shoal` runs (dist/test/ → ../../bin/).
const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "shoal.js");

function spawnShoal(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Asynchronous on purpose: the fake API answers from this process's event loop.
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stdout, stderr });
    });
  });
}

describe("bin/shoal.js (the real process)", () => {
  let api: FakeApi;

  before(async () => {
    api = await FakeApi.start();
    api.on("GET", `${V}/nodes`, { body: [managerNode()] }).on("GET", `${V}/info`, { body: info() });
  });

  after(async () => {
    await api.close();
  });

  it("lists nodes and exits 0", async () => {
    const r = await spawnShoal(["node", "ls", "-q"], { SHOAL_HOST: `unix://${api.socketPath}` });
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${managerNode().ID}\n`);
  });

  it("exits 1 with a single stderr line and no stack when the API is unreachable", async () => {
    const sock = join(api.dir, "absent.sock");
    const r = await spawnShoal(["node", "ls"], { SHOAL_HOST: `unix://${sock}` });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `Error: cannot reach the shoal API at unix://${sock} (no such socket): is shoald running?\n`);
  });

  it("exits 2 with a single stderr line for a bad flag", async () => {
    const r = await spawnShoal(["swarm", "update", "--cert-expiry", "soon"], { SHOAL_HOST: `unix://${api.socketPath}` });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split("\n").length, 2);
    assert.match(r.stderr, /^Error: option '--cert-expiry <duration>' argument 'soon' is invalid/);
  });
});
