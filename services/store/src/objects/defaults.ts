// Swarm's defaults (DESIGN §2, §3), in one place for the API's insertDefaults, the orchestrators
// and cluster initialization. Specs store what the user sent; these fill the gaps when read.
import type { DurationNs } from "./common.js";
import { RestartCondition } from "./task-spec.js";
import { UpdateFailureAction, UpdateOrder } from "./service.js";

const SECOND_NS = 1_000_000_000;

export const DEFAULT_CLUSTER_NAME = "default";
export const DEFAULT_REPLICAS = 1;
export const DEFAULT_STOP_GRACE_PERIOD_NS: DurationNs = 10 * SECOND_NS;
export const DEFAULT_RESTART_CONDITION = RestartCondition.ANY;
export const DEFAULT_RESTART_DELAY_NS: DurationNs = 5 * SECOND_NS;
export const DEFAULT_UPDATE_PARALLELISM = 1;
export const DEFAULT_UPDATE_DELAY_NS: DurationNs = 0;
export const DEFAULT_UPDATE_MONITOR_NS: DurationNs = 5 * SECOND_NS;
export const DEFAULT_UPDATE_FAILURE_ACTION = UpdateFailureAction.PAUSE;
export const DEFAULT_UPDATE_ORDER = UpdateOrder.STOP_FIRST;
export const DEFAULT_TASK_HISTORY_RETENTION_LIMIT = 5;
// The dispatcher's heartbeat period when neither the cluster spec nor shoald's --heartbeat-ms sets
// one. Swarm's is 5 s; ours is 2 s so that a lost node (down after 3 missed periods) has its tasks
// running elsewhere within 10 s.
export const DEFAULT_HEARTBEAT_PERIOD_NS: DurationNs = 2 * SECOND_NS;
export const DEFAULT_NODE_CERT_EXPIRY_NS: DurationNs = 90 * 24 * 3600 * SECOND_NS;
