// Live convergence view for service create/update/scale/rollback, modelled on docker's: a pure
// frame renderer (service, tasks, nodes → lines), a pure stepper deciding from UpdateStatus and
// the clock what the watch does next, and a terminal writer (redraw in place on a TTY, only
// changed lines otherwise). The poll loop lives in watchServiceProgress; it is the only part
// doing IO, and the clock and sleep are injected so tests need no real time.
import { oneLine, type ApiClient } from "../client.js";
import { getService, listNodes, listTasks, type DockerService } from "../api/index.js";
import type { DockerNode } from "../api/types.js";
import type { DockerTask } from "../api/tasks.js";
import { CliError } from "../errors.js";
import type { CliOutput } from "../io.js";
import { shortId, truncate } from "./table.js";

/**
 * Docker's numbering of task states: the bar fills to running (9). The terminal states after it
 * are never drawn but order the tasks competing for a slot; a task in a state without a number
 * (remove, orphaned) is not counted at all, as docker.
 */
export const TASK_STATE_RANK: Readonly<Record<string, number>> = {
  new: 1, allocated: 2, pending: 3, assigned: 4, accepted: 5, preparing: 6, ready: 7, starting: 8, running: 9,
  complete: 10, shutdown: 11, failed: 12, rejected: 13,
};
const RUNNING_RANK = 9;
const BAR_WIDTH = 50;
const DEFAULT_MONITOR_NS = 5_000_000_000;
/** Above this many slots or nodes only the overall line is drawn (docker's limit too). */
export const MAX_TASK_LINES = 100;
/** Longer errors are cut so a line never wraps on a narrow terminal (docker's 75). */
const MAX_ERROR_CHARS = 75;

const rank = (state: string | undefined): number => TASK_STATE_RANK[state ?? ""] ?? 0;
const terminal = (state: string | undefined): boolean => rank(state) > RUNNING_RANK;

/** The bar for a state; a rollback runs it backwards (running is empty), as docker draws it. */
export function progressBar(state: string, rollback = false): string {
  const r = rank(state);
  if (r === 0 || r > RUNNING_RANK) return "";
  const current = rollback ? RUNNING_RANK - r : r;
  // Docker's arithmetic: whole percent, halved to the 50-character bar.
  const filled = Math.min(BAR_WIDTH, Math.floor(Math.floor((current / RUNNING_RANK) * 100) / 2));
  return `[${"=".repeat(filled)}>${" ".repeat(BAR_WIDTH - filled)}]`;
}

export interface ProgressFrame {
  /** In display order: "overall progress: …", one per slot or node. */
  lines: string[];
  done: number;
  total: number;
  /** A global service with no up-to-date task yet: not converged, whatever the counts say. */
  waiting: boolean;
}


function taskLine(id: string, task: DockerTask | undefined, rollback: boolean): string {
  if (task === undefined) return `${id}: `;
  const err = task.Status?.Err ?? "";
  if (err !== "") return `${id}: ${truncate(oneLine(err), MAX_ERROR_CHARS)}`;
  const state = task.Status?.State ?? "";
  const bar = progressBar(state, rollback);
  return bar === "" ? `${id}: ${state}` : `${id}: ${state.padEnd(9)} ${bar}`;
}

/**
 * Whether `b` should stand for its slot/node instead of `a`: the lower desired state wins (a task
 * meant to run over one being shut down, after a restart), then the lower observed state (with
 * start-first both run for a while; the slot is not done until the slower one is), as docker.
 */
function replaces(a: DockerTask | undefined, b: DockerTask): boolean {
  if (a === undefined) return true;
  const da = rank(a.DesiredState);
  const db = rank(b.DesiredState);
  if (da !== db) return db < da;
  return rank(b.Status?.State) < rank(a.Status?.State);
}

/**
 * One frame from what the API answered. Tasks on nodes that are down or missing from /nodes are
 * ignored (they will be replaced). Replicated services show a line per slot, numbered 1..replicas
 * in slot order (the cluster's slot numbers need not be 1..N after a scale-down); global ones a
 * line per node with an up-to-date task. A task counts once it runs and is meant to; jobs count
 * complete tasks instead. A rollback says so on the overall line and runs the bars backwards.
 */
export function renderProgress(service: DockerService, tasks: readonly DockerTask[], nodes: readonly DockerNode[], rollback = false): ProgressFrame {
  const live = new Set(nodes.filter((n) => n.Status?.State !== "down").map((n) => n.ID));
  const counted = tasks.filter(
    (t) => rank(t.DesiredState) > 0 && rank(t.Status?.State) > 0 && (t.NodeID === undefined || t.NodeID === "" || live.has(t.NodeID)),
  );
  const mode = service.Spec.Mode ?? {};
  const job = mode.ReplicatedJob !== undefined || mode.GlobalJob !== undefined;
  const isDone = (t: DockerTask): boolean =>
    job ? t.Status?.State === "complete" && (t.Status.Err ?? "") === "" : !terminal(t.DesiredState) && t.Status?.State === "running";
  const overall = (done: number, total: number): string =>
    rollback ? `overall progress: rolling back update: ${done} out of ${total} tasks` : `overall progress: ${done} out of ${total} tasks`;

  const global = mode.Global !== undefined || mode.GlobalJob !== undefined;
  // A replicated job's slots start at 0, which the API leaves out (as Docker's does).
  const key = (t: DockerTask): string | number | undefined => (global ? (t.NodeID === "" ? undefined : t.NodeID) : mode.ReplicatedJob !== undefined ? (t.Slot ?? 0) : t.Slot);
  const chosen = new Map<string | number, DockerTask>();
  for (const t of counted) {
    const k = key(t);
    if (k !== undefined && replaces(chosen.get(k), t)) chosen.set(k, t);
  }
  const keys = [...chosen.keys()].sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b))));
  const done = [...chosen.values()].filter(isDone).length;
  let total: number;
  const lines: string[] = [];
  if (global) {
    // Which nodes are eligible is not known here, but the orchestrator makes the tasks for all of
    // them at once, so the nodes with an up-to-date task are the goal (as docker reasons).
    total = keys.length;
    if (total === 0) return { lines: ["overall progress: waiting for new tasks"], done: 0, total: 0, waiting: true };
    if (total <= MAX_TASK_LINES) for (const k of keys) lines.push(taskLine(shortId(String(k)), chosen.get(k), rollback));
  } else {
    total = mode.ReplicatedJob !== undefined ? (mode.ReplicatedJob.TotalCompletions ?? mode.ReplicatedJob.MaxConcurrent ?? 1) : (mode.Replicated?.Replicas ?? 1);
    if (total <= MAX_TASK_LINES) for (let i = 0; i < total; i++) lines.push(taskLine(`${i + 1}/${total}`, i < keys.length ? chosen.get(keys[i]!) : undefined, rollback));
  }
  return { lines: [overall(done, total), ...lines], done, total, waiting: false };
}

/** What the watch knows between polls. */
export interface WatchState {
  convergedAtMs?: number;
  rollback: boolean;
  /** How "converged" names the service: what the user typed (docker prints the ID after create). */
  label?: string;
  /** "rollback: <Message>" once a rollback completed before convergence: printed after "converged". */
  rollbackNote?: string;
  /**
   * Set when the watch follows an update the user asked for (not a rollback): a rollback seen then
   * is the cluster undoing that update, and the watch ends failed once the rollback converged.
   */
  failOnRollback?: boolean;
  /** The UpdateStatus message of that rollback. */
  undone?: string;
}

export type WatchStep =
  | { kind: "continue"; lines: string[] }
  | { kind: "done"; lines: string[] }
  | { kind: "failed"; lines: string[]; message: string };

/**
 * Docker's decision after each poll (pure; `state` is updated in place). UpdateStatus first:
 * updating → a new update (not a rollback); completed before a converged poll → done at once;
 * paused / rollback_paused → failed with its message; rollback_started → "rollback: <Message>" and
 * the rollback is followed; rollback_completed → followed to convergence, then its message. Then
 * convergence, which must hold for UpdateConfig.Monitor (default 5 s) before "converged"; losing
 * it meanwhile says "Detected task failure" and starts the wait again. Unlike docker's CLI, a watch
 * with failOnRollback that saw the update rolled back ends failed ("service rolled back: …") once
 * the rollback converged, rather than "converged": the update the user asked for is not in place,
 * and a deploy script must not go on as if it were.
 */
export function stepProgress(
  state: WatchState, service: DockerService, tasks: readonly DockerTask[], nodes: readonly DockerNode[], nowMs: number,
): WatchStep {
  const head: string[] = [];
  const us = service.UpdateStatus;
  const message = us?.Message ?? "";
  switch (us?.State) {
    case "updating":
      state.rollback = false;
      break;
    case "completed":
      if (state.convergedAtMs === undefined) return { kind: "done", lines: renderProgress(service, tasks, nodes, state.rollback).lines };
      break;
    case "paused":
      return { kind: "failed", lines: renderProgress(service, tasks, nodes, state.rollback).lines, message: `service update paused: ${message}` };
    case "rollback_paused":
      return { kind: "failed", lines: renderProgress(service, tasks, nodes, true).lines, message: `service rollback paused: ${message}` };
    case "rollback_started":
      state.rollback = true;
      if (message !== "") head.push(`rollback: ${message}`);
      if (state.failOnRollback === true) state.undone ??= message || "the update was rolled back";
      break;
    case "rollback_completed":
      state.rollback = true;
      if (state.convergedAtMs === undefined) state.rollbackNote = `rollback: ${message || "rollback completed"}`;
      if (state.failOnRollback === true) state.undone ??= message || "the update was rolled back";
      break;
    default:
      break;
  }
  const frame = renderProgress(service, tasks, nodes, state.rollback);
  const converged = !frame.waiting && frame.done === frame.total;
  const job = service.Spec.Mode?.ReplicatedJob !== undefined || service.Spec.Mode?.GlobalJob !== undefined;
  if (!converged) {
    const lost = state.convergedAtMs !== undefined ? ["verify: Detected task failure"] : [];
    state.convergedAtMs = undefined;
    return { kind: "continue", lines: [...head, ...frame.lines, ...lost] };
  }
  const note = state.rollbackNote === undefined ? [] : [state.rollbackNote];
  if (job) return { kind: "done", lines: [...head, ...frame.lines, "job complete", ...note] };
  const monitorMs = (service.Spec.UpdateConfig?.Monitor ?? DEFAULT_MONITOR_NS) / 1e6;
  state.convergedAtMs ??= nowMs;
  const waitMs = monitorMs - (nowMs - state.convergedAtMs);
  const name = state.label ?? service.Spec.Name ?? service.ID;
  if (waitMs <= 0) {
    if (state.undone !== undefined) return { kind: "failed", lines: [...head, ...frame.lines, `verify: Service ${name} converged on its previous spec`], message: `service rolled back: ${state.undone}` };
    return { kind: "done", lines: [...head, ...frame.lines, `verify: Service ${name} converged`, ...note] };
  }
  // Rounded up: the first frame says the whole period ("5 seconds"), never one more.
  const seconds = Math.ceil(waitMs / 1000);
  return { kind: "continue", lines: [...head, ...frame.lines, `verify: Waiting ${seconds} seconds to verify that tasks are stable...`] };
}

/**
 * Writes successive frames. On a TTY it moves the cursor up over the previous frame and rewrites
 * each line (ANSI: ESC[nA up, ESC[2K clear line); otherwise it prints only lines that changed,
 * keyed by their label ("1/3", "overall progress", "verify"), so a log stays readable.
 */
export class ProgressWriter {
  private shown = 0;
  private readonly last = new Map<string, string>();

  constructor(private readonly out: CliOutput) {}

  frame(lines: readonly string[]): void {
    if (this.out.isTTY === true) {
      const width = this.out.columns ?? 0;
      let s = this.shown > 0 ? `\x1b[${this.shown}A` : "";
      for (const l of lines) s += `\x1b[2K\r${width > 1 && l.length >= width ? l.slice(0, width - 1) : l}\n`;
      // A shorter frame than the last one: clear what is left below.
      for (let i = lines.length; i < this.shown; i++) s += "\x1b[2K\n";
      if (this.shown > lines.length) s += `\x1b[${this.shown - lines.length}A`;
      this.out.write(s);
      this.shown = lines.length;
      return;
    }
    for (const l of lines) {
      const key = l.slice(0, Math.max(0, l.indexOf(":")));
      if (this.last.get(key) === l) continue;
      this.last.set(key, l);
      this.out.write(`${l}\n`);
    }
  }
}

export interface WatchOpts {
  pollMs?: number;
  /** The service as the user named it, for "verify: Service <label> converged". */
  label?: string;
  /** Give up watching after this long (the operation goes on); none by default, as docker. */
  timeoutMs?: number;
  /** The watch follows an update the user asked for: its rollback by the cluster fails the watch (WatchState). */
  failOnRollback?: boolean;
  signal?: AbortSignal;
}

export interface WatchModules {
  nowMs?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type WatchResult = "converged" | "interrupted" | "timed-out";

const realSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
    if (signal?.aborted) done();
  });

/**
 * Polls every pollMs (200 by default, as docker) until the service converges, its update pauses
 * (CliError CLI_FAILED with the UpdateStatus message), the signal aborts or the timeout passes.
 */
export async function watchServiceProgress(client: ApiClient, serviceId: string, out: CliOutput, opts: WatchOpts = {}, modules: WatchModules = {}): Promise<WatchResult> {
  const now = modules.nowMs ?? Date.now;
  const sleep = modules.sleep ?? realSleep;
  const pollMs = opts.pollMs ?? 200;
  const writer = new ProgressWriter(out);
  const state: WatchState = { rollback: false, failOnRollback: opts.failOnRollback === true, ...(opts.label === undefined ? {} : { label: opts.label }) };
  const startedMs = now();
  for (;;) {
    if (opts.signal?.aborted === true) return "interrupted";
    if (opts.timeoutMs !== undefined && now() - startedMs >= opts.timeoutMs) return "timed-out";
    const service = await getService(client, serviceId);
    const tasks = await listTasks(client, { "_up-to-date": ["true"], service: [service.ID] });
    const nodes = await listNodes(client);
    const step = stepProgress(state, service, tasks, nodes, now());
    writer.frame(step.lines);
    if (step.kind === "done") return "converged";
    if (step.kind === "failed") throw new CliError("CLI_FAILED", step.message, { serviceId });
    await sleep(pollMs, opts.signal);
  }
}
