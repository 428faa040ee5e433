// Selectors for find(): which objects of a kind to return. Indexed selectors and the predicate
// used on uncommitted (transaction-local) objects come from the same function, indexKeys(), so an
// index lookup and a scan can never disagree.
import { invalid } from "./errors.js";
import type { Kind, StoreObject } from "./objects/kinds.js";
import { objectLabels, objectName } from "./objects/kinds.js";
import type { NodeMembership, NodeRole, Node } from "./objects/node.js";
import type { Service } from "./objects/service.js";
import type { Task, TaskState } from "./objects/task.js";
import type { TaskSpec } from "./objects/task-spec.js";

export type Selector =
  /** Every object of the kind. */
  | { all: true }
  /** Exact name, case-insensitive (swarm's names are). Nodes go by name, else hostname. */
  | { name: string }
  | { namePrefix: string }
  | { idPrefix: string }
  /** Tasks of a service. */
  | { serviceId: string }
  /** Tasks assigned to a node. */
  | { nodeId: string }
  | { desiredState: TaskState }
  /** Tasks of one replicated slot. */
  | { slot: { serviceId: string; slot: number } }
  /** Objects whose labels have `label` (with `value`, if given). */
  | { label: string; value?: string }
  /** Services and tasks that use a network, secret or config (to refuse deleting it). */
  | { networkId: string }
  | { secretId: string }
  | { configId: string }
  /** Nodes by observed role / membership. */
  | { role: NodeRole }
  | { membership: NodeMembership }
  /** Objects that match any of the selectors. */
  | { or: Selector[] };

export type IndexName =
  | "name"
  | "label"
  | "service"
  | "node"
  | "desired"
  | "slot"
  | "network"
  | "secret"
  | "config"
  | "role"
  | "membership";

export type IndexKey = readonly [IndexName, string];

/** A selector made executable: an index key when one answers it, and always a predicate. */
export interface CompiledSelector {
  readonly index?: IndexKey;
  readonly union?: readonly CompiledSelector[];
  match(id: string, obj: StoreObject): boolean;
}

const SEP = "\u0000";

function taskSpecRefs(spec: TaskSpec | undefined, want: (n: IndexName) => boolean, out: IndexKey[]): void {
  if (want("network")) for (const n of spec?.networks ?? []) out.push(["network", n.target]);
  if (want("secret")) for (const s of spec?.container?.secrets ?? []) out.push(["secret", s.secretId]);
  if (want("config")) for (const c of spec?.container?.configs ?? []) out.push(["config", c.configId]);
}

const everyName = (): boolean => true;

/**
 * The top-level fields indexKeys() reads, by kind. Keep the two together: a field that feeds an
 * index and is missing here leaves a stale index entry behind after an update of that field.
 */
const INDEXED_FIELDS: Readonly<Record<Kind, readonly string[]>> = {
  task: ["annotations", "serviceId", "nodeId", "desiredState", "slot", "spec", "networks"],
  node: ["spec", "description", "role"],
  service: ["spec"],
  network: ["spec"],
  secret: ["spec"],
  config: ["spec"],
  cluster: ["spec"],
};

/**
 * Whether two versions of an object have the same index keys because each field the keys come
 * from holds the same value, objects by reference (an update shares each value it left as it was
 * with the stored object, see shareStored). False does not mean the keys differ. A task's status
 * update, most of a busy cluster's writes, then costs no index work.
 */
export function sameIndexedFields(kind: Kind, a: StoreObject, b: StoreObject): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const f of INDEXED_FIELDS[kind]) if (x[f] !== y[f]) return false;
  return true;
}

/**
 * Every index entry of an object, or with `only` just those of one index (what a selector's
 * predicate needs: one function, so an index lookup and a scan can never disagree, without
 * building every key of every object a scan passes). Duplicates are harmless.
 */
export function indexKeys(kind: Kind, obj: StoreObject, only?: IndexName): IndexKey[] {
  const keys: IndexKey[] = [];
  const want = only === undefined ? everyName : (n: IndexName): boolean => n === only;
  if (want("name")) {
    const name = objectName(kind, obj);
    if (name !== "") keys.push(["name", name.toLowerCase()]);
  }
  if (want("label")) {
    for (const [k, v] of Object.entries(objectLabels(kind, obj))) {
      keys.push(["label", k]);
      keys.push(["label", k + SEP + v]);
    }
  }
  switch (kind) {
    case "task": {
      const t = obj as Task;
      if (want("service")) keys.push(["service", t.serviceId]);
      if (t.nodeId && want("node")) keys.push(["node", t.nodeId]);
      if (want("desired")) keys.push(["desired", String(t.desiredState)]);
      if (t.slot > 0 && want("slot")) keys.push(["slot", t.serviceId + SEP + String(t.slot)]);
      taskSpecRefs(t.spec, want, keys);
      if (want("network")) for (const a of t.networks ?? []) keys.push(["network", a.networkId]);
      break;
    }
    case "service":
      taskSpecRefs((obj as Service).spec.task, want, keys);
      break;
    case "node": {
      const n = obj as Node;
      if (want("role")) keys.push(["role", String(n.role)]);
      if (want("membership")) keys.push(["membership", String(n.spec.membership)]);
      break;
    }
    default:
      break;
  }
  return keys;
}

export function compileSelector(kind: Kind, sel: Selector | undefined): CompiledSelector {
  const indexed = (key: IndexKey): CompiledSelector => ({
    index: key,
    match: (_id, obj) => indexKeys(kind, obj, key[0]).some(([, k]) => k === key[1]),
  });
  if (sel === undefined || "all" in sel) return { match: () => true };
  if ("name" in sel) return indexed(["name", sel.name.toLowerCase()]);
  if ("namePrefix" in sel) {
    const p = sel.namePrefix.toLowerCase();
    return { match: (_id, obj) => objectName(kind, obj).toLowerCase().startsWith(p) };
  }
  if ("idPrefix" in sel) return { match: (id) => id.startsWith(sel.idPrefix) };
  if ("serviceId" in sel) return indexed(["service", sel.serviceId]);
  if ("nodeId" in sel) return indexed(["node", sel.nodeId]);
  if ("desiredState" in sel) return indexed(["desired", String(sel.desiredState)]);
  if ("slot" in sel) return indexed(["slot", sel.slot.serviceId + SEP + String(sel.slot.slot)]);
  if ("label" in sel) return indexed(["label", sel.value === undefined ? sel.label : sel.label + SEP + sel.value]);
  if ("networkId" in sel) return indexed(["network", sel.networkId]);
  if ("secretId" in sel) return indexed(["secret", sel.secretId]);
  if ("configId" in sel) return indexed(["config", sel.configId]);
  if ("role" in sel) return indexed(["role", String(sel.role)]);
  if ("membership" in sel) return indexed(["membership", String(sel.membership)]);
  if ("or" in sel) {
    const parts = sel.or.map((s) => compileSelector(kind, s));
    return { union: parts, match: (id, obj) => parts.some((p) => p.match(id, obj)) };
  }
  throw invalid(`unknown selector ${JSON.stringify(sel)}`);
}
