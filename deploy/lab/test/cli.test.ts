import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { leaks, NO_LEAKS, randomLabId } from "../src/leaks.js";

// The committed bin that `npx shoal-lab` runs (dist/test/ -> ../../bin/).
const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "shoal-lab.js");

describe("shoal-lab CLI", function () {
  this.timeout(120_000);
  const labId = randomLabId();
  let root: string;

  const cli = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [BIN, "--lab", labId, ...args], {
      encoding: "utf8",
      env: { ...process.env, SHOAL_LAB_ROOT: root, SHOAL_LAB: "" },
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), "shoal-lab-cli-"));
  });

  after(() => {
    cli("down");
    assert.deepEqual(leaks(labId), NO_LEAKS);
    rmSync(root, { recursive: true, force: true });
  });

  it("runs a lab end to end: up, ls, env, exec with exit code, kill, start, partition, heal, down", () => {
    const up = cli("up", "--managers", "1", "--workers", "1", "--", "sleep", "{role}-infinity-is-not-a-number");
    // {role} is expanded per host, so this command fails at once on every host and up cleans up.
    assert.equal(up.code, 1);
    assert.match(up.stderr, /^shoal-lab: manager1: exited .*invalid time interval.*\[LAB_HOST_START_FAILED\]\n$/);
    assert.deepEqual(leaks(labId), NO_LEAKS);

    assert.equal(cli("up", "--managers", "1", "--workers", "1").code, 0);
    const ls = cli("ls");
    assert.equal(ls.code, 0);
    const lines = ls.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^NAME\s+ROLE\s+ADDRESS\s+PID\s+STATE$/);
    assert.match(lines[1]!, /^manager1\s+manager\s+10\.99\.0\.1\s+\d+\s+running$/);
    assert.match(lines[2]!, /^worker1\s+worker\s+10\.99\.0\.2\s+\d+\s+running$/);

    const sock = join(root, labId, "worker1", "api.sock");
    assert.equal(cli("env", "worker1").stdout, `export SHOAL_HOST=unix://${sock} DOCKER_HOST=unix://${sock}\n`);

    const ex = cli("exec", "worker1", "--", "sh", "-c", "hostname; exit 5");
    assert.equal(ex.code, 5);
    assert.equal(ex.stdout, "worker1\n");

    assert.equal(cli("kill", "worker1").code, 0);
    assert.match(cli("ls").stdout, /worker1\s+worker\s+10\.99\.0\.2\s+-\s+down/);
    assert.equal(cli("start", "worker1").code, 0);
    assert.match(cli("ls").stdout, /worker1\s+worker\s+10\.99\.0\.2\s+\d+\s+running/);

    assert.equal(cli("partition", "worker1").code, 0);
    assert.notEqual(cli("exec", "manager1", "--", "ping", "-c", "2", "-i", "0.4", "-w", "1", "10.99.0.2").code, 0);
    assert.equal(cli("heal").code, 0);
    assert.equal(cli("exec", "manager1", "--", "ping", "-c", "1", "-w", "5", "10.99.0.2").code, 0);

    assert.equal(cli("down").code, 0);
    assert.deepEqual(leaks(labId), NO_LEAKS);
    assert.equal(cli("down").code, 0);
  });

  it("says what is wrong in one line and exits non-zero", () => {
    const usage = cli("frobnicate");
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^shoal-lab: unknown command frobnicate\n/);

    const bad = cli("up", "--managers", "many");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--managers must be a whole number/);

    const missing = cli("ls");
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.split("\n").length, 2);
    assert.match(missing.stderr, /^shoal-lab: no lab .* \[LAB_NOT_FOUND\]\n$/);
  });
});
