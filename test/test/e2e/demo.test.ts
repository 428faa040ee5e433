// The showcase (`npm run demo`, README's first command) run as a user runs it, on a lab of its own:
// every step must succeed (a failed shoal command makes the demo exit 1), the story must reach its
// end (service spread and moved off a lost worker, rolling update, leader failover, restarts),
// and the lab must leave nothing behind. The Raft-only demo (`npm run demo:raft`) runs too.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger, sleep } from "@shoal/common";
import { Lab, NO_LEAKS, leaks, randomLabId } from "@shoal/lab";

const REPO = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..", "..");
const DEMO = join(REPO, "test", "dist", "src", "demo", "swarm-demo.js");
const RAFT_DEMO = join(REPO, "test", "dist", "src", "demo", "raft-demo.js");

/** Runs a demo to its end: exit code and what it printed. */
function runDemo(script: string, env: Record<string, string>, started: (c: ChildProcess) => void): Promise<{ code: number | null; stdout: string; said: string }> {
  const proc = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  started(proc);
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
  return new Promise((res) => proc.once("close", (code) => res({ code, stdout, said: `--- stdout\n${stdout}\n--- stderr\n${stderr}` })));
}

describe("the demos", function () {
  this.timeout(300_000);
  const labId = randomLabId();
  const children: ChildProcess[] = [];

  after(async () => {
    // A demo cut short by the test's timeout: SIGTERM lets the Raft demo kill its members; what
    // does not exit in 10 s is SIGKILLed. The lab is taken down here either way.
    for (const c of children.filter((x) => x.exitCode === null && x.signalCode === null)) {
      const gone = new Promise((res) => c.once("exit", res));
      c.kill("SIGTERM");
      if ((await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)])) === false) c.kill("SIGKILL");
    }
    await new Lab({ labId }, { logger: silentLogger() }).down().catch(() => undefined);
    assert.deepEqual(leaks(labId), NO_LEAKS, "the demo's lab left something behind");
  });

  it("npm run demo: the showcase runs every step to the end and exits 0", async () => {
    const { code, stdout, said } = await runDemo(DEMO, { SHOAL_DEMO_LAB: labId }, (c) => children.push(c));
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

  it("npm run demo:raft: a key-value cluster keeps serving through a leader kill and loses nothing", async () => {
    const { code, stdout, said } = await runDemo(RAFT_DEMO, {}, (c) => children.push(c));
    assert.equal(code, 0, `the Raft demo exited ${code}\n${said}`);
    assert.match(stdout, /All data present on the rejoined member/, said);
  });
});
