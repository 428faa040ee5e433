import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { crashEntryData } from "./crash-writer.js";
import { storageFixture } from "./helpers.js";

const WRITER = fileURLToPath(new URL("./crash-writer.js", import.meta.url));
const PER_BATCH = 8;

/** Runs the writer until it has acknowledged at least `acks` batches, then SIGKILLs it mid-stream. */
function runAndKill(dir: string, acks: number, children: ChildProcess[]): Promise<{ startedAt: number; lastAck: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(PER_BATCH)], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    let startedAt = -1;
    let lastAck = 0;
    let seen = 0;
    let killed = false;
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const lines = out.split("\n");
      out = lines.pop()!;
      for (const line of lines) {
        const [kind, n] = line.split(" ");
        if (kind === "ready") startedAt = Number(n);
        if (kind === "ack" && !killed) {
          lastAck = Number(n);
          if (++seen >= acks) {
            killed = true;
            child.kill("SIGKILL"); // the writer is already inside its next save
          }
        }
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve({ startedAt, lastAck });
      else reject(new Error(`writer exited with ${code}: ${err}`));
    });
  });
}

describe("LevelStorage crash safety", function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  // Registered before the fixture's hook so a writer left running (a timed-out test) dies before its
  // directory is removed.
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });
  const fx = storageFixture();

  it("keeps every acknowledged batch, and only whole batches, across SIGKILLs mid-stream", async () => {
    const dir = fx.dir();
    let acknowledged = 0;
    for (const acks of [40, 7, 25]) {
      const { startedAt, lastAck } = await runAndKill(dir, acks, children);
      assert.ok(startedAt >= acknowledged, `restart found ${startedAt} entries, ${acknowledged} were acknowledged`);
      acknowledged = lastAck;

      const s = await fx.open(dir);
      const { entries, hardState } = await s.load();
      await s.close();
      const last = entries.at(-1)?.index ?? 0;
      assert.ok(last >= acknowledged, `log ends at ${last} but ${acknowledged} was acknowledged`);
      assert.equal(last % PER_BATCH, 0, `log ends inside a batch at ${last}`);
      assert.equal(hardState.commit, last, "hard state and entries come from the same batch");
      entries.forEach((e, i) => {
        assert.equal(e.index, i + 1);
        assert.deepStrictEqual(e.data, crashEntryData(e.index));
      });
    }
  });
});
