// Independent validation of a linearization the checker returns: it must contain every operation
// with a known outcome exactly once, respect real-time order, and replay legally through the model.
import type { Model, Operation } from "../../src/index.js";

/** Returns a reason the sequence is not a valid linearization of history, or undefined if it is. */
export function linearizationProblem<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  sequence: readonly Operation<I, O>[],
): string | undefined {
  const position = new Map<Operation<I, O>, number>();
  sequence.forEach((op, i) => {
    if (position.has(op)) throw new Error("operation listed twice");
    position.set(op, i);
  });
  for (const op of history) {
    if (op.return !== undefined && !position.has(op)) return `operation called at ${op.call} is missing`;
  }
  for (const a of sequence) {
    for (const b of sequence) {
      if (a.return !== undefined && a.return < b.call && position.get(a)! > position.get(b)!) {
        return `operation [${a.call},${a.return}] placed after [${b.call},${b.return}] which started after it returned`;
      }
    }
  }
  let state = model.init();
  for (const op of sequence) {
    const [ok, next] = model.step(state, op.input, op.return === undefined ? undefined : op.output);
    if (!ok) return `operation called at ${op.call} is illegal in its place`;
    state = next;
  }
  return undefined;
}
