// Entry point: validates a history, splits it into partitions, searches each one and combines the
// verdicts. Owns the mapping from search indices back to operations and the failure report.
import { invalidHistory, LincheckError } from "./errors.js";
import { explain } from "./explain.js";
import {
  DEFAULT_MAX_STEPS,
  type CheckInfo,
  type CheckOptions,
  type CheckOutcome,
  type Model,
  type Operation,
  type PartitionResult,
} from "./model.js";
import { searchLinearization, type SearchOutcome } from "./search.js";

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  opts: CheckOptions = {},
): CheckOutcome<I, O> {
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!(maxSteps > 0)) {
    throw new LincheckError({ code: "LINCHECK_INVALID_OPTIONS", reason: "maxSteps must be positive" });
  }
  history.forEach(validateOperation);

  const partitions = model.partition ? model.partition(history) : [history];
  const partitionResults: PartitionResult<I, O>[] = [];
  const searches: SearchOutcome<S>[] = [];
  for (const ops of partitions) {
    const s = searchLinearization(model, ops, maxSteps);
    searches.push(s);
    const r: PartitionResult<I, O> = { result: s.result, operations: ops.length, steps: s.steps };
    if (model.partitionName) r.name = model.partitionName(ops);
    if (s.linearization) r.linearization = s.linearization.map((i) => ops[i]!);
    partitionResults.push(r);
  }

  let worst = partitionResults.findIndex((r) => r.result === "illegal");
  if (worst < 0) worst = partitionResults.findIndex((r) => r.result === "unknown");
  if (worst < 0) return { result: "ok", partitionResults };

  const ops = partitions[worst]!;
  const s = searches[worst]!;
  const deepest = s.deepest!;
  const prefix = deepest.prefix.map((i) => ops[i]!);
  const failing = deepest.failing === undefined ? undefined : ops[deepest.failing];
  const verdict = partitionResults[worst]!.result === "illegal" ? "illegal" : "unknown";
  const name = partitionResults[worst]!.name;
  const info: CheckInfo<I, O> = {
    partition: worst,
    longestLinearizedPrefix: prefix,
    explanation: explain(model, { verdict, partitionName: name, operations: ops, prefix, failing, state: deepest.state, steps: s.steps }),
  };
  if (name !== undefined) info.partitionName = name;
  if (failing !== undefined) info.failingOperation = failing;
  return { result: verdict, partitionResults, info };
}

function validateOperation<I, O>(op: Operation<I, O>, index: number): void {
  if (!Number.isFinite(op.call)) throw invalidHistory(`operation ${index} has a non-finite call time ${op.call}`);
  if (op.return !== undefined) {
    // +infinity is reserved for unknown outcomes, which are spelled `return: undefined`.
    if (!Number.isFinite(op.return)) throw invalidHistory(`operation ${index} has a non-finite return time ${op.return}`);
    if (op.return < op.call) throw invalidHistory(`operation ${index} returns at ${op.return}, before its call at ${op.call}`);
  }
}
