// Whether a node satisfies a task's placement (constraints and platforms), for the global
// reconcilers and the constraint enforcer. The scheduler owns constraint parsing; until its
// scheduler/core/constraints.ts lands this holds the minimal matcher (see TODO below).
import { NodeRole, type Node, type TaskSpec } from "@shoal/store";

// TODO(orchestrator): replace with the scheduler's parseConstraints/matchesConstraints once
// services/manager/src/scheduler/core/constraints.ts exists, so both agree on every constraint.
interface SimpleConstraint {
  key: string;
  equal: boolean;
  value: string;
}

function parse(expr: string): SimpleConstraint | undefined {
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(expr);
  if (m === null) return undefined;
  return { key: m[1]!, equal: m[2] === "==", value: m[3]! };
}

function nodeValue(node: Node, rawKey: string): string | undefined {
  // Prefixes are case-insensitive; label names are not.
  const key = rawKey.toLowerCase();
  if (key === "node.id") return node.id;
  if (key === "node.hostname") return node.description?.hostname ?? "";
  if (key === "node.role") return node.role === NodeRole.MANAGER ? "manager" : "worker";
  if (key === "node.platform.os") return node.description?.platform?.os ?? "";
  if (key === "node.platform.arch") return node.description?.platform?.architecture ?? "";
  const labels = (prefix: string, from: Record<string, string> | undefined): string | undefined =>
    key.startsWith(prefix) ? (from ?? {})[rawKey.slice(prefix.length)] : undefined;
  if (key.startsWith("node.labels.")) return labels("node.labels.", node.spec.annotations.labels);
  if (key.startsWith("engine.labels.")) return labels("engine.labels.", node.description?.engine?.labels);
  return undefined;
}

/** The node satisfies every placement constraint of the spec (an unparsable one never matches). */
export function placementAllows(node: Node, spec: TaskSpec): boolean {
  for (const expr of spec.placement?.constraints ?? []) {
    const c = parse(expr);
    if (c === undefined) return false;
    const v = nodeValue(node, c.key);
    const same = v !== undefined && v.toLowerCase() === c.value.toLowerCase();
    if (same !== c.equal) return false;
  }
  return true;
}
