// Starts and enters lab hosts. A host is `nsenter --net=/run/netns/X` (its network namespace) then
// `unshare --mount --uts --pid --fork` (its own mounts, hostname and PID space), where a tiny sh
// init sets the hostname, puts a fresh tmpfs on /run and execs the host's command, which becomes
// the host's PID 1. DESIGN §9: `ip netns exec` would remount /sys and hide the cgroup v1 mounts, so
// it is never used for hosts. Killing PID 1 ends the PID namespace: every process of the host dies
// at once, like a power cut.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { Logger } from "@shoal/common";
import { sleep } from "@shoal/common";
import { LabError } from "../errors.js";
import { childPids, isAlive, killIfSame, procId, type ProcId } from "./proc.js";
import { run, type RunOpts, type RunResult } from "./run.js";
import type { Sig } from "./ip.js";

// $1 hostname, $2 marker file, then the command. /run/netns is detached first so the host's mount
// namespace does not pin the other lab namespaces (its copy of those nsfs mounts would keep them
// alive). The marker is written only once the command is known to exist, just before exec.
const HOST_INIT = [
  "set -e",
  'name=$1; marker=$2; shift 2',
  'printf %s "$name" > /proc/sys/kernel/hostname',
  "umount -l /run/netns 2>/dev/null || true",
  "mount -t tmpfs -o mode=0755,nosuid,nodev shoal-lab-run /run",
  'command -v "$1" >/dev/null 2>&1 || { echo "shoal-lab: $name: command not found: $1" >&2; exit 127; }',
  ': > "$marker"',
  'exec "$@"',
].join("\n");

export interface HostLaunch {
  netns: string;
  hostname: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Working directory and home of the marker file; must be visible inside the host (not under /run). */
  dir: string;
  logFile: string;
}

export interface LaunchedHost {
  /** The host's PID 1 (the command), as seen from this machine. */
  init: ProcId;
  /** The unshare process that waits for PID 1; --kill-child ties their lives together. */
  launcher: ProcId;
}

export interface HostProcessOpts {
  startTimeoutMs?: number;
  /** How long a just-started command must stay up to count as started. */
  settleMs?: number;
  timeoutMs?: number;
}

export class HostProcesses {
  private readonly log: Logger;
  constructor(
    private readonly opts: HostProcessOpts,
    modules: { logger: Logger },
  ) {
    this.log = modules.logger.child({ tool: "nsenter" });
  }

  async launch(h: HostLaunch, sig: Sig = {}): Promise<LaunchedHost> {
    const marker = `${h.dir}/.started`;
    await rm(marker, { force: true });
    const args = [
      `--net=/run/netns/${h.netns}`,
      "--",
      "unshare",
      "--mount",
      "--uts",
      "--pid",
      "--fork",
      "--mount-proc",
      "--kill-child",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      HOST_INIT,
      "shoal-lab-host",
      h.hostname,
      marker,
      ...h.argv,
    ];
    this.log.info({ host: h.hostname, argv: ["nsenter", `--net=/run/netns/${h.netns}`, "unshare", "…", ...h.argv] }, "start host");
    const out = openSync(h.logFile, "a");
    let spawnError: Error | undefined;
    const child = spawn("nsenter", args, { detached: true, stdio: ["ignore", out, out], env: h.env, cwd: h.dir });
    closeSync(out);
    child.on("error", (err) => (spawnError = err));
    // The host outlives this call (and the CLI process): do not keep the event loop alive for it.
    child.unref();

    const fail = async (why: string): Promise<never> => {
      if (child.pid !== undefined) {
        const launcher = procId(child.pid);
        for (const c of childPids(child.pid)) killIfSame(procId(c));
        killIfSame(launcher);
      }
      const tail = readTail(h.logFile);
      throw new LabError("LAB_HOST_START_FAILED", `${h.hostname}: ${why}${tail ? `: ${tail}` : ""}`, { host: h.hostname });
    };

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    while (!existsSync(marker)) {
      if (spawnError) return fail(`nsenter: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) return fail(`exited during start (${child.exitCode ?? child.signalCode})`);
      if (sig.signal?.aborted) return fail("aborted");
      if (Date.now() > deadline) return fail("did not start in time");
      await sleep(20);
    }
    const launcherPid = child.pid;
    if (launcherPid === undefined) return fail("no pid");
    const launcher = procId(launcherPid);
    const initPid = childPids(launcherPid)[0];
    const init = initPid === undefined ? undefined : procId(initPid);
    if (launcher === undefined || init === undefined) return fail("exited during start");
    await sleep(this.opts.settleMs ?? 300);
    if (!isAlive(init)) return fail("exited right after start");
    this.log.info({ host: h.hostname, pid: init.pid }, "host started");
    return { init, launcher };
  }

  /** Runs argv inside every namespace of the host whose PID 1 is init. */
  exec(init: number, argv: string[], opts: RunOpts = {}): Promise<RunResult> {
    return run(this.log, "nsenter", ["-t", String(init), "--net", "--mount", "--uts", "--pid", "--", ...argv], {
      timeoutMs: this.opts.timeoutMs ?? 15_000,
      ...opts,
    });
  }
}

function readTail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trim().split("\n");
    return lines.slice(-2).join("; ").slice(0, 400);
  } catch {
    return "";
  }
}
