// The constraint enforcer's edge: when a node changes, sets desiredState SHUTDOWN on the tasks
// core/constraint-enforcer.ts says it may no longer keep (drained, constraints no longer met,
// reservations above its resources). Leader-only. Creates nothing: the orchestrators see the
// emptied slots and place replacements.
import type { Kind, Node, StoreEvent } from "@shoal/store";
import { TaskState } from "@shoal/store";
import { tasksToShed } from "../core/constraint-enforcer.js";
import { emptyPlan, guardOf } from "../core/plan.js";
import { commitPlan } from "./commit.js";
import { ReconcileLoop, type LoopModules, type PassResult } from "./reconcile-loop.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no options yet; kept for the (opts, modules) convention
export interface ConstraintEnforcerOptions {}

export class ConstraintEnforcer extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["node"];
  private marked = new Set<string>();
  private all = true;

  constructor(_opts: ConstraintEnforcerOptions, modules: LoopModules) {
    super("constraint-enforcer", modules);
  }

  protected markAll(): void {
    this.all = true;
  }

  protected observe(event: StoreEvent): boolean {
    if (event.action === "delete") return false;
    this.marked.add((event.object as Node).id);
    return true;
  }

  protected async pass(): Promise<PassResult> {
    const plan = this.store.view((tx) => {
      const ids = this.all ? tx.find("node").map((n) => n.id) : [...this.marked];
      this.all = false;
      this.marked = new Set();
      const out = emptyPlan();
      for (const id of ids.sort()) {
        const node = tx.get("node", id);
        if (node === undefined) continue;
        for (const { task, reason } of tasksToShed(node, tx.find("task", { nodeId: id }))) {
          out.changes.push({ reason, serviceId: task.serviceId, guard: [guardOf(task)], desired: [{ taskId: task.id, desiredState: TaskState.SHUTDOWN }], create: [] });
        }
      }
      return out;
    });
    const result = await commitPlan(this.store, plan, this.log);
    return { retry: result.conflicted.size > 0 };
  }
}
