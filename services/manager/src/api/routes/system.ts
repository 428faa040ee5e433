// Node-level routes that work in every state: /_ping (and HEAD), /version, /info.
import { ShoalError } from "@shoal/common";
import { NodeRole, type Cluster } from "@shoal/store";
import { API_VERSION, infoToDocker, swarmHeader, versionToDocker, type ManagerView } from "../docker/index.js";
import type { RoutePlugin } from "./context.js";

export const systemRoutes: RoutePlugin = async (app, { backend }) => {
  app.get(
    "/_ping",
    { schema: { summary: "Liveness and API version negotiation (HEAD too)", tags: ["system"] } },
    async (_req, reply) => {
      void reply
        .header("API-Version", API_VERSION)
        .header("OSType", "linux")
        .header("Docker-Experimental", "false")
        .header("Swarm", swarmHeader(backend.info()))
        .header("Cache-Control", "no-cache")
        .header("Pragma", "no-cache")
        .type("text/plain; charset=utf-8");
      return "OK";
    },
  );

  app.get("/version", { schema: { summary: "Engine version (Docker shape)", tags: ["system"] } }, async () => versionToDocker(backend.info()));

  app.get("/info", { schema: { summary: "Node and swarm summary (Docker shape)", tags: ["system"] } }, async () => {
    const info = backend.info();
    const m = backend.manager();
    if (m === undefined) return infoToDocker(info, undefined);
    // /info answers at once in every state. A manager that knows no leader shows why in
    // Swarm.Error (docker info prints it) and leaves out the cluster it may hold stale, as Docker's.
    try {
      await m.leaderForRead({ wait: false });
    } catch (err) {
      if (!(err instanceof ShoalError)) throw err;
      return infoToDocker({ ...info, error: err.message }, undefined);
    }
    const view: ManagerView = m.store.view((tx) => {
      const nodes = tx.find("node");
      const cluster: Cluster | undefined = tx.find("cluster")[0];
      return { cluster, settings: m.clusterSettingDefaults(), nodes: nodes.length, managers: nodes.filter((n) => n.role === NodeRole.MANAGER).length };
    });
    return infoToDocker(info, view);
  });
};
