// One shoald per state dir. Two daemons on one dir would both write the node's identity, keys and
// raft log: a second raft member with the first one's identity and data. shoald takes the state
// dir's lock file (shoald.pid: created exclusively, holding its PID) before it reads anything, and
// refuses to start while a live shoald holds it. A lock left by a process that is gone (a crash,
// SIGKILL, a power cut; after a reboot the PID may belong to another program) is taken over.
import { link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ShoalError } from "@shoal/common";

export const STATE_LOCK_FILE = "shoald.pid";

export class StateLockError extends ShoalError<{ code: "NODE_STATE_LOCKED"; stateDir: string; pid: number }> {}

export interface StateDirLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

/** The PID a lock file names, or undefined when it names none. */
async function holderOf(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => "");
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Is `pid` a running shoald other than this process? */
async function isLiveShoald(pid: number): Promise<boolean> {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("shoald");
}

export async function lockStateDir(stateDir: string): Promise<StateDirLock> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, STATE_LOCK_FILE);
  const mine = `${process.pid}\n`;
  const lock: StateDirLock = {
    path,
    release: async () => {
      if ((await holderOf(path)) === process.pid) await unlink(path).catch(() => undefined);
    },
  };
  const tmp = join(stateDir, `.${STATE_LOCK_FILE}.${process.pid}`);
  await writeFile(tmp, mine, { mode: 0o600 });
  try {
    try {
      await link(tmp, path);
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await holderOf(path);
    if (holder !== undefined && (await isLiveShoald(holder))) throw lockedError(stateDir, holder);
    // Stale: replace it, then check that no other shoald starting at this moment replaced it after us.
    await rename(tmp, path);
    await new Promise((r) => setTimeout(r, 20));
    const now = await holderOf(path);
    if (now !== process.pid) throw lockedError(stateDir, now ?? 0);
    return lock;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

function lockedError(stateDir: string, pid: number): StateLockError {
  return new StateLockError(
    { code: "NODE_STATE_LOCKED", stateDir, pid },
    `state dir ${stateDir} is in use by another shoald (pid ${pid}); stop it first, or give this one its own --state-dir`,
  );
}
