// Errors of the cluster identity library. CaError covers bad input and failed checks (CSRs, tokens,
// certificates, unlock keys); CaAuthorizationError is what authorizeCall throws, and it carries the
// gRPC status itself so every handler answers UNAUTHENTICATED / PERMISSION_DENIED the same way.
import { ShoalError, describeError } from "@shoal/common";
import { StatusError } from "@shoal/proto";
import * as grpc from "@grpc/grpc-js";

export type CaErrorCode =
  | "CA_CSR_INVALID"
  | "CA_CERT_INVALID"
  | "CA_KEY_INVALID"
  | "CA_TOKEN_MALFORMED"
  | "CA_DIGEST_MISMATCH"
  | "CA_UNLOCK_KEY_MALFORMED"
  | "CA_UNLOCK_KEY_WRONG"
  | "CA_WRAPPED_KEY_MALFORMED"
  | "CA_TLS_MATERIAL_INVALID";

export class CaError extends ShoalError<{ code: CaErrorCode } & Record<string, unknown>> {}

export type CaAuthorizationCode = "CA_UNAUTHENTICATED" | "CA_PERMISSION_DENIED";

/**
 * A caller without a verified certificate (UNAUTHENTICATED) or with the wrong role or cluster
 * (PERMISSION_DENIED). A StatusError, so @shoal/proto's unaryHandler sends exactly that status.
 */
export class CaAuthorizationError extends StatusError {
  constructor(code: CaAuthorizationCode, message: string) {
    super({ code, grpcStatus: code === "CA_UNAUTHENTICATED" ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED }, message);
  }
}

/**
 * `{ code, details }` for a grpc-js callback when a handler does not go through unaryHandler:
 * the error's own status when it carries one (authorization), INTERNAL otherwise.
 */
export function grpcStatusOf(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof StatusError) return { code: err.meta.grpcStatus, details: err.message };
  return { code: grpc.status.INTERNAL, details: describeError(err) };
}
