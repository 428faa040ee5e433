// Errors the checker throws. A malformed history is a bug in the recorder, not a linearizability
// verdict, so it is thrown rather than reported as "illegal".
import { ShoalError } from "@shoal/common";

export type LincheckErrorMeta =
  | { code: "LINCHECK_INVALID_HISTORY"; reason: string }
  | { code: "LINCHECK_INVALID_OPTIONS"; reason: string };

export class LincheckError extends ShoalError<LincheckErrorMeta> {}

export function invalidHistory(reason: string): LincheckError {
  return new LincheckError({ code: "LINCHECK_INVALID_HISTORY", reason }, `lincheck: invalid history: ${reason}`);
}
