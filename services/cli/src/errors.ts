// The CLI's error codes and the exit code each one means. Commands throw these; run() is the only
// place that turns them into a stderr line and an exit code (0 ok, 1 failed, 2 bad usage).
import { ShoalError } from "@shoal/common";

export type CliErrorCode =
  /** Bad flags, arguments or values: nothing was sent to the API. */
  | "CLI_USAGE"
  /** The API answered with a non-2xx status. */
  | "CLI_API"
  /** The API could not be reached at all (no socket, refused, TLS handshake failed). */
  | "CLI_UNREACHABLE"
  /** The API answered 2xx with a body the CLI cannot use (wrong shape, not JSON). */
  | "CLI_BAD_RESPONSE"
  /** Anything else that stops a command (e.g. "swarm is not locked", unreadable TLS file). */
  | "CLI_FAILED";

export class CliError extends ShoalError<{ code: CliErrorCode } & Record<string, unknown>> {
  constructor(code: CliErrorCode, message: string, meta: Record<string, unknown> = {}, cause?: unknown) {
    super({ ...meta, code }, message, cause === undefined ? {} : { cause });
  }

  /** 2 for usage errors (the command never ran), 1 for everything else. */
  get exitCode(): number {
    return this.code === "CLI_USAGE" ? 2 : 1;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super("CLI_USAGE", message);
  }
}

/** A non-2xx answer; `message` is the API's `{message}` (or the best one-line stand-in). */
export class ApiError extends CliError {
  readonly status: number;

  constructor(status: number, message: string, meta: { method: string; path: string }) {
    super("CLI_API", message, { ...meta, status });
    this.status = status;
  }
}
