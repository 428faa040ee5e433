// The allocator's errors, with stable codes. The API maps ALLOCATOR_PORT_CONFLICT to 400, as
// Docker refuses a published port already taken ("port '8080' is already in use by service …").
import { ShoalError } from "@shoal/common";

export type AllocatorErrorCode = "ALLOCATOR_PORT_CONFLICT";

export type AllocatorErrorMeta = { code: AllocatorErrorCode } & Record<string, unknown>;

export class AllocatorError extends ShoalError<AllocatorErrorMeta> {}
