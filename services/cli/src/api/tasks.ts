// Typed calls for /tasks: the list (filtered by Docker's JSON filter map) a service's progress and
// `service ps` / `node ps` read.
import type { ApiClient } from "../client.js";
import { expectArray } from "./shape.js";

export type TaskState =
  | "new" | "allocated" | "pending" | "assigned" | "accepted" | "preparing" | "ready" | "starting" | "running"
  | "complete" | "shutdown" | "failed" | "rejected" | "remove" | "orphaned";

export interface DockerTask {
  ID: string;
  CreatedAt?: string;
  ServiceID?: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: TaskState;
  Status?: {
    State?: TaskState;
    Timestamp?: string;
    Message?: string;
    Err?: string;
    PortStatus?: { Ports?: { Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }[] };
  };
  Spec?: { ContainerSpec?: { Image?: string } };
}

/** Filters as Docker's map: `{"service": ["id"], "_up-to-date": ["true"]}` → `{"service":{"id":true},…}`. */
export function taskFilters(filters: Record<string, readonly string[]>): string {
  const map: Record<string, Record<string, boolean>> = {};
  for (const [k, values] of Object.entries(filters)) for (const v of values) (map[k] ??= {})[v] = true;
  return JSON.stringify(map);
}

export async function listTasks(client: ApiClient, filters: Record<string, readonly string[]>): Promise<DockerTask[]> {
  return expectArray<DockerTask>(await client.get("/tasks", { query: { filters: taskFilters(filters) } }), "GET /tasks", ["ID"]);
}
