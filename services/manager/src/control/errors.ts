// Errors of the manager's control plane (joins, certificates, membership, node lifecycle), with
// stable codes the API and gRPC edges map to statuses.
import { ShoalError } from "@shoal/common";

export type ControlErrorCode =
  | "CA_TOKEN_REJECTED"
  /** A cluster spec setting Shoal does not have (it would be stored and silently ignored). */
  | "CLUSTER_SPEC_UNSUPPORTED"
  | "CONTROL_NOT_READY"
  | "MANAGER_QUORUM_GUARD"
  | "NODE_IS_MANAGER"
  | "NODE_NOT_DOWN"
  | "NODE_REMOVED"
  | "NODE_INVALID";

export type ControlErrorMeta = { code: ControlErrorCode } & Record<string, unknown>;

export class ControlError extends ShoalError<ControlErrorMeta> {}
