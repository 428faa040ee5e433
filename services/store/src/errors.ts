// The store's errors. Codes are stable: the API edge maps them to HTTP statuses (NOT_FOUND → 404,
// NAME_CONFLICT → 409, VERSION_CONFLICT → 409/500 "update out of sequence", as the docker CLI expects).
import { ShoalError, type ShoalErrorOptions } from "@shoal/common";

export type StoreErrorCode =
  | "STORE_VERSION_CONFLICT"
  | "STORE_NOT_FOUND"
  | "STORE_NAME_CONFLICT"
  | "STORE_ID_CONFLICT"
  | "STORE_AMBIGUOUS"
  | "STORE_INVALID"
  | "STORE_WATCH_OVERFLOW"
  | "STORE_CLOSED";

export type StoreErrorMeta = { code: StoreErrorCode } & Record<string, unknown>;

export class StoreError extends ShoalError<StoreErrorMeta> {
  constructor(meta: StoreErrorMeta, message: string, opts?: ShoalErrorOptions) {
    super(meta, message, opts);
  }
}

export function versionConflict(kind: string, id: string, expected: number, actual: number): StoreError {
  return new StoreError({ code: "STORE_VERSION_CONFLICT", kind, id, expected, actual }, "update out of sequence");
}

export function notFound(kind: string, ref: string): StoreError {
  return new StoreError({ code: "STORE_NOT_FOUND", kind, ref }, `no such ${kind}: ${ref}`);
}

export function nameConflict(kind: string, name: string, existingId: string): StoreError {
  return new StoreError({ code: "STORE_NAME_CONFLICT", kind, name, existingId }, `${kind} name "${name}" is already in use by ${existingId}`);
}

export function idConflict(kind: string, id: string): StoreError {
  return new StoreError({ code: "STORE_ID_CONFLICT", kind, id }, `${kind} ${id} already exists`);
}

export function invalid(message: string, meta: Record<string, unknown> = {}): StoreError {
  return new StoreError({ ...meta, code: "STORE_INVALID" }, message);
}
