// The showcase (`npm run demo`, README's first command) run as a user runs it, on a lab of its own:
// every step must succeed (a failed shoal command makes the demo exit 1), the story must reach its
// end (service spread and moved off a lost worker, rolling update, leader failover, restarts),
// and the lab must leave nothing behind.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@shoal/common";
import { Lab, NO_LEAKS, leaks, randomLabId } from "@shoal/lab";

const REPO = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..", "..");
const DEMO = join(REPO, "test", "dist", "src", "demo", "swarm-demo.js");

describe("the showcase (npm run demo)", function () {
  this.timeout(300_000);
  const labId = randomLabId();
  let child: ChildProcess | undefined;

  after(async () => {
    // A demo cut short by the test's timeout: stop it and take its lab down.
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Lab({ labId }, { logger: silentLogger() }).down().catch(() => undefined);
    }
    assert.deepEqual(leaks(labId), NO_LEAKS, "the demo's lab left something behind");
  });

  it("runs every step to the end and exits 0", async () => {
    const proc = spawn(process.execPath, [DEMO], { env: { ...process.env, SHOAL_DEMO_LAB: labId }, stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => proc.once("exit", (c) => res(c)));
    const said = `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
    assert.equal(code, 0, `the demo exited ${code}\n${said}`);
    assert.doesNotMatch(stdout, /\(failed\)/, said);
    // The service's story: spread, moved off the killed worker, updated in place.
    assert.match(stdout, /verify: Service web converged/, said);
    assert.match(stdout, /All 6 tasks running again, none on worker2, [\d.]+ s after the kill/, said);
    assert.match(stdout, /web\s+replicated\s+6\/6\s+busybox:1\.37/, said);
    // The leader's: a new one elected, a write through a follower, the old one back.
    assert.match(stdout, /New leader: manager\d, elected [\d.]+ s after the kill/, said);
    assert.match(stdout, /label worker1 zone=east → HTTP 200/, said);
    assert.match(stdout, /Lab removed\./, said);
  });
});
