// /nodes*: list (with Docker's filters), inspect by ID / name / ID prefix, update the spec, remove.
// Manager-only. Writes go through the ManagerBackend, which owns the checks (quorum guard, a
// manager cannot be removed…); this file only resolves the reference and converts shapes.
import { NodeMembership, NodeRole, type Node, type ReadTx } from "@shoal/store";
import { dockerNodeSpecSchema, nodeSpecFromDocker, nodeToDocker, tlsInfoOfRoot, type DockerNodeSpec, type DockerTlsInfo } from "../docker/index.js";
import { checkFilterValues, matchLabels, matchPrefixes, parseFilters, type Filters } from "../filters.js";
import { parseQueryBool, parseVersion, queryBool, queryVersion } from "../validation.js";
import { requireManager, requireManagerForRead, type RoutePlugin } from "./context.js";

const NODE_FILTERS = ["id", "name", "role", "membership", "label", "node.label"] as const;
const tags = ["nodes"];
const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, description: "node ID, unique ID prefix, name or hostname" } },
};

function nodeMatches(n: Node, f: Filters): boolean {
  const names = f.get("name");
  if (names !== undefined && !matchPrefixes(n.spec.annotations.name ?? "", names) && !matchPrefixes(n.description?.hostname ?? "", names)) return false;
  if (!matchPrefixes(n.id, f.get("id"))) return false;
  const roles = f.get("role");
  if (roles !== undefined && !roles.includes(n.role === NodeRole.MANAGER ? "manager" : "worker")) return false;
  const membership = f.get("membership");
  if (membership !== undefined && !membership.includes(n.spec.membership === NodeMembership.ACCEPTED ? "accepted" : "pending")) return false;
  // "label" is the engine's labels (set on the daemon), "node.label" the spec's (set by operators).
  if (!matchLabels(n.description?.engine?.labels ?? {}, f.get("label") ?? [])) return false;
  if (!matchLabels(n.spec.annotations.labels ?? {}, f.get("node.label") ?? [])) return false;
  return true;
}

/** The cluster root's TLSInfo, which nodes that report none of their own show (nodeToDocker). */
function rootTlsInfo(tx: ReadTx): DockerTlsInfo | undefined {
  const caCert = tx.find("cluster")[0]?.rootCa?.caCert;
  return caCert === undefined ? undefined : tlsInfoOfRoot(caCert);
}

export const nodeRoutes: RoutePlugin = async (app, { backend }) => {
  app.get<{ Querystring: { filters?: string } }>(
    "/nodes",
    {
      schema: {
        summary: "List nodes",
        tags,
        querystring: { type: "object", properties: { filters: { type: "string", description: `JSON map of filters: ${NODE_FILTERS.join(", ")}` } } },
      },
    },
    async (req) => {
      const filters = parseFilters(req.query.filters, NODE_FILTERS);
      checkFilterValues(filters, "role", ["manager", "worker"]);
      checkFilterValues(filters, "membership", ["accepted", "pending"]);
      // A local read, once this manager knows a leader (Docker's managers refuse reads without one).
      const m = await requireManagerForRead(backend);
      const { nodes, root } = m.store.view((tx) => ({ nodes: tx.find("node"), root: rootTlsInfo(tx) }));
      const raft = m.clusterStatus();
      return nodes.filter((n) => nodeMatches(n, filters)).map((n) => nodeToDocker(n, raft, root));
    },
  );

  app.get<{ Params: { id: string } }>("/nodes/:id", { schema: { summary: "Inspect a node", tags, params: idParams } }, async (req) => {
    const m = await requireManagerForRead(backend);
    const { node, root } = m.store.view((tx) => ({ node: tx.lookup("node", req.params.id), root: rootTlsInfo(tx) }));
    return nodeToDocker(node, m.clusterStatus(), root);
  });

  app.post<{ Params: { id: string }; Querystring: { version?: string }; Body: DockerNodeSpec }>(
    "/nodes/:id/update",
    {
      schema: {
        summary: "Replace a node's spec (role, availability, labels); the version read is required",
        tags,
        params: idParams,
        querystring: { type: "object", required: ["version"], properties: { version: queryVersion } },
        body: dockerNodeSpecSchema,
      },
    },
    async (req, reply) => {
      const m = requireManager(backend);
      const version = parseVersion(req.query.version);
      const node = m.store.view((tx) => tx.lookup("node", req.params.id));
      await m.updateNode(node.id, version, nodeSpecFromDocker(req.body, node.spec));
      return reply.send();
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { force?: string } }>(
    "/nodes/:id",
    { schema: { summary: "Remove a node (a manager must be demoted first; force removes a node that is not down)", tags, params: idParams, querystring: { type: "object", properties: { force: queryBool } } } },
    async (req, reply) => {
      const m = requireManager(backend);
      const node = m.store.view((tx) => tx.lookup("node", req.params.id));
      await m.removeNode(node.id, parseQueryBool(req.query.force));
      return reply.send();
    },
  );
};
