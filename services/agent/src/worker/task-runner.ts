// One task's life on this node: drives the executor through ACCEPTED → PREPARING → READY →
// STARTING → RUNNING → COMPLETE | FAILED (a failed prepare is REJECTED), shuts the task down when
// its desired state reaches SHUTDOWN, and removes it from the runtime once it is removed from the
// assignments (or desired REMOVE). Every step is replayable, so a restarted worker resumes from the
// last reported state: a RUNNING task is adopted (waited on), never started again. It reports
// status through the worker and never talks to managers.
import { describeError, type Logger } from "@shoal/common";
import { TaskState, type Task, type TaskStatus } from "@shoal/store";
import type { Executor, ExitStatus } from "../executor/index.js";

export interface RunnerHost {
  executor: Executor;
  logger: Logger;
  /** Records (persists and reports) a new status of the task. */
  report(task: Task, status: TaskStatus): void;
  /** The task is gone from the runtime and the assignments: forget it. */
  forget(taskId: string): Promise<void>;
  now(): number;
}

export class TaskRunner {
  private wakeUp: (() => void) | undefined;
  private readonly abort = new AbortController();
  private removed = false;
  private loop: Promise<void> | undefined;

  constructor(
    private task: Task,
    private status: TaskStatus,
    private readonly host: RunnerHost,
  ) {}

  get current(): { task: Task; status: TaskStatus } {
    return { task: this.task, status: this.status };
  }

  run(): void {
    this.loop ??= this.drive().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.host.logger.error({ taskId: this.task.id, err: describeError(err) }, "worker: task runner crashed");
    });
  }

  /**
   * A newer version of the task from the managers. `changed` false: only its version or the
   * managers' copy of its status differ (a new leader's complete set repeats every task), so the
   * runner keeps the newer object but is not woken: waking abandons and restarts a running task's
   * wait, and 25,000 of those at once held an agent process for seconds.
   */
  update(task: Task, changed = true): void {
    this.task = task;
    if (changed) this.poke();
  }

  /** The task left the assignments: stop it and remove it from the runtime. */
  remove(): void {
    this.removed = true;
    this.poke();
  }

  /** Stops driving (the worker stops); the task itself keeps running in the runtime. */
  async close(): Promise<void> {
    this.abort.abort();
    this.poke();
    await this.loop;
  }

  private poke(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private nextWake(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
  }

  private set(state: TaskState, message: string, extra: Partial<TaskStatus> = {}): void {
    const now = this.host.now();
    const status: TaskStatus = { timestamp: now, state, message, appliedAt: now, ...extra };
    if (this.status.containerStatus !== undefined && status.containerStatus === undefined) status.containerStatus = this.status.containerStatus;
    this.status = status;
    this.host.report(this.task, status);
  }

  private async drive(): Promise<void> {
    const ex = this.host.executor;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      // Created before reading the state, so a change during a step is never missed.
      const wake = this.nextWake();
      const task = this.task;
      const state = this.status.state;
      try {
        if (this.removed || task.desiredState >= TaskState.SHUTDOWN) {
          if (state < TaskState.COMPLETE) {
            if (state >= TaskState.PREPARING) await this.stopTask(task);
            if (signal.aborted) return;
            this.set(TaskState.SHUTDOWN, "shutdown");
            continue;
          }
          if (this.removed || task.desiredState >= TaskState.REMOVE) {
            await ex.remove(task, { signal });
            if (signal.aborted) return;
            await this.host.forget(task.id);
            return;
          }
          await wake;
          continue;
        }
        if (state <= TaskState.ASSIGNED) this.set(TaskState.ACCEPTED, "accepted");
        else if (state === TaskState.ACCEPTED) this.set(TaskState.PREPARING, "preparing");
        else if (state === TaskState.PREPARING) {
          await ex.prepare(task, { signal });
          if (!signal.aborted) this.set(TaskState.READY, "prepared");
        } else if (state === TaskState.READY) {
          // Desired READY (start-first updates): prepared, not started until asked.
          if (task.desiredState < TaskState.RUNNING) await wake;
          else this.set(TaskState.STARTING, "starting");
        } else if (state === TaskState.STARTING) {
          await ex.start(task, { signal });
          const info = await ex.inspect(task);
          const containerStatus: TaskStatus["containerStatus"] = {};
          if (info.containerId !== undefined) containerStatus.containerId = info.containerId;
          if (info.pid !== undefined) containerStatus.pid = info.pid;
          if (!signal.aborted) this.set(TaskState.RUNNING, "started", { containerStatus });
        } else if (state === TaskState.RUNNING) {
          const exit = await this.waitExit(task, wake);
          if (exit !== undefined && !signal.aborted && !this.removed && this.task.desiredState < TaskState.SHUTDOWN) this.exited(exit);
        } else await wake;
      } catch (err) {
        if (signal.aborted) return;
        const failed = state === TaskState.PREPARING ? TaskState.REJECTED : TaskState.FAILED;
        this.host.logger.warn({ taskId: task.id, state: TaskState[state], err: describeError(err) }, "worker: task step failed");
        this.set(failed, state === TaskState.PREPARING ? "preparing failed" : "task failed", { err: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /** The exit status, or undefined when woken first (the task changed or the worker stops). */
  private async waitExit(task: Task, wake: Promise<void>): Promise<ExitStatus | undefined> {
    const stopWaiting = new AbortController();
    const onAbort = (): void => stopWaiting.abort();
    this.abort.signal.addEventListener("abort", onAbort, { once: true });
    if (this.abort.signal.aborted) onAbort();
    try {
      const waited = this.host.executor.wait(task, { signal: stopWaiting.signal });
      // Abandoning the wait below rejects it; that rejection is expected and not an error.
      waited.catch(() => undefined);
      return await Promise.race([waited, wake.then(() => undefined)]);
    } finally {
      stopWaiting.abort();
      this.abort.signal.removeEventListener("abort", onAbort);
    }
  }

  private exited(exit: ExitStatus): void {
    const containerStatus = { ...this.status.containerStatus, exitCode: exit.exitCode };
    if (exit.exitCode === 0) this.set(TaskState.COMPLETE, "finished", { containerStatus });
    // The message stays "started" as in swarmkit (the last step taken); the reason goes in err.
    else this.set(TaskState.FAILED, "started", { containerStatus, err: exit.message ?? `task: non-zero exit (${exit.exitCode})` });
  }

  private async stopTask(task: Task): Promise<void> {
    const ex = this.host.executor;
    try {
      await ex.shutdown(task, { signal: this.abort.signal });
    } catch (err) {
      this.host.logger.warn({ taskId: task.id, err: describeError(err) }, "worker: graceful shutdown failed; terminating");
      await ex.terminate(task, { signal: this.abort.signal });
    }
  }
}
