// The update (or rollback) policy in force, with swarm's defaults filled in and durations in ms.
// Pure.
import {
  DEFAULT_UPDATE_DELAY_NS,
  DEFAULT_UPDATE_FAILURE_ACTION,
  DEFAULT_UPDATE_MONITOR_NS,
  DEFAULT_UPDATE_ORDER,
  DEFAULT_UPDATE_PARALLELISM,
  UpdateFailureAction,
  UpdateOrder,
  type ServiceSpec,
} from "@shoal/store";

const NS_PER_MS = 1_000_000;

export interface ResolvedUpdateConfig {
  /** Slots replaced at once; 0 = all of them. */
  parallelism: number;
  delayMs: number;
  failureAction: UpdateFailureAction;
  monitorMs: number;
  maxFailureRatio: number;
  order: UpdateOrder;
}

/** The policy of an update (spec.update) or of a rollback (spec.rollback, of the spec rolled back to). */
export function updatePolicy(spec: ServiceSpec, rollback: boolean): ResolvedUpdateConfig {
  const c = (rollback ? spec.rollback : spec.update) ?? {};
  return {
    parallelism: c.parallelism ?? DEFAULT_UPDATE_PARALLELISM,
    delayMs: (c.delayNs ?? DEFAULT_UPDATE_DELAY_NS) / NS_PER_MS,
    failureAction: c.failureAction ?? DEFAULT_UPDATE_FAILURE_ACTION,
    // 0 is what an unset proto duration reads as: swarm treats it as the default too.
    monitorMs: (c.monitorNs || DEFAULT_UPDATE_MONITOR_NS) / NS_PER_MS,
    maxFailureRatio: c.maxFailureRatio ?? 0,
    order: c.order ?? DEFAULT_UPDATE_ORDER,
  };
}

export function isStartFirst(policy: ResolvedUpdateConfig): boolean {
  return policy.order === UpdateOrder.START_FIRST;
}
