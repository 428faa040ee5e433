import { ShoalError } from "@shoal/common";

export type RaftErrorCode =
  | "RAFT_PROPOSAL_DROPPED"
  | "RAFT_NOT_LEADER"
  | "RAFT_TOO_MANY_UNCOMMITTED"
  | "RAFT_CONF_CHANGE_PENDING"
  | "RAFT_MEMBER_REMOVED"
  | "RAFT_COMPACTED"
  | "RAFT_UNAVAILABLE"
  | "RAFT_SNAPSHOT_OUT_OF_DATE"
  | "RAFT_STEP_LOCAL_MSG"
  | "RAFT_STEP_PEER_NOT_FOUND"
  | "RAFT_TRANSFER_IN_PROGRESS"
  | "RAFT_LOG_CORRUPT"
  /** The data key does not open this store's encrypted data (or none was given for an encrypted store). */
  | "RAFT_STORAGE_KEY_WRONG"
  | "RAFT_STOPPED"
  | "RAFT_TIMEOUT"
  | "RAFT_INVALID_ARGUMENT";

export class RaftError extends ShoalError<{ code: RaftErrorCode } & Record<string, unknown>> {
  constructor(code: RaftErrorCode, message: string, meta: Record<string, unknown> = {}, temporary = false) {
    super({ code, ...meta }, message, { temporary });
  }
}
