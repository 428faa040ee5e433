// The rolling updater's errors, with stable codes. The API maps UPDATER_NO_PREVIOUS_SPEC to 400
// (Docker answers "service X does not have a previous spec" to `docker service rollback`).
import { ShoalError } from "@shoal/common";

export type UpdaterErrorCode = "UPDATER_NO_PREVIOUS_SPEC";

export type UpdaterErrorMeta = { code: UpdaterErrorCode } & Record<string, unknown>;

export class UpdaterError extends ShoalError<UpdaterErrorMeta> {}

export function noPreviousSpec(serviceId: string): UpdaterError {
  return new UpdaterError({ code: "UPDATER_NO_PREVIOUS_SPEC", serviceId }, `service ${serviceId} does not have a previous spec`);
}
