// One supervised child process of a test cluster: spawn, wait for readiness, SIGTERM/SIGKILL by
// PID, and a process-wide registry so that every child is SIGKILLed when the parent exits, even on
// an uncaught error or Ctrl-C.
//
// Children's stderr goes to a log file (kept next to their data, removed with it) so that a failing
// test can show the tail of a member's log; stdout is read for the readiness line.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() is.
  process.on("exit", () => killAllChildrenNow());
}

/** SIGKILLs every live child of this process (used on exit and by signal handlers). */
export function killAllChildrenNow(): void {
  for (const c of live) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

/**
 * For entry points (bench, demo): on SIGINT/SIGTERM, run `cleanup` (bounded by 5 s), SIGKILL any
 * child left, and exit 130.
 */
export function exitOnSignals(cleanup: () => Promise<void>): void {
  let done = false;
  const handler = (): void => {
    if (done) return;
    done = true;
    setTimeout(() => {
      killAllChildrenNow();
      process.exit(130);
    }, 5000).unref();
    cleanup().finally(() => {
      killAllChildrenNow();
      process.exit(130);
    });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

export interface ChildSpec {
  command: string;
  args: string[];
  /** stderr (and stdout lines other than readiness) are appended here. */
  logFile: string;
  /** Resolves readiness: a stdout line matching this, or undefined to use `probe`. */
  readyLine?: RegExp;
  env?: NodeJS.ProcessEnv;
}

export class Child {
  private proc: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private log: WriteStream | undefined;

  constructor(readonly spec: ChildSpec) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the process; resolves when it printed its ready line (if any), rejects if it exits first or after timeoutMs. */
  start(timeoutMs = 15_000): Promise<void> {
    if (this.running) throw new Error(`${this.spec.command} is already running (pid ${this.pid})`);
    installExitHook();
    this.log = createWriteStream(this.spec.logFile, { flags: "a" });
    const proc = spawn(this.spec.command, this.spec.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: this.spec.env ?? process.env,
    });
    this.proc = proc;
    live.add(proc);
    const log = this.log;
    proc.stderr!.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code) => {
        live.delete(proc);
        resolve(code);
      });
      proc.once("error", () => {
        live.delete(proc);
        resolve(null);
      });
    });
    return new Promise<void>((resolve, reject) => {
      let ready = this.spec.readyLine === undefined;
      const timer = setTimeout(() => reject(new Error(`${this.describe()} not ready within ${timeoutMs} ms; log tail:\n${this.logTail()}`)), timeoutMs);
      const lines = createInterface({ input: proc.stdout! });
      lines.on("line", (line) => {
        log.write(`[stdout] ${line}\n`);
        if (!ready && this.spec.readyLine!.test(line)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`${this.describe()} exited with ${code} before it was ready; log tail:\n${this.logTail()}`));
      });
      if (ready) {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** SIGKILL (a crash: nothing flushed, no goodbye); resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    const t = setTimeout(() => {
      if (this.proc?.pid !== undefined) {
        try {
          process.kill(this.proc.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }, graceMs);
    await this.signal("SIGTERM");
    clearTimeout(t);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.pid === undefined) return;
    if (this.running) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // Exited between the check and the kill.
      }
    }
    await this.exited;
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = undefined;
  }

  logTail(lines = 15): string {
    try {
      return readFileSync(this.spec.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  describe(): string {
    return `${this.spec.command.split("/").pop()} pid ${this.pid ?? "-"}`;
  }
}
