// The bodies of POST /swarm/init, /swarm/join and /swarm/unlock in Docker's shape, converted to the
// backend's requests. The CLI always sends every field (zeros and empty strings for unset ones).
import type { NodeAvailability } from "@shoal/store";
import type { SwarmInitRequest, SwarmJoinRequest } from "../backend.js";
import { invalidRequest } from "../errors.js";
import { arrayOf, bool, nonNegativeInt, object, oneOfStrings, str, type JsonSchema } from "../validation.js";
import { DEFAULT_ADDR_POOL, DEFAULT_DATA_PATH_PORT, DEFAULT_SUBNET_SIZE, clusterSpecFromDocker, dockerSwarmSpecSchema, withoutZeroSettings, type DockerSwarmSpec } from "./cluster.js";
import { AVAILABILITY_NAMES, availabilityFromName, type DockerAvailability } from "./node.js";

// "" is what the CLI sends when --availability is not given.
const availability = oneOfStrings(["", ...AVAILABILITY_NAMES]);

export interface DockerInitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  ForceNewCluster?: boolean;
  Spec?: DockerSwarmSpec | null;
  AutoLockManagers?: boolean;
  Availability?: DockerAvailability | "";
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number;
}

export const dockerInitRequestSchema: JsonSchema = object(
  {
    ListenAddr: str,
    AdvertiseAddr: str,
    DataPathAddr: str,
    DataPathPort: nonNegativeInt,
    ForceNewCluster: bool,
    Spec: { ...dockerSwarmSpecSchema, type: ["object", "null"] },
    AutoLockManagers: bool,
    Availability: availability,
    DefaultAddrPool: arrayOf(str),
    SubnetSize: nonNegativeInt,
  },
  { nullable: false, description: "Docker SwarmInitRequest" },
);

function availabilityOf(a: DockerAvailability | "" | undefined): NodeAvailability | undefined {
  return a === undefined || a === "" ? undefined : availabilityFromName(a);
}

// The data path and address pools are not configurable yet: refuse a non-default value rather
// than accept it and do something else.
function refuseUnsupported(r: DockerInitRequest | DockerJoinRequest): void {
  if (r.DataPathAddr) throw invalidRequest("DataPathAddr is not supported yet: leave it empty (overlay traffic uses the advertise address)", { field: "DataPathAddr" });
  if ("DataPathPort" in r && r.DataPathPort && r.DataPathPort !== DEFAULT_DATA_PATH_PORT) {
    throw invalidRequest(`DataPathPort ${r.DataPathPort} is not supported yet: leave it 0 (VXLAN uses ${DEFAULT_DATA_PATH_PORT})`, { field: "DataPathPort" });
  }
  if ("SubnetSize" in r && r.SubnetSize && r.SubnetSize !== DEFAULT_SUBNET_SIZE) {
    throw invalidRequest(`SubnetSize ${r.SubnetSize} is not supported yet: leave it ${DEFAULT_SUBNET_SIZE}`, { field: "SubnetSize" });
  }
  if ("DefaultAddrPool" in r && r.DefaultAddrPool && r.DefaultAddrPool.length > 0 && r.DefaultAddrPool.join(",") !== DEFAULT_ADDR_POOL.join(",")) {
    throw invalidRequest(`DefaultAddrPool is not supported yet: leave it empty (networks use ${DEFAULT_ADDR_POOL.join(", ")})`, { field: "DefaultAddrPool" });
  }
}

export function initRequestFromDocker(r: DockerInitRequest): SwarmInitRequest {
  refuseUnsupported(r);
  const req: SwarmInitRequest = {
    listenAddr: r.ListenAddr || "0.0.0.0:2377",
    advertiseAddr: r.AdvertiseAddr ?? "",
    forceNewCluster: r.ForceNewCluster ?? false,
    autoLockManagers: r.AutoLockManagers ?? r.Spec?.EncryptionConfig?.AutoLockManagers ?? false,
  };
  if (r.Spec) req.spec = withoutZeroSettings(clusterSpecFromDocker(r.Spec));
  const a = availabilityOf(r.Availability);
  if (a !== undefined) req.availability = a;
  return req;
}

export interface DockerJoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs?: string[] | null;
  JoinToken: string;
  Availability?: DockerAvailability | "";
}

export const dockerJoinRequestSchema: JsonSchema = object(
  { ListenAddr: str, AdvertiseAddr: str, DataPathAddr: str, RemoteAddrs: arrayOf(str), JoinToken: str, Availability: availability },
  { nullable: false, required: ["JoinToken"], description: "Docker SwarmJoinRequest" },
);

export function joinRequestFromDocker(r: DockerJoinRequest): SwarmJoinRequest {
  refuseUnsupported(r);
  if (!r.RemoteAddrs || r.RemoteAddrs.length === 0) throw invalidRequest("RemoteAddrs is empty: name at least one manager address (host:port) to join through", { field: "RemoteAddrs" });
  if (r.JoinToken === "") throw invalidRequest("JoinToken is empty: pass the token from `swarm join-token worker|manager` on a manager", { field: "JoinToken" });
  const req: SwarmJoinRequest = {
    listenAddr: r.ListenAddr || "0.0.0.0:2377",
    advertiseAddr: r.AdvertiseAddr ?? "",
    remoteAddrs: [...r.RemoteAddrs],
    joinToken: r.JoinToken,
  };
  const a = availabilityOf(r.Availability);
  if (a !== undefined) req.availability = a;
  return req;
}

export const dockerUnlockRequestSchema: JsonSchema = object({ UnlockKey: str }, { nullable: false, required: ["UnlockKey"], description: "Docker SwarmUnlockRequest" });
