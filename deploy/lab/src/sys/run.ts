// The one place the lab starts short-lived tools. Every call is logged, has a timeout, honours an
// AbortSignal, and on failure throws a LabError carrying argv, exit code and stderr, so that a
// failed `ip` call says why instead of "exit 2". Long-running host processes are not started here
// (see host-process.ts): they outlive the call.
import { spawn } from "node:child_process";
import type { Logger } from "@shoal/common";
import { LabError } from "../errors.js";

export interface RunOpts {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Resolve with the result instead of throwing when the tool exits non-zero. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Give the tool this process's stdin/stdout/stderr (interactive `exec`); nothing is captured. */
  inherit?: boolean;
}

export interface RunResult {
  argv: string[];
  code: number;
  /** The signal that ended the process, if any. */
  signalName: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_CAPTURE = 1 << 20;

export function run(log: Logger, file: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const argv = [file, ...args];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  log.debug({ argv }, "run");
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new LabError("LAB_COMMAND_FAILED", `${argv.join(" ")}: aborted`, { argv }, opts.signal.reason));
      return;
    }
    const child = spawn(file, args, {
      stdio: opts.inherit ? "inherit" : [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? "/",
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let aborted = false;
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += d;
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += d;
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    // timeoutMs <= 0: no timeout, for commands a person runs by hand through `exec`.
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, timeoutMs)
        : undefined;
    const onAbort = (): void => {
      aborted = true;
      child.kill("SIGKILL");
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const finish = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    child.on("error", (err) => {
      finish();
      reject(new LabError("LAB_COMMAND_FAILED", `${file}: ${err.message}`, { argv }, err));
    });
    child.on("close", (code, signalName) => {
      finish();
      const result: RunResult = { argv, code: code ?? 128, signalName, stdout, stderr };
      if (timedOut) {
        reject(new LabError("LAB_COMMAND_TIMEOUT", `${argv.join(" ")}: timed out after ${timeoutMs} ms`, { argv, timeoutMs }));
        return;
      }
      if (aborted) {
        reject(new LabError("LAB_COMMAND_FAILED", `${argv.join(" ")}: aborted`, { argv }, opts.signal?.reason));
        return;
      }
      if (result.code !== 0 || signalName !== null) {
        log.debug({ argv, code: result.code, signalName, stderr: stderr.trim() }, "run failed");
        if (!opts.allowFailure) {
          const why = stderr.trim().split("\n").slice(-3).join("; ") || `exit ${result.code}${signalName ? ` (${signalName})` : ""}`;
          reject(new LabError("LAB_COMMAND_FAILED", `${argv.join(" ")}: ${why}`, { argv, exitCode: result.code, stderr }));
          return;
        }
      }
      resolve(result);
    });
  });
}
