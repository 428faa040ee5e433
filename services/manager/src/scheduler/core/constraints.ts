// Placement constraints (`node.labels.zone==eu`, `node.role!=manager`…): parsing and matching
// against a Node. Shared by the scheduler's filter and the orchestrator's constraint enforcer so
// both agree on every constraint. Owns the constraint grammar; must not know about tasks or stores.
//
// Semantics follow swarm, which users already know: the key prefix is case-insensitive, label
// names are case-sensitive, values compare case-insensitively, and a missing label or field reads
// as "" (so `node.labels.zone!=eu` holds on a node without the label). Unlike swarm, an unknown
// key or a malformed expression is refused at parse time instead of silently never matching.
import { NodeRole, type Node } from "@shoal/store";
import { invalidConstraint, invalidPreference } from "./errors.js";

export type ConstraintOperator = "==" | "!=";

/** What a constraint (or a spread descriptor) reads from a node. */
export type NodeField =
  | { kind: "id" }
  | { kind: "hostname" }
  | { kind: "role" }
  | { kind: "os" }
  | { kind: "arch" }
  | { kind: "nodeLabel"; label: string }
  | { kind: "engineLabel"; label: string };

export interface Constraint {
  /** The expression normalized: `key==value` without surrounding whitespace; used in messages. */
  readonly text: string;
  readonly key: string;
  readonly operator: ConstraintOperator;
  readonly value: string;
  readonly field: NodeField;
}

const NODE_LABELS = "node.labels.";
const ENGINE_LABELS = "engine.labels.";
const FIXED_FIELDS: Readonly<Record<string, NodeField>> = {
  "node.id": { kind: "id" },
  "node.hostname": { kind: "hostname" },
  "node.role": { kind: "role" },
  "node.platform.os": { kind: "os" },
  "node.platform.arch": { kind: "arch" },
};
const KEY_PATTERN = /^[A-Za-z0-9_.\-/]+$/;
// Characters that are (or may become) operators never appear in values.
const VALUE_PATTERN = /^[^=!<>~]+$/;

/** The node field a key names, or a reason it names none. */
function fieldOf(key: string): NodeField | string {
  const lower = key.toLowerCase();
  const fixed = FIXED_FIELDS[lower];
  if (fixed !== undefined) return fixed;
  for (const [prefix, kind] of [
    [NODE_LABELS, "nodeLabel"],
    [ENGINE_LABELS, "engineLabel"],
  ] as const) {
    if (lower.startsWith(prefix)) {
      const label = key.slice(prefix.length);
      return label === "" ? `missing label name after ${prefix}` : { kind, label };
    }
  }
  return `unknown key ${key} (expected node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>)`;
}

/** Parses one expression; throws SCHEDULER_CONSTRAINT_INVALID naming it. */
export function parseConstraint(expr: string): Constraint {
  const eq = expr.indexOf("==");
  const ne = expr.indexOf("!=");
  const at = eq < 0 ? ne : ne < 0 ? eq : Math.min(eq, ne);
  if (at < 0) throw invalidConstraint(expr, "expected <key>==<value> or <key>!=<value>");
  const operator = expr.slice(at, at + 2) as ConstraintOperator;
  const key = expr.slice(0, at).trim();
  const value = expr.slice(at + 2).trim();
  if (key === "" || !KEY_PATTERN.test(key)) throw invalidConstraint(expr, `invalid key "${key}"`);
  if (value === "" || !VALUE_PATTERN.test(value)) throw invalidConstraint(expr, `invalid value "${value}"`);
  const field = fieldOf(key);
  if (typeof field === "string") throw invalidConstraint(expr, field);
  if (field.kind === "role" && !["manager", "worker"].includes(value.toLowerCase())) {
    throw invalidConstraint(expr, `node.role is manager or worker, not ${value}`);
  }
  return { text: `${key}${operator}${value}`, key, operator, value, field };
}

/** Parses a service's constraints; the first invalid one throws SCHEDULER_CONSTRAINT_INVALID. */
export function parseConstraints(list: readonly string[] | undefined): Constraint[] {
  return (list ?? []).map(parseConstraint);
}

/** The value a node has for a field ("" when it has none). */
export function nodeFieldValue(node: Node, field: NodeField): string {
  switch (field.kind) {
    case "id":
      return node.id;
    case "hostname":
      return node.description?.hostname ?? "";
    case "role":
      return node.role === NodeRole.MANAGER ? "manager" : "worker";
    case "os":
      return node.description?.platform?.os ?? "";
    case "arch":
      return node.description?.platform?.architecture ?? "";
    case "nodeLabel":
      return node.spec.annotations.labels?.[field.label] ?? "";
    case "engineLabel":
      return node.description?.engine?.labels?.[field.label] ?? "";
  }
}

export function matchesConstraint(node: Node, c: Constraint): boolean {
  const actual = nodeFieldValue(node, c.field);
  // Case-insensitive without allocating for the common exact-match case.
  const same = actual === c.value || (actual.length === c.value.length && actual.toLowerCase() === c.value.toLowerCase());
  return same === (c.operator === "==");
}

/** The first constraint the node does not satisfy: the reason it is not eligible. */
export function unmetConstraint(node: Node, constraints: readonly Constraint[]): Constraint | undefined {
  for (const c of constraints) if (!matchesConstraint(node, c)) return c;
  return undefined;
}

export function matchesConstraints(node: Node, constraints: readonly Constraint[]): boolean {
  return unmetConstraint(node, constraints) === undefined;
}

/**
 * A spread preference's descriptor (`node.labels.zone`, `engine.labels.az`): swarm spreads over
 * labels only. Throws SCHEDULER_PREFERENCE_INVALID otherwise.
 */
export function parseSpreadDescriptor(descriptor: string): NodeField {
  const d = descriptor.trim();
  const field = fieldOf(d);
  if (typeof field === "string" || (field.kind !== "nodeLabel" && field.kind !== "engineLabel")) {
    throw invalidPreference(descriptor, "spread over node.labels.<name> or engine.labels.<name>");
  }
  return field;
}
