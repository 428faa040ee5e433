// Typed calls for /swarm*: the cluster object, its update (always naming the version read), join
// tokens and the unlock key.
import type { ApiClient } from "../client.js";
import { expectObject, expectString } from "./shape.js";
import type { DockerSwarm } from "./types.js";

export interface SwarmRotation {
  rotateWorkerToken?: boolean;
  rotateManagerToken?: boolean;
  rotateManagerUnlockKey?: boolean;
}

export async function getSwarm(client: ApiClient): Promise<DockerSwarm> {
  return expectObject<DockerSwarm>(await client.get("/swarm"), "GET /swarm", ["Version", "Spec"]);
}

/**
 * POST /swarm/update with the whole Spec and the version it was read at (the API refuses a stale
 * version with "update out of sequence" instead of losing a concurrent change).
 */
export async function updateSwarm(client: ApiClient, read: DockerSwarm, spec: DockerSwarm["Spec"], rotate: SwarmRotation = {}): Promise<void> {
  await client.post("/swarm/update", {
    query: {
      rotateManagerToken: rotate.rotateManagerToken === true,
      rotateManagerUnlockKey: rotate.rotateManagerUnlockKey === true,
      rotateWorkerToken: rotate.rotateWorkerToken === true,
      version: read.Version.Index,
    },
    body: spec,
  });
}

/** The current unlock key; "" when autolock is off. */
export async function getUnlockKey(client: ApiClient): Promise<string> {
  const route = "GET /swarm/unlockkey";
  const body = expectObject<{ UnlockKey?: unknown }>(await client.get("/swarm/unlockkey"), route);
  return body.UnlockKey === undefined || body.UnlockKey === null ? "" : expectString(body.UnlockKey, route);
}
