// One shoald per state dir. Two daemons on one dir would both write the node's identity, keys and
// raft log: a second raft member with the first one's identity and data. shoald takes the state
// dir's lock file (shoald.pid: created exclusively, holding its PID and the process's start time)
// before it reads anything, and refuses to start while that process runs. A lock left by a process
// that is gone (a crash, SIGKILL, a power cut) is taken over, also when its PID now belongs to
// another process (after a reboot, perhaps another shoald): the start time tells them apart.
//
// Taking over a stale file leaves a race: two shoalds starting at the same moment may both judge it
// stale and both write their own. So before the file, each binds an abstract Unix socket named after
// the state dir: the kernel lets one process hold a name and frees it when that process dies, however
// it dies. Abstract names belong to a network namespace, so the file still guards a state dir shared
// across namespaces (it was never meant to be).
import { createHash } from "node:crypto";
import { link, mkdir, readFile, realpath, rename, unlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { ShoalError } from "@shoal/common";

export const STATE_LOCK_FILE = "shoald.pid";

export class StateLockError extends ShoalError<{ code: "NODE_STATE_LOCKED"; stateDir: string; pid: number }> {}

export interface StateDirLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  /** The process's start time (clock ticks after boot, /proc/PID/stat); undefined when not recorded. */
  started: string | undefined;
}

/** The process a lock file names, or undefined when it names none. */
async function holderOf(path: string): Promise<Holder | undefined> {
  const [pidText, started] = (await readFile(path, "utf8").catch(() => "")).trim().split(/\s+/);
  const pid = Number(pidText);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, started } : undefined;
}

/** A process's start time from /proc/PID/stat (field 22; the name before it may hold spaces). */
async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** Is the holder a running process other than this one, and the one that wrote the lock? */
async function isLive(h: Holder): Promise<boolean> {
  if (h.pid === process.pid) return false;
  const started = await startTimeOf(h.pid);
  if (started === undefined) return false;
  if (h.started !== undefined) return started === h.started;
  const cmdline = await readFile(`/proc/${h.pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes("shoald");
}

/**
 * Binds the abstract socket named after the state dir: the server, or undefined when another process
 * (or another lock in this one) holds the name. Any other failure (no abstract names on this
 * system) leaves the file alone to guard the dir: the server is then a stand-in that holds nothing.
 */
async function holdName(name: string): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "EADDRINUSE" ? undefined : createServer()));
    server.listen({ path: `\0${name}` }, () => {
      // It must not keep shoald running on its own.
      server.unref();
      resolve(server);
    });
  });
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function lockStateDir(stateDir: string): Promise<StateDirLock> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, STATE_LOCK_FILE);
  const name = `shoald-state-${createHash("sha256").update(await realpath(stateDir)).digest("hex").slice(0, 40)}`;
  const held = await holdName(name);
  if (held === undefined) throw lockedError(stateDir, (await holderOf(path))?.pid ?? 0);
  try {
    return await lockFile(stateDir, path, held);
  } catch (err) {
    await closeServer(held);
    throw err;
  }
}

async function lockFile(stateDir: string, path: string, held: Server): Promise<StateDirLock> {
  const mine = `${process.pid} ${(await startTimeOf(process.pid)) ?? ""}\n`;
  const ours = async (): Promise<boolean> => (await holderOf(path))?.pid === process.pid;
  const lock: StateDirLock = {
    path,
    release: async () => {
      if (await ours()) await unlink(path).catch(() => undefined);
      await closeServer(held);
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
    if (holder !== undefined && (await isLive(holder))) throw lockedError(stateDir, holder.pid);
    // Stale: replace it, then check that no other shoald starting at this moment replaced it after us.
    await rename(tmp, path);
    await new Promise((r) => setTimeout(r, 20));
    if (!(await ours())) throw lockedError(stateDir, (await holderOf(path))?.pid ?? 0);
    return lock;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

function lockedError(stateDir: string, pid: number): StateLockError {
  // pid 0: the other shoald has not written its PID yet (it is starting at this very moment).
  return new StateLockError(
    { code: "NODE_STATE_LOCKED", stateDir, pid },
    `state dir ${stateDir} is in use by another shoald (${pid > 0 ? `pid ${pid}` : "starting now"}); stop it first, or give this one its own --state-dir`,
  );
}
