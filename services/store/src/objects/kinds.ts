// The kinds of stored objects and the mapping from kind to type that the generic store uses.
import type { Meta } from "./common.js";
import type { Cluster } from "./cluster.js";
import type { Network } from "./network.js";
import type { Node } from "./node.js";
import type { Config, Secret } from "./secret.js";
import type { Service } from "./service.js";
import type { Task } from "./task.js";

export interface ObjectsByKind {
  node: Node;
  service: Service;
  task: Task;
  network: Network;
  secret: Secret;
  config: Config;
  cluster: Cluster;
}

export type Kind = keyof ObjectsByKind;
export type ObjectOf<K extends Kind> = ObjectsByKind[K];
export type StoreObject = ObjectsByKind[Kind];

/** Every kind, in the fixed order snapshots and listings use. */
export const KINDS: readonly Kind[] = ["node", "service", "task", "network", "secret", "config", "cluster"];

/** An object as handed to create(): the store fills in meta. */
export type NewObject<K extends Kind> = Omit<ObjectOf<K>, "meta"> & { meta?: Meta };

/** Kinds whose names are unique (case-insensitively), as swarm requires. Nodes and tasks are not. */
export const UNIQUE_NAME_KINDS: ReadonlySet<Kind> = new Set<Kind>(["service", "network", "secret", "config", "cluster"]);

/** The name an object is indexed and looked up by. A node without a name goes by its hostname. */
export function objectName(kind: Kind, obj: StoreObject): string {
  if (kind === "node") {
    const node = obj as Node;
    return node.spec.annotations?.name || node.description?.hostname || "";
  }
  if (kind === "task") return (obj as Task).annotations?.name ?? "";
  return (obj as { spec: { annotations?: { name?: string } } }).spec.annotations?.name ?? "";
}

/** The labels an object is filtered by (its spec's annotations). */
export function objectLabels(kind: Kind, obj: StoreObject): Record<string, string> {
  if (kind === "task") return (obj as Task).annotations?.labels ?? {};
  return (obj as { spec: { annotations?: { labels?: Record<string, string> } } }).spec.annotations?.labels ?? {};
}
