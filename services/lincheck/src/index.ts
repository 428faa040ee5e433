// @shoal/lincheck: a linearizability checker for histories of concurrent operations, in the style
// of Porcupine (Wing & Gong's search with Lowe's lifting and configuration cache), plus ready-made
// models. Pure: no clocks, randomness or IO; callers pass in histories and read back verdicts.
export type {
  CheckInfo,
  CheckOptions,
  CheckOutcome,
  CheckResult,
  Model,
  Operation,
  PartitionResult,
} from "./model.js";
export { DEFAULT_MAX_STEPS } from "./model.js";
export { checkOperations } from "./check.js";
export { describeOperation } from "./explain.js";
export { historyFromEvents, HistoryRecorder, type HistoryEvent } from "./history.js";
export { LincheckError, type LincheckErrorMeta } from "./errors.js";
export { partitionByKey } from "./models/partition.js";
export { kvModel, type KvInput, type KvOutput, type KvOperation } from "./models/kv.js";
export { registerModel, type RegisterInput, type RegisterOutput, type RegisterOperation } from "./models/register.js";
