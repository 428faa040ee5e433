// /swarm*: the cluster object (manager-only: inspect, update, unlock key) and the node's own
// membership (init, join, leave, unlock), which work without a manager.
import type { Cluster } from "@shoal/store";
import {
  clusterSpecFromDocker,
  dockerInitRequestSchema,
  dockerJoinRequestSchema,
  dockerSwarmSpecSchema,
  dockerUnlockRequestSchema,
  initRequestFromDocker,
  joinRequestFromDocker,
  swarmToDocker,
  type DockerInitRequest,
  type DockerJoinRequest,
  type DockerSwarmSpec,
} from "../docker/index.js";
import { parseQueryBool, parseVersion, queryBool, queryVersion } from "../validation.js";
import { notManagerError, requireManager, requireManagerForRead, type RoutePlugin } from "./context.js";

interface UpdateQuery {
  version?: string;
  rotateWorkerToken?: string;
  rotateManagerToken?: string;
  rotateManagerUnlockKey?: string;
}

const tags = ["swarm"];

export const swarmRoutes: RoutePlugin = async (app, { backend }) => {
  app.get("/swarm", { schema: { summary: "Inspect the swarm (cluster object with join tokens)", tags } }, async () => {
    // A local read, once this manager knows a leader (Docker's managers refuse reads without one).
    const m = await requireManagerForRead(backend);
    const cluster: Cluster | undefined = m.store.view((tx) => tx.find("cluster")[0]);
    // A manager whose store has no cluster object yet is still starting.
    if (cluster === undefined) throw notManagerError({ ...backend.info(), localNodeState: "pending" });
    return swarmToDocker(cluster, m.clusterSettingDefaults());
  });

  app.post<{ Body: DockerInitRequest }>(
    "/swarm/init",
    { schema: { summary: "Create a swarm with this node as its first manager; answers the node ID (a JSON string)", tags, body: dockerInitRequestSchema } },
    async (req, reply) => {
      const nodeId = await backend.init(initRequestFromDocker(req.body));
      return reply.type("application/json").send(JSON.stringify(nodeId));
    },
  );

  app.post<{ Body: DockerJoinRequest }>(
    "/swarm/join",
    { schema: { summary: "Join an existing swarm with a join token", tags, body: dockerJoinRequestSchema } },
    async (req, reply) => {
      await backend.join(joinRequestFromDocker(req.body));
      return reply.send();
    },
  );

  app.post<{ Querystring: { force?: string } }>(
    "/swarm/leave",
    { schema: { summary: "Leave the swarm (a manager needs force)", tags, querystring: { type: "object", properties: { force: queryBool } } } },
    async (req, reply) => {
      await backend.leave(parseQueryBool(req.query.force));
      return reply.send();
    },
  );

  app.post<{ Querystring: UpdateQuery; Body: DockerSwarmSpec }>(
    "/swarm/update",
    {
      schema: {
        summary: "Replace the swarm spec (the version read is required); optionally rotate join tokens or the unlock key",
        tags,
        querystring: {
          type: "object",
          required: ["version"],
          properties: { version: queryVersion, rotateWorkerToken: queryBool, rotateManagerToken: queryBool, rotateManagerUnlockKey: queryBool },
        },
        body: dockerSwarmSpecSchema,
      },
    },
    async (req, reply) => {
      const m = requireManager(backend);
      const q = req.query;
      await m.updateCluster(parseVersion(q.version), clusterSpecFromDocker(req.body), {
        rotateWorkerToken: parseQueryBool(q.rotateWorkerToken),
        rotateManagerToken: parseQueryBool(q.rotateManagerToken),
        rotateManagerUnlockKey: parseQueryBool(q.rotateManagerUnlockKey),
      });
      return reply.send();
    },
  );

  app.get("/swarm/unlockkey", { schema: { summary: "The current unlock key (empty when autolock is off)", tags } }, async () => {
    const m = await requireManagerForRead(backend);
    return { UnlockKey: await m.unlockKey() };
  });

  app.post<{ Body: { UnlockKey: string } }>(
    "/swarm/unlock",
    { schema: { summary: "Unlock a locked manager with the unlock key", tags, body: dockerUnlockRequestSchema } },
    async (req, reply) => {
      await backend.unlock(req.body.UnlockKey);
      return reply.send();
    },
  );
};
