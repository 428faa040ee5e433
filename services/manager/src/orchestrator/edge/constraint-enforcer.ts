// The constraint enforcer's edge: when a node changes, sets desiredState SHUTDOWN on the tasks
// core/constraint-enforcer.ts says it may no longer keep (drained, constraints no longer met,
// reservations above its resources). Leader-only. Creates nothing: the orchestrators see the
// emptied slots and place replacements.
import type { Kind, Node, StoreEvent } from "@shoal/store";
import { TaskState } from "@shoal/store";
import { tasksToShed } from "../core/constraint-enforcer.js";
import { emptyPlan, guardOf } from "../core/plan.js";
import { commitPlan } from "./commit.js";
import { ReconcileLoop, decideWithinBudget, type LoopModules, type PassResult } from "./reconcile-loop.js";

export interface ConstraintEnforcerOptions {
  /**
   * A pass reads the tasks of marked nodes until it has read this many (default 10,000); the
   * other nodes stay marked for the next pass, one turn later. A new leader checks every node, and
   * at 100,000 tasks one pass over all of them held its event loop for 1.5 s.
   */
  passTaskBudget?: number;
}

const DEFAULT_PASS_TASK_BUDGET = 10_000;

export class ConstraintEnforcer extends ReconcileLoop {
  protected readonly kinds: Kind[] = ["node"];
  private marked = new Set<string>();
  private all = true;
  private readonly passTaskBudget: number;

  constructor(opts: ConstraintEnforcerOptions, modules: LoopModules) {
    super("constraint-enforcer", modules);
    this.passTaskBudget = opts.passTaskBudget ?? DEFAULT_PASS_TASK_BUDGET;
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
    let more = false;
    const plan = this.store.view((tx) => {
      const ids = (this.all ? tx.find("node").map((n) => n.id) : [...this.marked]).sort();
      this.all = false;
      this.marked = new Set();
      const out = emptyPlan();
      const left = decideWithinBudget(ids, this.passTaskBudget, (id) => {
        const node = tx.get("node", id);
        if (node === undefined) return 0;
        const tasks = tx.find("task", { nodeId: id });
        for (const { task, reason } of tasksToShed(node, tasks)) {
          out.changes.push({ reason, serviceId: task.serviceId, guard: [guardOf(task)], desired: [{ taskId: task.id, desiredState: TaskState.SHUTDOWN }], create: [] });
        }
        return tasks.length;
      });
      // Over budget: the rest waits for the next pass.
      for (const id of left) this.marked.add(id);
      more = left.length > 0;
      return out;
    });
    const result = await commitPlan(this.store, plan, this.log);
    return { retry: result.conflicted.size > 0, more };
  }
}
