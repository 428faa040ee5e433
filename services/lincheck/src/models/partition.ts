// Per-key partitioning shared by models whose operations each touch exactly one key.
import type { Operation } from "../model.js";

/** Groups operations by key, keeping history order inside each group; groups in first-seen order. */
export function partitionByKey<I, O>(history: readonly Operation<I, O>[], keyOf: (input: I) => string): Operation<I, O>[][] {
  const groups = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    const key = keyOf(op.input);
    let g = groups.get(key);
    if (g === undefined) {
      g = [];
      groups.set(key, g);
    }
    g.push(op);
  }
  return [...groups.values()];
}
