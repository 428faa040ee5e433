// The scheduler's errors, with stable codes. Placement specs are user input: the API validates them
// with the same parsers (and maps these codes to 400), and the scheduler turns them into a task's
// "cannot schedule" message instead of failing.
import { ShoalError } from "@shoal/common";

export type SchedulerErrorCode = "SCHEDULER_CONSTRAINT_INVALID" | "SCHEDULER_PREFERENCE_INVALID";

export type SchedulerErrorMeta = { code: SchedulerErrorCode } & Record<string, unknown>;

export class SchedulerError extends ShoalError<SchedulerErrorMeta> {}

export function invalidConstraint(constraint: string, reason: string): SchedulerError {
  return new SchedulerError({ code: "SCHEDULER_CONSTRAINT_INVALID", constraint, reason }, `invalid constraint "${constraint}": ${reason}`);
}

export function invalidPreference(descriptor: string, reason: string): SchedulerError {
  return new SchedulerError({ code: "SCHEDULER_PREFERENCE_INVALID", descriptor, reason }, `invalid placement preference "spread=${descriptor}": ${reason}`);
}
