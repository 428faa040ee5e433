// The lab's error codes. The CLI turns them into one-line messages and exit codes; the library
// never prints.
import { ShoalError } from "@shoal/common";

export type LabErrorCode =
  | "LAB_COMMAND_FAILED"
  | "LAB_COMMAND_TIMEOUT"
  | "LAB_BAD_ARGS"
  | "LAB_NOT_FOUND"
  | "LAB_EXISTS"
  | "LAB_UNKNOWN_HOST"
  | "LAB_HOST_DOWN"
  | "LAB_HOST_RUNNING"
  | "LAB_HOST_START_FAILED"
  | "LAB_API"
  | "LAB_SWARM_TIMEOUT";

export class LabError extends ShoalError<{ code: LabErrorCode } & Record<string, unknown>> {
  constructor(code: LabErrorCode, message: string, meta: Record<string, unknown> = {}, cause?: unknown) {
    super({ ...meta, code }, message, cause === undefined ? {} : { cause });
  }
}
