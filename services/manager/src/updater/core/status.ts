// UpdateStatus transitions (what `docker service inspect` and the CLI's progress view read), and
// the service edits that start an update or a rollback. Pure: each returns a new Service (or the
// change to make to one); the caller writes it in a store transaction.
//
//   (none | completed | rollback_completed) ─dirty slots─► updating ─► completed | paused
//                                                              └─failure, action rollback─► rollback_started
//   rollback_started ─► rollback_completed | rollback_paused
import { copyObject, UpdateState, type Service, type ServiceSpec, type UpdateStatus } from "@shoal/store";
import { noPreviousSpec } from "../errors.js";

/** A write to a service's update status (and, for an automatic rollback, its spec). */
export interface UpdateStatusChange {
  serviceId: string;
  /** The service version the decision was made from: the write is refused if it moved. */
  version: number;
  updateStatus: UpdateStatus;
  /** Automatic rollback: the spec becomes the previous spec, which is then cleared. */
  rollback?: boolean;
  /** Why, for the log. */
  reason: string;
}

/** The update of the service is under way (updating or rolling back). */
export function isUpdateActive(status: UpdateStatus | undefined): boolean {
  return status?.state === UpdateState.UPDATING || status?.state === UpdateState.ROLLBACK_STARTED;
}

/** The update stopped on a failure: nothing moves until the user updates or rolls back the service. */
export function isUpdatePaused(status: UpdateStatus | undefined): boolean {
  return status?.state === UpdateState.PAUSED || status?.state === UpdateState.ROLLBACK_PAUSED;
}

export function isRollingBack(status: UpdateStatus | undefined): boolean {
  return status?.state === UpdateState.ROLLBACK_STARTED;
}

export function startedStatus(now: number): UpdateStatus {
  return { state: UpdateState.UPDATING, startedAt: now, message: "update in progress" };
}

export function completedStatus(current: UpdateStatus, now: number): UpdateStatus {
  const rollback = isRollingBack(current);
  return {
    state: rollback ? UpdateState.ROLLBACK_COMPLETED : UpdateState.COMPLETED,
    ...(current.startedAt !== undefined ? { startedAt: current.startedAt } : {}),
    completedAt: now,
    message: rollback ? "rollback completed" : "update completed",
  };
}

export function pausedStatus(current: UpdateStatus, failedTaskId: string): UpdateStatus {
  const rollback = isRollingBack(current);
  const out: UpdateStatus = {
    state: rollback ? UpdateState.ROLLBACK_PAUSED : UpdateState.PAUSED,
    message: `${rollback ? "rollback" : "update"} paused due to failure or early termination of task ${failedTaskId}`,
  };
  if (current.startedAt !== undefined) out.startedAt = current.startedAt;
  return out;
}

export function autoRollbackStatus(failedTaskId: string, now: number): UpdateStatus {
  // startedAt restarts: the rollback's own tasks are those created from now on.
  return { state: UpdateState.ROLLBACK_STARTED, startedAt: now, message: `update rolled back due to failure or early termination of task ${failedTaskId}` };
}

/** The service after a status change decided on it (the edge applies it to the current object). */
export function applyUpdateStatusChange(service: Service, change: UpdateStatusChange): Service {
  const out = copyObject(service);
  out.updateStatus = copyObject(change.updateStatus);
  if (change.rollback === true && service.previousSpec !== undefined) {
    // Never roll back a rollback: the spec rolled back from is not kept.
    out.spec = copyObject(service.previousSpec);
    delete out.previousSpec;
  }
  return out;
}

/**
 * The service after a user's spec update (what the API writes): the old spec is kept for rollback
 * and the update status is cleared, so the updater starts a fresh update (Docker resets it too).
 */
export function withNewSpec(service: Service, spec: ServiceSpec): Service {
  const out = copyObject(service);
  out.previousSpec = copyObject(service.spec);
  out.spec = copyObject(spec);
  delete out.updateStatus;
  return out;
}

/**
 * `rollback=previous` (`docker service rollback`): the spec and previous spec swap and a rollback
 * starts. Throws UPDATER_NO_PREVIOUS_SPEC when there is nothing to roll back to.
 */
export function rollbackToPrevious(service: Service, now: number): Service {
  if (service.previousSpec === undefined) throw noPreviousSpec(service.id);
  const out = copyObject(service);
  out.spec = copyObject(service.previousSpec);
  out.previousSpec = copyObject(service.spec);
  out.updateStatus = { state: UpdateState.ROLLBACK_STARTED, startedAt: now, message: "manually requested rollback" };
  return out;
}
