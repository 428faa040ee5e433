// Live convergence view for service create/update/scale/rollback, modelled on docker's: a pure
// frame renderer (service, tasks, nodes → lines), a pure stepper deciding from UpdateStatus and
// the clock what the watch does next, and a terminal writer (redraw in place on a TTY, only
// changed lines otherwise). The poll loop lives in watchServiceProgress; it is the only part
// doing IO, and the clock and sleep are injected so tests need no real time.
import type { ApiClient } from "../client.js";
import { getService, listNodes, listTasks, type DockerService } from "../api/index.js";
import type { DockerNode } from "../api/types.js";
import type { DockerTask } from "../api/tasks.js";
import { CliError } from "../errors.js";
import type { CliOutput } from "../io.js";
import { shortId } from "./table.js";

/** Docker's numbering of task states: the bar fills to running (9). */
export const TASK_STATE_RANK: Readonly<Record<string, number>> = {
  new: 1, allocated: 2, pending: 3, assigned: 4, accepted: 5, preparing: 6, ready: 7, starting: 8, running: 9,
};
const MAX_RANK = 9;
const BAR_WIDTH = 50;
const DEFAULT_MONITOR_NS = 5_000_000_000;
/** Above this many slots or nodes only the overall line is drawn (docker's limit too). */
export const MAX_TASK_LINES = 100;

export function progressBar(state: string): string {
  const rank = TASK_STATE_RANK[state];
  if (rank === undefined) return "";
  const filled = Math.floor((BAR_WIDTH * rank) / MAX_RANK);
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

function taskLine(id: string, task: DockerTask | undefined): string {
  if (task === undefined) return `${id}: `;
  const err = task.Status?.Err ?? "";
  if (err !== "") return `${id}: ${err}`;
  const state = task.Status?.State ?? "";
  const bar = progressBar(state);
  return bar === "" ? `${id}: ${state}` : `${id}: ${state.padEnd(9)} ${bar}`;
}

/** Keeps the task that counts for a slot/node: one meant to run, then the furthest along. */
function better(a: DockerTask | undefined, b: DockerTask): boolean {
  if (a === undefined) return true;
  const wantA = a.DesiredState === "running" || a.DesiredState === "complete";
  const wantB = b.DesiredState === "running" || b.DesiredState === "complete";
  if (wantA !== wantB) return wantB;
  return (TASK_STATE_RANK[b.Status?.State ?? ""] ?? 0) > (TASK_STATE_RANK[a.Status?.State ?? ""] ?? 0);
}

/**
 * One frame from what the API answered. Tasks on nodes that are down or missing from /nodes are
 * ignored (they will be replaced). Replicated services show a line per slot 1..replicas; global
 * ones a line per live node. Jobs count complete tasks instead of running ones.
 */
export function renderProgress(service: DockerService, tasks: readonly DockerTask[], nodes: readonly DockerNode[]): ProgressFrame {
  const live = new Map(nodes.filter((n) => n.Status?.State !== "down").map((n) => [n.ID, n]));
  const onLive = tasks.filter((t) => t.NodeID === undefined || t.NodeID === "" || live.has(t.NodeID));
  const mode = service.Spec.Mode ?? {};
  const job = mode.ReplicatedJob !== undefined || mode.GlobalJob !== undefined;
  const goal = job ? "complete" : "running";
  const isDone = (t: DockerTask | undefined): boolean => t !== undefined && (t.Status?.Err ?? "") === "" && t.Status?.State === goal;
  const lines: string[] = [];
  let done = 0;
  let total: number;
  if (mode.Global !== undefined || mode.GlobalJob !== undefined) {
    const byNode = new Map<string, DockerTask>();
    for (const t of onLive) if (t.NodeID !== undefined && t.NodeID !== "" && better(byNode.get(t.NodeID), t)) byNode.set(t.NodeID, t);
    // Which nodes are eligible is not known here, but the orchestrator makes the tasks for all of
    // them at once, so the nodes with an up-to-date task are the goal (as docker reasons).
    const ids = [...byNode.keys()].sort();
    total = ids.length;
    if (total === 0) return { lines: ["overall progress: waiting for new tasks"], done: 0, total: 0, waiting: true };
    for (const id of ids) {
      const t = byNode.get(id);
      if (isDone(t)) done++;
      if (total <= MAX_TASK_LINES) lines.push(taskLine(shortId(id), t));
    }
  } else {
    total = mode.ReplicatedJob !== undefined ? (mode.ReplicatedJob.TotalCompletions ?? mode.ReplicatedJob.MaxConcurrent ?? 1) : (mode.Replicated?.Replicas ?? 1);
    const bySlot = new Map<number, DockerTask>();
    for (const t of onLive) {
      const slot = t.Slot ?? 0;
      if (slot >= 1 && slot <= total && better(bySlot.get(slot), t)) bySlot.set(slot, t);
    }
    for (let slot = 1; slot <= total; slot++) {
      const t = bySlot.get(slot);
      if (isDone(t)) done++;
      if (total <= MAX_TASK_LINES) lines.push(taskLine(`${slot}/${total}`, t));
    }
  }
  return { lines: [`overall progress: ${done} out of ${total} tasks`, ...lines], done, total, waiting: false };
}

/** What the watch knows between polls. */
export interface WatchState {
  convergedAtMs?: number;
  rollback: boolean;
  /** How "converged" names the service: what the user typed (docker prints the ID after create). */
  label?: string;
}

export type WatchStep =
  | { kind: "continue"; lines: string[] }
  | { kind: "done"; lines: string[] }
  | { kind: "failed"; lines: string[]; message: string };

/**
 * Docker's decision after each poll (pure; `state` is updated in place): UpdateStatus first
 * (paused → failed, rollback_started → follow the rollback, completed before convergence was seen
 * → done), then convergence, which must hold for the monitor period before "converged".
 */
export function stepProgress(state: WatchState, service: DockerService, frame: ProgressFrame, nowMs: number): WatchStep {
  const head: string[] = [];
  const us = service.UpdateStatus;
  const converged = !frame.waiting && frame.done === frame.total;
  switch (us?.State) {
    case "paused":
      return { kind: "failed", lines: frame.lines, message: `service update paused: ${us.Message ?? ""}` };
    case "rollback_paused":
      return { kind: "failed", lines: frame.lines, message: `service rollback paused: ${us.Message ?? ""}` };
    case "rollback_started":
      state.rollback = true;
      head.push(`rollback: ${us.Message || "update rolling back"}`);
      break;
    case "rollback_completed":
      if (state.convergedAtMs === undefined && !converged) return { kind: "done", lines: [`rollback: ${us.Message || "rollback completed"}`, ...frame.lines] };
      head.push(`rollback: ${us.Message || "rollback completed"}`);
      break;
    case "completed":
      if (state.convergedAtMs === undefined && !converged) return { kind: "done", lines: frame.lines };
      break;
    default:
      break;
  }
  const job = service.Spec.Mode?.ReplicatedJob !== undefined || service.Spec.Mode?.GlobalJob !== undefined;
  if (!converged) {
    state.convergedAtMs = undefined;
    return { kind: "continue", lines: [...head, ...frame.lines] };
  }
  if (job) return { kind: "done", lines: [...head, ...frame.lines, "job complete"] };
  const cfg = state.rollback ? service.Spec.RollbackConfig : service.Spec.UpdateConfig;
  const monitorMs = (cfg?.Monitor ?? DEFAULT_MONITOR_NS) / 1e6;
  state.convergedAtMs ??= nowMs;
  const waitMs = monitorMs - (nowMs - state.convergedAtMs);
  const name = state.label ?? service.Spec.Name ?? service.ID;
  if (waitMs <= 0) return { kind: "done", lines: [...head, ...frame.lines, `verify: Service ${name} converged`] };
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
  const state: WatchState = { rollback: false, ...(opts.label === undefined ? {} : { label: opts.label }) };
  const startedMs = now();
  for (;;) {
    if (opts.signal?.aborted === true) return "interrupted";
    if (opts.timeoutMs !== undefined && now() - startedMs >= opts.timeoutMs) return "timed-out";
    const service = await getService(client, serviceId);
    const tasks = await listTasks(client, { "_up-to-date": ["true"], service: [service.ID] });
    const nodes = await listNodes(client);
    const step = stepProgress(state, service, renderProgress(service, tasks, nodes), now());
    writer.frame(step.lines);
    if (step.kind === "done") return "converged";
    if (step.kind === "failed") throw new CliError("CLI_FAILED", step.message, { serviceId });
    await sleep(pollMs, opts.signal);
  }
}
