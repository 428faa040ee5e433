// The Control gRPC service (managers only): forwarded writes from followers, and raft joins of new
// managers. Both run only on the leader (followers redirect). A join adds the caller as a raft
// learner under a fresh raft id (ids are never reused) and records it in the node's
// ManagerStatus; the membership loop promotes it once it has caught up.
import * as grpc from "@grpc/grpc-js";
import { systemRandom, type Logger, type Random } from "@shoal/common";
import { StatusError, controlServiceDefinition, unaryHandler, type controlpb } from "@shoal/proto";
import { NodeRole, Reachability, decodeStoreActions } from "@shoal/store";
import { authorizeCall } from "../ca/index.js";
import type { ReplicatedStore } from "../replication/index.js";
import { requireLeader } from "./redirect.js";

export interface ControlServiceModules {
  rs: ReplicatedStore;
  logger: Logger;
  random?: Random;
  /** A forwarded write that has not committed by then fails (default 4 s). */
  proposeTimeoutMs?: number;
}

/** Raft ids stay below 2^48: exact as JS numbers and as uint64 on the wire. */
const RAFT_ID_SPACE = 2 ** 48;

export function newRaftId(random: Random, taken: ReadonlySet<number>): number {
  for (;;) {
    const id = 1 + Math.floor(random.next() * (RAFT_ID_SPACE - 1));
    if (!taken.has(id)) return id;
  }
}

export class ControlService {
  private readonly log: Logger;
  private readonly random: Random;

  constructor(
    private readonly opts: { clusterId: string },
    private readonly modules: ControlServiceModules,
  ) {
    this.log = modules.logger.child({ component: "control" });
    this.random = modules.random ?? systemRandom;
  }

  register(server: grpc.Server): void {
    server.addService(controlServiceDefinition, {
      propose: unaryHandler(async (req: controlpb.ProposeRequest, call) => {
        authorizeCall(call, { roles: ["manager"], clusterId: this.opts.clusterId });
        return this.propose(req);
      }, this.log),
      joinRaft: unaryHandler(async (req: controlpb.JoinRaftRequest, call) => {
        const who = authorizeCall(call, { roles: ["manager"], clusterId: this.opts.clusterId });
        return this.joinRaft(who.nodeId, req.addr);
      }, this.log),
    });
  }

  private async propose(req: controlpb.ProposeRequest): Promise<controlpb.IProposeResponse> {
    const rs = this.modules.rs;
    requireLeader(rs);
    // Refuse what the store could not apply: a malformed entry would reach every replica's log.
    decodeStoreActions(req.actions);
    const { index } = await rs.raft.propose(req.actions, { signal: AbortSignal.timeout(this.modules.proposeTimeoutMs ?? 4_000) });
    return { index };
  }

  private async joinRaft(nodeId: string, addr: string): Promise<controlpb.IJoinRaftResponse> {
    const rs = this.modules.rs;
    requireLeader(rs);
    if (!/^[^:\s]+:\d+$/.test(addr)) throw new StatusError({ code: "CONTROL_INVALID", grpcStatus: grpc.status.INVALID_ARGUMENT }, `join address "${addr}" must be host:port`);
    const node = rs.store.view((tx) => tx.get("node", nodeId));
    if (node === undefined || node.role !== NodeRole.MANAGER) {
      throw new StatusError({ code: "CONTROL_NOT_MANAGER", grpcStatus: grpc.status.PERMISSION_DENIED }, `node ${nodeId} is not a manager of this swarm`);
    }
    const st = rs.raft.status();
    const members = new Set([...st.confState.voters, ...st.confState.learners]);
    let raftId = node.managerStatus?.raftId ?? 0;
    if (raftId === 0 || !members.has(raftId)) {
      // A manager that was removed (or never added) gets a fresh id: raft ids are never reused.
      const taken = new Set<number>([...members, ...Object.keys(st.addresses).map(Number)]);
      raftId = newRaftId(this.random, taken);
      await rs.raft.addMember(raftId, addr, { learner: true });
      this.log.info({ nodeId, raftId, addr }, "control: manager joined raft as a learner");
    } else if (st.addresses[raftId] !== addr) {
      const learner = st.confState.learners.includes(raftId);
      await rs.raft.addMember(raftId, addr, { learner });
    }
    await rs.store.update((tx) => {
      const cur = tx.get("node", nodeId);
      if (cur === undefined) return;
      tx.update("node", { ...cur, managerStatus: { raftId, addr, reachability: Reachability.REACHABLE } });
    });
    const after = rs.raft.status();
    return {
      raftId,
      members: Object.entries(after.addresses).map(([id, a]) => ({ raftId: Number(id), addr: a })),
    };
  }
}
