// Errors with stable codes. Every package subclasses ShoalError with its own code union; the edges
// (gRPC, HTTP, CLI) translate codes to statuses and messages. Nothing here knows about those edges.

export type ErrorMeta = { code: string } & Record<string, unknown>;

export interface ShoalErrorOptions {
  /** True when retrying the same operation later may succeed (swarmkit's "temporary"). */
  temporary?: boolean;
  cause?: unknown;
}

export class ShoalError<M extends ErrorMeta = ErrorMeta> extends Error {
  readonly meta: M;
  readonly temporary: boolean;

  constructor(meta: M, message?: string, opts: ShoalErrorOptions = {}) {
    super(message ?? meta.code, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.meta = meta;
    this.temporary = opts.temporary ?? false;
    this.name = new.target.name;
  }

  get code(): M["code"] {
    return this.meta.code;
  }
}

/** The code of an error if it is a ShoalError, else undefined. */
export function errorCode(err: unknown): string | undefined {
  return err instanceof ShoalError ? err.code : undefined;
}

/** A readable one-line description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
