// Shoal's own routes: the raft view (/shoal/cluster), Prometheus metrics and the OpenAPI document.
import type { ClusterStatus, RaftMemberStatus } from "../backend.js";
import { requireManager, type RoutePlugin } from "./context.js";

export interface ClusterStatusView extends ClusterStatus {
  members: (RaftMemberStatus & { lag: number })[];
}

/** Adds each member's lag: how many committed entries it is behind (leader's commit − matchIndex). */
export function withLag(status: ClusterStatus): ClusterStatusView {
  return { ...status, members: status.members.map((m) => ({ ...m, lag: Math.max(0, status.commitIndex - m.matchIndex) })) };
}

export const nativeRoutes: RoutePlugin = async (app, { backend }) => {
  app.get("/shoal/cluster", { schema: { summary: "Raft status of this manager and each member's lag", tags: ["shoal"] } }, async () =>
    withLag(requireManager(backend).clusterStatus()),
  );

  app.get("/metrics", { schema: { summary: "Prometheus metrics of this process", tags: ["shoal"] } }, async (_req, reply) => {
    const { contentType, body } = await backend.metrics();
    return reply.type(contentType).send(body);
  });
};
