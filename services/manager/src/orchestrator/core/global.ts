// The global reconciler: one task per eligible node (READY, ACTIVE, placement allows it). A node
// that is PAUSEd keeps its task but gets no new one; a drained, down, deleted or no-longer-matching
// node loses it (no replacement: the slot is the node). Each node's ended tasks are handled by
// reconcileSlot under the restart policy.
import type { Node, Task } from "@shoal/store";
import { newTask } from "./new-task.js";
import { emptyPlan, earliest, guardOf, type Plan } from "./plan.js";
import { placementAllows } from "./placement.js";
import { isRestingSlot, reconcileSlot, type ReconcileContext } from "./slot-reconcile.js";
import { groupSlots, newSlotRef } from "./slots.js";
import { acceptsNewTasks, exitedByItself, isNodeUnusable, isWanted } from "./task-states.js";

/** The node may run one of this service's tasks: new ones need READY+ACTIVE, existing ones a usable node. */
export function nodeEligible(ctx: ReconcileContext, node: Node | undefined, existing: boolean): boolean {
  if (node === undefined) return false;
  if (existing ? isNodeUnusable(node) : !acceptsNewTasks(node)) return false;
  return placementAllows(node, ctx.service.spec.task);
}

/**
 * Decisions for a global service or job. `completesSlot`: jobs run once per node (a COMPLETE task
 * is the node's result); services keep running.
 */
export function reconcilePerNode(ctx: ReconcileContext, tasks: readonly Task[], completesSlot: boolean): Plan {
  const { service } = ctx;
  const plan = emptyPlan();
  const byNode = new Map<string, Task[]>();
  for (const list of groupSlots(tasks.filter((t) => t.slot === 0 && t.nodeId !== "")).values()) byNode.set(list[0]!.nodeId, list);

  for (const [nodeId, list] of byNode) {
    const node = ctx.nodes.get(nodeId);
    if (!list.some(isWanted)) continue;
    const out = reconcileSlot(ctx, list, {
      keepOn: (n) => nodeEligible(ctx, n, true),
      canReplace: nodeEligible(ctx, node, false),
      completesSlot,
    });
    plan.wakeAtMs = earliest(plan.wakeAtMs, out.wakeAtMs);
    if (out.change !== undefined) plan.changes.push(out.change);
  }
  const ids = [...ctx.nodes.keys()].sort();
  for (const nodeId of ids) {
    const list = byNode.get(nodeId) ?? [];
    if (list.some(isWanted) || !nodeEligible(ctx, ctx.nodes.get(nodeId), false)) continue;
    // A job's node runs again only if its last task did not end by itself (it was stopped because
    // the node was drained or lost, and the node is back).
    if (completesSlot ? list.length > 0 && exitedByItself(list[list.length - 1]!) : isRestingSlot(service, list)) continue;
    plan.changes.push({
      reason: "node eligible",
      serviceId: service.id,
      guard: list.map(guardOf),
      slot: newSlotRef(service, { nodeId }),
      desired: [],
      create: [newTask(service, { id: ctx.newId(), nodeId }, ctx.now)],
    });
  }
  return plan;
}
