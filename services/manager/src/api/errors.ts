// The API's own errors and the one place where error codes become HTTP statuses. Every non-2xx
// answer is `{"message": "…"}` (the docker CLI prints it as "Error response from daemon: …"), so
// the message must say what to fix. Route handlers throw; they never choose a status themselves.
import { ShoalError, type ShoalErrorOptions } from "@shoal/common";

export type ApiErrorCode =
  /** A request the API refuses before touching anything: bad body, query, filter or version. */
  | "API_INVALID"
  /** A manager-only route on a node that is not (yet) an active manager. */
  | "API_NOT_MANAGER"
  /** The URL names no route, or the object named is gone (a service being removed). */
  | "API_NOT_FOUND"
  /** The name is taken by another object (Docker's "name conflicts with an existing object"). */
  | "API_CONFLICT"
  /** A route Shoal does not serve yet (image digest resolution, logs, networks, secrets, configs). */
  | "API_NOT_IMPLEMENTED";

export type ApiErrorMeta = { code: ApiErrorCode } & Record<string, unknown>;

export class ApiError extends ShoalError<ApiErrorMeta> {
  constructor(meta: ApiErrorMeta, message: string, opts?: ShoalErrorOptions) {
    super(meta, message, opts);
  }
}

export function invalidRequest(message: string, meta: Record<string, unknown> = {}): ApiError {
  return new ApiError({ ...meta, code: "API_INVALID" }, message);
}

// Codes answered with an exact status; checked before the temporary flag and the name patterns.
const EXACT_STATUS: Readonly<Record<string, number>> = {
  API_INVALID: 400,
  API_NOT_MANAGER: 503,
  API_NOT_FOUND: 404,
  API_CONFLICT: 409,
  API_NOT_IMPLEMENTED: 501,
  STORE_NOT_FOUND: 404,
  STORE_NAME_CONFLICT: 409,
  STORE_ID_CONFLICT: 409,
  STORE_VERSION_CONFLICT: 409,
  STORE_INVALID: 400,
  STORE_AMBIGUOUS: 400,
  CA_TOKEN_MALFORMED: 400,
  CA_DIGEST_MISMATCH: 400,
  CA_TOKEN_REJECTED: 400,
  CA_WRONG_CLUSTER: 400,
  CA_UNLOCK_KEY_WRONG: 400,
  MANAGER_QUORUM_GUARD: 400,
  CLUSTER_SPEC_UNSUPPORTED: 400,
  UPDATER_NO_PREVIOUS_SPEC: 400,
  // Docker answers a published port held by another service with InvalidArgument.
  ALLOCATOR_PORT_CONFLICT: 400,
  MANAGER_NO_QUORUM: 503,
  MANAGER_NO_LEADER: 503,
  MANAGER_LEADER_UNREACHABLE: 503,
  MANAGER_REMOVED: 503,
  MANAGER_NOT_LEADER: 503,
  MANAGER_STOPPED: 503,
  CONTROL_NOT_READY: 503,
  CONTROL_NOT_MANAGER: 503,
  // A node whose stored state cannot be read is broken, not refusing a precondition.
  NODE_STATE_CORRUPT: 500,
};

export interface HttpError {
  statusCode: number;
  message: string;
  /** True when the error is not a known refusal: the caller logs it with its stack. */
  unexpected: boolean;
}

/** The HTTP status and message for anything a route threw. */
export function httpErrorOf(err: unknown): HttpError {
  if (err instanceof ShoalError) {
    const code = err.code;
    const exact = EXACT_STATUS[code];
    const message = code === "STORE_VERSION_CONFLICT" && !err.message.includes("update out of sequence") ? `update out of sequence: ${err.message}` : err.message;
    if (exact !== undefined) return { statusCode: exact, message, unexpected: exact === 500 };
    if (err.temporary) return { statusCode: 503, message, unexpected: false };
    if (code.endsWith("_INVALID") || code.endsWith("_MALFORMED") || code.startsWith("NODE_")) return { statusCode: 400, message, unexpected: false };
    return { statusCode: 500, message, unexpected: true };
  }
  const fromFastify = fastifyClientError(err);
  if (fromFastify !== undefined) return fromFastify;
  const message = err instanceof Error ? err.message : String(err);
  return { statusCode: 500, message: message === "" ? "internal error" : message, unexpected: true };
}

// Fastify's own refusals (body parsing, size, content type) carry a 4xx statusCode; their texts are
// reworded where the default would not say what to fix.
function fastifyClientError(err: unknown): HttpError | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { statusCode?: number; code?: string };
  if (typeof e.statusCode !== "number" || e.statusCode < 400 || e.statusCode >= 500) return undefined;
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return { statusCode: 413, message: "request body is larger than the API accepts; send a smaller body", unexpected: false };
  }
  if (e.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return { statusCode: 400, message: "invalid JSON body: the body is empty but Content-Type is application/json", unexpected: false };
  }
  if (err instanceof SyntaxError || e.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return { statusCode: 400, message: `invalid JSON body: ${e.message}`, unexpected: false };
  }
  return { statusCode: e.statusCode, message: e.message, unexpected: false };
}
