// The task reaper's edge: deletes the tasks core/reaper.ts picks (history beyond the cluster's
// taskHistoryRetentionLimit, stopped REMOVE tasks, stopped tasks of deleted services) and sets
// REMOVE on the still-live tasks of services that no longer exist (a leader that missed the
// delete), then deletes pendingDelete services whose tasks are all gone. Leader-only. Each pass
// reads all tasks: it runs once per burst of events.
import type { Kind, Node, Service, StoreEvent, Task } from "@shoal/store";
import { emptyPlan, guardOf, mergePlan, type Plan } from "../core/plan.js";
import { retentionLimit, servicesToDelete, tasksToReap } from "../core/reaper.js";
import { changesReaping, nodeChangesReaping } from "../core/task-states.js";
import { removeServiceTasks } from "../core/replicated.js";
import { commitPlan } from "./commit.js";
import { ReconcileLoop, type LoopModules, type PassResult } from "./reconcile-loop.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no options yet; kept for the (opts, modules) convention
export interface TaskReaperOptions {}

export class TaskReaper extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["task", "service", "node", "cluster"];
  private dirty = true;

  constructor(_opts: TaskReaperOptions, modules: LoopModules) {
    super("task-reaper", modules);
  }

  protected markAll(): void {
    this.dirty = true;
  }

  protected observe(event: StoreEvent): boolean {
    // Tasks become history by updates (stopped, told to stop); services by going away or being
    // marked pendingDelete; nodes by going down (or back up) or away.
    const relevant =
      (event.kind === "task" && event.action === "update" && changesReaping(event.oldObject as Task | undefined, event.object as Task)) ||
      (event.kind === "service" && event.action !== "create") ||
      (event.kind === "node" && event.action !== "create" && (event.action === "delete" || nodeChangesReaping(event.oldObject as Node | undefined, event.object as Node))) ||
      event.kind === "cluster";
    if (relevant) this.dirty = true;
    return relevant;
  }

  protected async pass(): Promise<PassResult> {
    if (!this.dirty) return {};
    this.dirty = false;
    const plan = this.store.view((tx): Plan => {
      const tasks = tx.find("task");
      const services = new Map<string, Service>(tx.find("service").map((s) => [s.id, s]));
      const nodes = new Map<string, Node>(tx.find("node").map((n) => [n.id, n]));
      const limit = retentionLimit(tx.find("cluster")[0]);
      const out = emptyPlan();
      const reaped = tasksToReap({ tasks, services, nodes, retentionLimit: limit });
      const gone = new Set(reaped.map((t) => t.id));
      for (const t of reaped) out.changes.push({ reason: "reap task", serviceId: t.serviceId, guard: [guardOf(t)], desired: [], create: [], delete: [t.id] });
      const orphans = new Map<string, Task[]>();
      for (const t of tasks) {
        if (services.has(t.serviceId) || gone.has(t.id)) continue;
        const list = orphans.get(t.serviceId);
        if (list === undefined) orphans.set(t.serviceId, [t]);
        else list.push(t);
      }
      for (const [serviceId, list] of orphans) mergePlan(out, removeServiceTasks(serviceId, list));
      return out;
    });
    const result = await commitPlan(this.store, plan, this.log);
    await this.deleteEmptiedServices();
    return { retry: result.conflicted.size > 0 };
  }

  /** pendingDelete services whose last task is gone are deleted (in one transaction, re-checked). */
  private async deleteEmptiedServices(): Promise<void> {
    const doomed = this.store.view((tx) => servicesToDelete(new Map(tx.find("service").map((s) => [s.id, s])), tx.find("task")));
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
