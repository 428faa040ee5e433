// The task reaper's edge: deletes the tasks core/reaper.ts picks (history beyond the cluster's
// taskHistoryRetentionLimit, stopped REMOVE tasks, stopped tasks of deleted services) and sets
// REMOVE on the still-live tasks of services that no longer exist (a leader that missed the
// delete), then deletes pendingDelete services whose tasks are all gone. Leader-only.
//
// A pass decides the services that events marked, reading their tasks through the serviceId
// index, up to passTaskBudget tasks; the rest stay marked for the next pass, a turn later. A new
// leader (or a new retention limit) marks every service, and every service id its tasks name
// that no longer exists. One pass over all 100,000 tasks held the event loop for 0.1-0.2 s idle,
// and for over a second on a busy manager.
import type { Kind, Node, ReadTx, Service, StoreEvent, Task } from "@shoal/store";
import { emptyPlan, guardOf, mergePlan, type Plan } from "../core/plan.js";
import { retentionLimit, servicesToDelete, tasksToReap } from "../core/reaper.js";
import { changesReaping, nodeChangesReaping } from "../core/task-states.js";
import { removeServiceTasks } from "../core/replicated.js";
import { commitPlan } from "./commit.js";
import { ReconcileLoop, decideWithinBudget, type LoopModules, type PassResult } from "./reconcile-loop.js";

export interface TaskReaperOptions {
  /** Tasks one pass reads at most (the first service is always decided). Default 10,000. */
  passTaskBudget?: number;
}

const DEFAULT_PASS_TASK_BUDGET = 10_000;

export class TaskReaper extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["task", "service", "node", "cluster"];
  private readonly passTaskBudget: number;
  private all = true;
  /** Services whose tasks may have something to reap. */
  private marked = new Set<string>();
  /** Nodes that went down, came back or went away: the services with tasks on them are marked. */
  private touchedNodes = new Set<string>();

  constructor(opts: TaskReaperOptions, modules: LoopModules) {
    super("task-reaper", modules);
    this.passTaskBudget = opts.passTaskBudget ?? DEFAULT_PASS_TASK_BUDGET;
  }

  protected markAll(): void {
    this.all = true;
  }

  protected observe(event: StoreEvent): boolean {
    // Tasks become history by updates (stopped, told to stop); services by going away or being
    // marked pendingDelete; nodes by going down (or back up) or away.
    if (event.kind === "task") {
      if (event.action !== "update" || !changesReaping(event.oldObject as Task | undefined, event.object as Task)) return false;
      this.marked.add((event.object as Task).serviceId);
    } else if (event.kind === "service") {
      if (event.action === "create") return false;
      this.marked.add((event.object as Service).id);
    } else if (event.kind === "node") {
      const changed = event.action === "delete" || nodeChangesReaping(event.oldObject as Node | undefined, event.object as Node);
      if (event.action === "create" || !changed) return false;
      this.touchedNodes.add((event.object as Node).id);
    } else if (event.kind === "cluster") {
      this.all = true;
    } else return false;
    return true;
  }

  protected async pass(): Promise<PassResult> {
    let more = false;
    const plan = this.store.view((tx): Plan => {
      const ids = this.takeMarks(tx);
      const nodes = new Map<string, Node>(tx.find("node").map((n) => [n.id, n]));
      const limit = retentionLimit(tx.find("cluster")[0]);
      const out = emptyPlan();
      const left = decideWithinBudget(ids, this.passTaskBudget, (id) => {
        const tasks = tx.find("task", { serviceId: id });
        mergePlan(out, reapService(id, tx.get("service", id), tasks, nodes, limit));
        return tasks.length;
      });
      for (const id of left) this.marked.add(id);
      more = left.length > 0;
      return out;
    });
    const result = await commitPlan(this.store, plan, this.log);
    await this.deleteEmptiedServices();
    return { retry: result.conflicted.size > 0, more };
  }

  /** The marked service ids, sorted, clearing the marks. */
  private takeMarks(tx: ReadTx): string[] {
    const ids = this.marked;
    if (this.all) {
      for (const s of tx.find("service")) ids.add(s.id);
      // Tasks of services that are gone (deleted under another leader): one pass over the tasks,
      // reading no more than their service ids.
      for (const t of tx.find("task")) ids.add(t.serviceId);
    }
    for (const nodeId of this.touchedNodes) for (const t of tx.find("task", { nodeId })) ids.add(t.serviceId);
    this.all = false;
    this.marked = new Set();
    this.touchedNodes = new Set();
    return [...ids].sort();
  }

  /** pendingDelete services whose last task is gone are deleted (in one transaction, re-checked). */
  private async deleteEmptiedServices(): Promise<void> {
    const doomed = this.store.view((tx) => {
      const pending = tx.find("service").filter((s) => s.pendingDelete === true);
      if (pending.length === 0) return [];
      const tasks = pending.flatMap((s) => tx.find("task", { serviceId: s.id }));
      return servicesToDelete(new Map(pending.map((s) => [s.id, s])), tasks);
    });
    if (doomed.length === 0) return;
    const deleted = await this.store.update((tx) =>
      doomed.filter((s) => {
        const cur = tx.get("service", s.id);
        if (cur?.meta.version.index !== s.meta.version.index || tx.find("task", { serviceId: s.id }).length > 0) return false;
        tx.delete("service", s.id);
        return true;
      }),
    );
    for (const s of deleted) this.log.info({ serviceId: s.id }, "service deleted: its tasks are gone");
  }
}

/** What to reap of one service's tasks; a service that is gone has its live tasks told to REMOVE. */
function reapService(serviceId: string, service: Service | undefined, tasks: Task[], nodes: ReadonlyMap<string, Node>, limit: number): Plan {
  const out = emptyPlan();
  const services = new Map<string, Service>(service === undefined ? [] : [[serviceId, service]]);
  const reaped = tasksToReap({ tasks, services, nodes, retentionLimit: limit });
  for (const t of reaped) out.changes.push({ reason: "reap task", serviceId, guard: [guardOf(t)], desired: [], create: [], delete: [t.id] });
  if (service === undefined) {
    const gone = new Set(reaped.map((t) => t.id));
    const left = tasks.filter((t) => !gone.has(t.id));
    if (left.length > 0) mergePlan(out, removeServiceTasks(serviceId, left));
  }
  return out;
}
