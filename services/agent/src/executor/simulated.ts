// A simulated executor for tests and benchmarks only (never a default): tasks "run" in memory and
// exit or fail as their container env asks. Knobs (in task.spec.container.env, "KEY=value"):
//   SHOAL_SIM_FAIL_PREPARE=msg   prepare rejects with msg (the task goes FAILED before running)
//   SHOAL_SIM_FAIL_START=msg     start rejects with msg
//   SHOAL_SIM_RUN_MS=n           the task exits n ms after start (default: runs until shut down)
//   SHOAL_SIM_EXIT_CODE=c        the exit code when it exits on its own (default 0)
// A shutdown or terminate ends a running task with exit code 137. The executor outlives workers,
// like a real runtime outlives the agent, so a restarted worker can adopt its tasks.
import { systemClock, type Clock, type TimerHandle } from "@shoal/common";
import type { Resources, Task } from "@shoal/store";
import type { ExecOptions, Executor, ExitStatus, RuntimeTaskInfo } from "./executor.js";
import { ExecutorError } from "./errors.js";

interface SimTask {
  state: "prepared" | "running" | "exited";
  pid: number;
  exit?: ExitStatus;
  timer?: TimerHandle;
  waiters: ((s: ExitStatus) => void)[];
}

export interface SimulatedExecutorOptions {
  resources?: Resources;
}

/** The simulation knobs of a task (see the header). */
export function simKnobs(task: Task): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of task.spec.container?.env ?? []) {
    const i = kv.indexOf("=");
    if (i > 0 && kv.startsWith("SHOAL_SIM_")) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export class SimulatedExecutor implements Executor {
  private readonly clock: Clock;
  private readonly tasks = new Map<string, SimTask>();
  private nextPid = 1000;
  /** Calls per method and task id ("start:abc"), so tests can tell adoption from a restart. */
  readonly calls: string[] = [];

  constructor(
    private readonly opts: SimulatedExecutorOptions = {},
    modules: { clock?: Clock } = {},
  ) {
    this.clock = modules.clock ?? systemClock;
  }

  describe(): Promise<{ resources: Resources }> {
    return Promise.resolve({ resources: this.opts.resources ?? { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 } });
  }

  /** Tasks the runtime holds, by state (tests). */
  running(): string[] {
    return [...this.tasks].filter(([, t]) => t.state === "running").map(([id]) => id);
  }

  inspect(task: Task): Promise<RuntimeTaskInfo> {
    const t = this.tasks.get(task.id);
    if (t === undefined) return Promise.resolve({ state: "absent" });
    const info: RuntimeTaskInfo = { state: t.state, containerId: `sim-${task.id}`, pid: t.pid };
    if (t.exit !== undefined) info.exit = t.exit;
    return Promise.resolve(info);
  }

  prepare(task: Task, _opts?: ExecOptions): Promise<void> {
    this.calls.push(`prepare:${task.id}`);
    const fail = simKnobs(task)["SHOAL_SIM_FAIL_PREPARE"];
    if (fail !== undefined) return Promise.reject(new ExecutorError({ code: "EXECUTOR_PREPARE_FAILED", taskId: task.id }, fail));
    if (!this.tasks.has(task.id)) this.tasks.set(task.id, { state: "prepared", pid: 0, waiters: [] });
    return Promise.resolve();
  }

  start(task: Task, _opts?: ExecOptions): Promise<void> {
    this.calls.push(`start:${task.id}`);
    const t = this.tasks.get(task.id);
    if (t === undefined) return Promise.reject(new ExecutorError({ code: "EXECUTOR_TASK_NOT_FOUND", taskId: task.id }, `task ${task.id} was not prepared`));
    if (t.state !== "prepared") return Promise.resolve();
    const knobs = simKnobs(task);
    const fail = knobs["SHOAL_SIM_FAIL_START"];
    if (fail !== undefined) return Promise.reject(new ExecutorError({ code: "EXECUTOR_START_FAILED", taskId: task.id }, fail));
    t.state = "running";
    t.pid = this.nextPid++;
    const runMs = knobs["SHOAL_SIM_RUN_MS"];
    if (runMs !== undefined) {
      const code = Number(knobs["SHOAL_SIM_EXIT_CODE"] ?? "0");
      t.timer = this.clock.setTimeout(() => this.exit(t, { exitCode: Number.isFinite(code) ? code : 1 }), Math.max(0, Number(runMs) || 0));
    }
    return Promise.resolve();
  }

  wait(task: Task, opts?: ExecOptions): Promise<ExitStatus> {
    this.calls.push(`wait:${task.id}`);
    const t = this.tasks.get(task.id);
    if (t === undefined) return Promise.reject(new ExecutorError({ code: "EXECUTOR_TASK_NOT_FOUND", taskId: task.id }, `task ${task.id} is not known to the runtime`));
    if (t.exit !== undefined) return Promise.resolve(t.exit);
    return new Promise<ExitStatus>((resolve, reject) => {
      const onAbort = (): void => {
        t.waiters = t.waiters.filter((w) => w !== done);
        reject(new ExecutorError({ code: "EXECUTOR_ABORTED", taskId: task.id }, "wait abandoned"));
      };
      const done = (s: ExitStatus): void => {
        opts?.signal?.removeEventListener("abort", onAbort);
        resolve(s);
      };
      t.waiters.push(done);
      opts?.signal?.addEventListener("abort", onAbort, { once: true });
      if (opts?.signal?.aborted) onAbort();
    });
  }

  shutdown(task: Task, _opts?: ExecOptions): Promise<void> {
    this.calls.push(`shutdown:${task.id}`);
    this.kill(task);
    return Promise.resolve();
  }

  terminate(task: Task, _opts?: ExecOptions): Promise<void> {
    this.calls.push(`terminate:${task.id}`);
    this.kill(task);
    return Promise.resolve();
  }

  remove(task: Task, _opts?: ExecOptions): Promise<void> {
    this.calls.push(`remove:${task.id}`);
    this.kill(task);
    this.tasks.delete(task.id);
    return Promise.resolve();
  }

  private kill(task: Task): void {
    const t = this.tasks.get(task.id);
    if (t === undefined) return;
    if (t.state === "prepared") t.state = "exited";
    if (t.state === "running") this.exit(t, { exitCode: 137, message: "stopped" });
  }

  private exit(t: SimTask, status: ExitStatus): void {
    if (t.state === "exited" && t.exit !== undefined) return;
    t.timer?.cancel();
    t.state = "exited";
    t.exit = status;
    const waiters = t.waiters;
    t.waiters = [];
    for (const w of waiters) w(status);
  }
}
