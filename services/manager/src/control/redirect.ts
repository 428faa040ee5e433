// Leader-only RPCs on a follower: refuse with FAILED_PRECONDITION and name the leader's address in
// "shoal-leader-addr", so the caller re-dials the leader instead of guessing.
import * as grpc from "@grpc/grpc-js";
import { LEADER_ADDR_KEY, StatusError } from "@shoal/proto";
import type { ReplicatedStore } from "../replication/index.js";

export function requireLeader(rs: ReplicatedStore): void {
  if (rs.isLeader()) return;
  const { address } = rs.leaderInfo();
  throw new StatusError(
    { code: "MANAGER_NOT_LEADER", grpcStatus: grpc.status.FAILED_PRECONDITION, metadata: address === undefined ? {} : { [LEADER_ADDR_KEY]: address } },
    address === undefined ? "this manager is not the leader and no leader is known" : `this manager is not the leader; the leader is at ${address}`,
    { temporary: true },
  );
}
