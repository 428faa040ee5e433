// Whether a node satisfies a task's placement constraints, for the global reconcilers and the
// constraint enforcer. The grammar is the scheduler's (scheduler/core/constraints.ts), so that the
// scheduler and the orchestrators never disagree on a constraint.
import { errorCode } from "@shoal/common";
import type { Node, TaskSpec } from "@shoal/store";
import { matchesConstraints, parseConstraints, type Constraint } from "../../scheduler/core/constraints.js";

// Parsed once per constraint list: store objects are frozen, so a list's identity is stable, and
// the enforcer checks every task of a node on every node change.
const parsed = new WeakMap<readonly string[], Constraint[] | "invalid">();

function constraintsOf(list: readonly string[]): Constraint[] | "invalid" {
  let c = parsed.get(list);
  if (c === undefined) {
    try {
      c = parseConstraints(list);
    } catch (err) {
      // The API refuses invalid constraints; one that slipped in matches no node (the scheduler
      // reports it as the reason the task cannot be placed).
      if (errorCode(err) !== "SCHEDULER_CONSTRAINT_INVALID") throw err;
      c = "invalid";
    }
    parsed.set(list, c);
  }
  return c;
}

/** The node satisfies every placement constraint of the spec (an invalid one never matches). */
export function placementAllows(node: Node, spec: TaskSpec): boolean {
  const list = spec.placement?.constraints;
  if (list === undefined || list.length === 0) return true;
  const constraints = constraintsOf(list);
  return constraints !== "invalid" && matchesConstraints(node, constraints);
}
