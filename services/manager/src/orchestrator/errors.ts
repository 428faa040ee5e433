// The orchestrators' errors, with stable codes. A conflict is expected and temporary: another
// writer changed what a decision was made from; the decision is dropped and made again.
import { ShoalError } from "@shoal/common";

export type OrchestratorErrorCode = "ORCHESTRATOR_CONFLICT";

export type OrchestratorErrorMeta = { code: OrchestratorErrorCode } & Record<string, unknown>;

export class OrchestratorError extends ShoalError<OrchestratorErrorMeta> {}

export function conflictError(what: string, meta: Record<string, unknown> = {}): OrchestratorError {
  return new OrchestratorError({ ...meta, code: "ORCHESTRATOR_CONFLICT" }, `changed since read: ${what}`, { temporary: true });
}

/** Codes that mean "the state moved under this decision": skip it, decide again on fresh state. */
export const CONFLICT_CODES: ReadonlySet<string> = new Set(["ORCHESTRATOR_CONFLICT", "STORE_VERSION_CONFLICT", "STORE_NOT_FOUND", "STORE_ID_CONFLICT"]);
