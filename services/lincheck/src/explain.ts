// Turns the search's deepest point into text a human can act on when a simulator or a
// multi-process test fails: which partition, what could be linearized, and what could not.
import type { Model, Operation } from "./model.js";

/** How many still-open operations to list next to the failing one. */
const MAX_OPEN_LISTED = 10;

export function describeOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  const output = op.return === undefined ? undefined : op.output;
  const what = model.describeOperation
    ? model.describeOperation(op.input, output)
    : `${JSON.stringify(op.input)} -> ${output === undefined ? "?" : JSON.stringify(output)}`;
  const ret = op.return === undefined ? "unknown (timed out)" : String(op.return);
  return `client ${op.clientId} [call ${op.call}, return ${ret}] ${what}`;
}

export interface ExplainInput<S, I, O> {
  verdict: "illegal" | "unknown";
  partitionName: string | undefined;
  operations: readonly Operation<I, O>[];
  prefix: readonly Operation<I, O>[];
  failing: Operation<I, O> | undefined;
  state: S;
  steps: number;
}

export function explain<S, I, O>(model: Model<S, I, O>, x: ExplainInput<S, I, O>): string {
  const where = x.partitionName === undefined ? "history" : `partition ${x.partitionName}`;
  const lines: string[] = [];
  if (x.verdict === "illegal") {
    lines.push(`${where} (${x.operations.length} operations) is not linearizable.`);
  } else {
    lines.push(`${where} (${x.operations.length} operations): gave up after ${x.steps} search steps; linearizability unknown.`);
  }
  lines.push(`Longest linearizable prefix (${x.prefix.length} of ${x.operations.length} operations):`);
  if (x.prefix.length === 0) lines.push("  (none)");
  x.prefix.forEach((op, i) => lines.push(`  ${i + 1}. ${describeOperation(model, op)}`));
  if (model.describeState) lines.push(`State after that prefix: ${model.describeState(x.state)}`);
  if (x.failing !== undefined) {
    lines.push(`Could not place: ${describeOperation(model, x.failing)}`);
    const failing = x.failing;
    // Operations not in the prefix that were called before the failing one returned are the
    // only ones that could have been ordered ahead of it: show them as the alternatives tried.
    const inPrefix = new Set(x.prefix);
    const open = x.operations.filter((o) => o !== failing && !inPrefix.has(o) && o.call <= (failing.return ?? Infinity));
    if (open.length > 0) {
      lines.push(`Other operations still open before its return (${open.length}):`);
      for (const o of open.slice(0, MAX_OPEN_LISTED)) lines.push(`  - ${describeOperation(model, o)}`);
      if (open.length > MAX_OPEN_LISTED) lines.push(`  ... and ${open.length - MAX_OPEN_LISTED} more`);
    }
  }
  return lines.join("\n");
}
