// The executor interface (DESIGN §5; swarmkit's Controller): what the worker asks of a container
// runtime for one task. Every call is idempotent for a task already in or past the asked step, so
// the worker can replay a step after a restart. The runc runtime implements it later; the simulated
// executor (simulated.ts) serves tests and benchmarks. It must not report status or touch the store.
import type { Resources, Task } from "@shoal/store";

export interface ExecOptions {
  /** Abandons the call (the task is being shut down or the worker stops). */
  signal?: AbortSignal;
}

/** How a task's process ended. */
export interface ExitStatus {
  exitCode: number;
  /** Why, when the runtime knows (e.g. "killed", "OOM"). */
  message?: string;
}

/** What the runtime has for a task (adoption after an agent restart). */
export type RuntimeTaskState = "absent" | "prepared" | "running" | "exited";

export interface RuntimeTaskInfo {
  state: RuntimeTaskState;
  /** Set when state is "exited". */
  exit?: ExitStatus;
  containerId?: string;
  pid?: number;
}

export interface Executor {
  /** The node's resources for its description. */
  describe(): Promise<{ resources: Resources }>;
  /** What the runtime holds for a task: lets a restarted worker adopt instead of restart. */
  inspect(task: Task): Promise<RuntimeTaskInfo>;
  /** Pulls, creates the container (not started). Rejects with the reason the task cannot run. */
  prepare(task: Task, opts?: ExecOptions): Promise<void>;
  start(task: Task, opts?: ExecOptions): Promise<void>;
  /** Resolves with the exit status once the task's process ends (an abort only stops waiting). */
  wait(task: Task, opts?: ExecOptions): Promise<ExitStatus>;
  /** Graceful stop (SIGTERM, grace period, then SIGKILL). */
  shutdown(task: Task, opts?: ExecOptions): Promise<void>;
  /** Immediate stop (SIGKILL). */
  terminate(task: Task, opts?: ExecOptions): Promise<void>;
  /** Deletes everything the runtime holds for the task. */
  remove(task: Task, opts?: ExecOptions): Promise<void>;
}
