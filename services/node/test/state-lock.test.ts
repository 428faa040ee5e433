// One shoald per state dir: the lock file is taken exclusively, a live shoald's lock is refused,
// and a lock left by a process that is gone (or by a PID that now belongs to another program) is
// taken over. Child processes stand in for the other daemon; each is killed by its PID.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STATE_LOCK_FILE, lockStateDir } from "../src/index.js";

describe("state dir lock (one shoald per state dir)", () => {
  let dir: string;
  const children: ChildProcess[] = [];

  const child = async (args: string[]): Promise<ChildProcess> => {
    const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", ...args], { stdio: "ignore" });
    children.push(c);
    await new Promise((r) => c.once("spawn", r));
    return c;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "shoal-lock-"));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** A process's start time, as the lock records it. */
  const startTime = (pid: number): string => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
  };
  const holder = (): string => readFileSync(join(dir, STATE_LOCK_FILE), "utf8");

  it("takes a free state dir and gives it back on release", async () => {
    const lock = await lockStateDir(dir);
    assert.equal(holder(), `${process.pid} ${startTime(process.pid)}\n`);
    await lock.release();
    assert.equal(existsSync(join(dir, STATE_LOCK_FILE)), false);
    await (await lockStateDir(dir)).release();
  });

  it("refuses a state dir a live shoald holds, naming its PID, and changes nothing", async () => {
    const other = await child(["shoald", "--state-dir", dir]);
    // The lock names the process and its start time.
    writeFileSync(join(dir, STATE_LOCK_FILE), `${other.pid} ${startTime(other.pid!)}\n`);
    await assert.rejects(lockStateDir(dir), (err: Error & { code?: string }) => err.code === "NODE_STATE_LOCKED");
    // A lock without a start time (written by an older shoald): a live process named shoald.
    writeFileSync(join(dir, STATE_LOCK_FILE), `${other.pid}\n`);
    await assert.rejects(lockStateDir(dir), (err: Error & { code?: string }) => {
      assert.equal(err.code, "NODE_STATE_LOCKED");
      assert.equal(err.message, `state dir ${dir} is in use by another shoald (pid ${other.pid}); stop it first, or give this one its own --state-dir`);
      return true;
    });
    assert.equal(holder(), `${other.pid}\n`);
  });

  it("takes over a lock whose process is gone, or whose PID now runs another process", async () => {
    const gone = await child([]);
    const goneExit = new Promise((r) => gone.once("exit", r));
    process.kill(gone.pid!, "SIGKILL");
    await goneExit;
    const notShoald = await child(["something-else"]);
    // After a reboot the PID may be another shoald's: its start time is not the one recorded.
    const reused = await child(["shoald"]);
    const stale = [`${gone.pid} 12345`, `${gone.pid}`, `${notShoald.pid}`, `${reused.pid} ${Number(startTime(reused.pid!)) + 1}`, `${process.pid} 1`];
    for (const text of stale) {
      writeFileSync(join(dir, STATE_LOCK_FILE), `${text}\n`);
      const lock = await lockStateDir(dir);
      assert.equal(holder(), `${process.pid} ${startTime(process.pid)}\n`, `over ${text}`);
      await lock.release();
    }
    writeFileSync(join(dir, STATE_LOCK_FILE), "garbage");
    await (await lockStateDir(dir)).release();
  });

  it("lets only one of two shoalds starting at the same moment over a stale lock through", async () => {
    const gone = await child([]);
    const goneExit = new Promise((r) => gone.once("exit", r));
    process.kill(gone.pid!, "SIGKILL");
    await goneExit;
    for (let round = 0; round < 5; round++) {
      writeFileSync(join(dir, STATE_LOCK_FILE), `${gone.pid} 12345\n`);
      const outcomes = await Promise.allSettled([lockStateDir(dir), lockStateDir(dir)]);
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      assert.equal(won.length, 1, `round ${round}: ${outcomes.map((o) => o.status).join(", ")}`);
      assert.equal((lost[0]!.reason as { code?: string }).code, "NODE_STATE_LOCKED");
      assert.match((lost[0]!.reason as Error).message, /^state dir .* is in use by another shoald \((pid \d+|starting now)\)/);
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockStateDir>>>).value.release();
    }
    // Released: the next start takes it at once.
    await (await lockStateDir(dir)).release();
  });
});
