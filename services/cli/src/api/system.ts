// Typed calls for the node-level routes: /info, /version and the native /shoal/cluster.
import type { ApiClient } from "../client.js";
import { expectArray, expectObject } from "./shape.js";
import type { ClusterStatusView, DockerInfo, DockerServerVersion } from "./types.js";

export async function getInfo(client: ApiClient): Promise<DockerInfo> {
  return expectObject<DockerInfo>(await client.get("/info"), "GET /info");
}

export async function getServerVersion(client: ApiClient): Promise<DockerServerVersion> {
  return expectObject<DockerServerVersion>(await client.get("/version"), "GET /version");
}

export async function getClusterStatus(client: ApiClient): Promise<ClusterStatusView> {
  const route = "GET /shoal/cluster";
  const status = expectObject<ClusterStatusView>(await client.get("/shoal/cluster", { versioned: false }), route, ["members"]);
  expectArray(status.members, route, ["raftId"]);
  return status;
}
