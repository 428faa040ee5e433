// What every route plugin is given, and the guard of manager-only routes. A route plugin is
// `(app, modules)`: it declares its routes with schemas and reaches the node only through the
// NodeBackend. Adding a kind (services, tasks…) means one plugin here and one converter in docker/.
import type { Logger } from "@shoal/common";
// For its types: route schemas carry OpenAPI summaries and tags (FastifySchema augmentation).
import "@fastify/swagger";
import type { FastifyPluginAsync } from "fastify";
import type { LocalNodeInfo, ManagerBackend, NodeBackend } from "../backend.js";
import { ApiError } from "../errors.js";

export interface ApiModules {
  backend: NodeBackend;
  logger: Logger;
}

export type RoutePlugin = FastifyPluginAsync<ApiModules>;

// Docker's exact wordings, which users and scripts already know.
const NOT_IN_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const WORKER = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
const LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
const NOT_READY = "This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.";

export function notManagerError(info: LocalNodeInfo): ApiError {
  const state = info.localNodeState;
  const message = state === "locked" ? LOCKED : state === "inactive" ? NOT_IN_SWARM : state === "active" && !info.controlAvailable ? WORKER : NOT_READY;
  return new ApiError({ code: "API_NOT_MANAGER", localNodeState: state }, message);
}

/** The manager part of the backend, or the 503 Docker answers on a node that is not a manager. */
export function requireManager(backend: NodeBackend): ManagerBackend {
  const m = backend.manager();
  if (m === undefined) throw notManagerError(backend.info());
  return m;
}

/**
 * The manager part of the backend for a read of cluster state: as requireManager, and then only
 * once the manager knows a leader (MANAGER_NO_LEADER, 503, when it does not after a short wait)
 * and its store is current (MANAGER_LEADER_UNREACHABLE, 503, when the leader could not confirm it).
 */
export async function requireManagerForRead(backend: NodeBackend): Promise<ManagerBackend> {
  const m = requireManager(backend);
  await m.leaderForRead();
  return m;
}
