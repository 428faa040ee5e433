// Errors of executors, with stable codes: a failed step's message becomes the task's `err`.
import { ShoalError } from "@shoal/common";

export type ExecutorErrorCode = "EXECUTOR_PREPARE_FAILED" | "EXECUTOR_START_FAILED" | "EXECUTOR_TASK_NOT_FOUND" | "EXECUTOR_ABORTED";
export class ExecutorError extends ShoalError<{ code: ExecutorErrorCode } & Record<string, unknown>> {}
