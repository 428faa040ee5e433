// Shoal's own routes: the raft view (/shoal/cluster), Prometheus metrics and the OpenAPI document.
import type { ClusterStatus, RaftMemberStatus } from "../backend.js";
import { requireManager, type RoutePlugin } from "./context.js";

export interface ClusterStatusView extends ClusterStatus {
  /** lag null: unknown here (only the leader tracks how far each member is; matchIndex is 0). */
  members: (RaftMemberStatus & { lag: number | null })[];
}

/**
 * Adds each member's lag: how many committed entries it is behind (commit − matchIndex). Known for
 * every member on the leader, and for itself on any manager; null otherwise.
 */
export function withLag(status: ClusterStatus): ClusterStatusView {
  const leader = status.leaderRaftId === status.raftId;
  return {
    ...status,
    members: status.members.map((m) => ({ ...m, lag: leader || m.raftId === status.raftId ? Math.max(0, status.commitIndex - m.matchIndex) : null })),
  };
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
