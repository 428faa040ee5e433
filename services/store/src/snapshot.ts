// The whole-store snapshot shape; mirrors StoreSnapshot in proto/objects.proto.
import type { Cluster } from "./objects/cluster.js";
import type { Kind, ObjectOf } from "./objects/kinds.js";
import type { Network } from "./objects/network.js";
import type { Node } from "./objects/node.js";
import type { Config, Secret } from "./objects/secret.js";
import type { Service } from "./objects/service.js";
import type { Task } from "./objects/task.js";

export interface StoreSnapshot {
  /** The raft index the snapshot reflects (the store's applied index). */
  index: number;
  nodes: Node[];
  services: Service[];
  tasks: Task[];
  networks: Network[];
  secrets: Secret[];
  configs: Config[];
  clusters: Cluster[];
  /**
   * The most recent entries refused at apply (their indexes, ascending): an entry staged over one
   * of them is refused too (MemoryStore, pipelined writes), also by a replica that starts from
   * this snapshot. Absent in snapshots written before pipelining: none.
   */
  refused?: number[];
}

export const SNAPSHOT_FIELD = {
  node: "nodes",
  service: "services",
  task: "tasks",
  network: "networks",
  secret: "secrets",
  config: "configs",
  cluster: "clusters",
} as const satisfies Record<Kind, keyof StoreSnapshot>;

export function snapshotObjects<K extends Kind>(s: StoreSnapshot, kind: K): ObjectOf<K>[] {
  return s[SNAPSHOT_FIELD[kind]] as ObjectOf<K>[];
}
