// Typed calls for /nodes*. A node is named by ID, unique ID prefix or hostname (the API resolves
// it); "self" is resolved here through /info, as the docker CLI does.
import { isDeepStrictEqual } from "node:util";
import type { ApiClient } from "../client.js";
import { CliError } from "../errors.js";
import { postEdit } from "./edit.js";
import { expectArray, expectObject } from "./shape.js";
import { getInfo } from "./system.js";
import type { DockerNode, NodeSpec } from "./types.js";

export async function listNodes(client: ApiClient, filters?: string): Promise<DockerNode[]> {
  return expectArray<DockerNode>(await client.get("/nodes", { query: { filters } }), "GET /nodes", ["ID"]);
}

/** This node's ID ("" is refused: the node is not part of a swarm). */
export async function selfNodeId(client: ApiClient): Promise<string> {
  const id = (await getInfo(client)).Swarm?.NodeID ?? "";
  if (id === "") throw new CliError("CLI_FAILED", "this node is not part of a swarm");
  return id;
}

export async function getNode(client: ApiClient, ref: string): Promise<DockerNode> {
  const id = ref === "self" ? await selfNodeId(client) : ref;
  const route = `GET /nodes/${id}`;
  return expectObject<DockerNode>(await client.get(`/nodes/${encodeURIComponent(id)}`), route, ["ID", "Version", "Spec"]);
}

/** POST /nodes/{id}/update naming the version the node was read at. */
export async function updateNode(client: ApiClient, read: DockerNode, spec: NodeSpec): Promise<void> {
  await client.post(`/nodes/${encodeURIComponent(read.ID)}/update`, { query: { version: read.Version.Index }, body: spec });
}

/**
 * Reads the node, applies `edit` to its Spec and posts the result with the version read, again on
 * a fresh read when only the node's status moved its version (postEdit: the Spec is then the one
 * `edit` saw, so it gives the same result). `edit` returns undefined when there is nothing to
 * change; editNode then returns the node as read without posting.
 */
export async function editNode(client: ApiClient, ref: string, edit: (spec: NodeSpec) => NodeSpec | undefined): Promise<{ read: DockerNode; posted: boolean }> {
  const first = await getNode(client, ref);
  const spec = edit(first.Spec);
  if (spec === undefined) return { read: first, posted: false };
  const read = await postEdit(
    first,
    (id) => getNode(client, id),
    (a, b) => isDeepStrictEqual(a.Spec, b.Spec),
    (r) => updateNode(client, r, spec),
  );
  return { read, posted: true };
}

export async function removeNode(client: ApiClient, ref: string, force: boolean): Promise<void> {
  await client.delete(`/nodes/${encodeURIComponent(ref)}`, { query: { force: force ? 1 : undefined } });
}
