// An obviously-correct (and exponential) reference checker for tiny histories: try every order of
// every subset that contains all known-outcome operations. Used to cross-check the real search.
import type { Model, Operation } from "../../src/index.js";

export function bruteForceLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[]): boolean {
  const n = history.length;
  const used = new Array<boolean>(n).fill(false);
  const mustPlace = history.filter((o) => o.return !== undefined).length;

  const extend = (state: S, placedKnown: number): boolean => {
    if (placedKnown === mustPlace) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const op = history[i]!;
      // op may go next only if no unplaced operation returned strictly before op was called.
      const blocked = history.some((o, j) => !used[j] && j !== i && o.return !== undefined && o.return < op.call);
      if (blocked) continue;
      const [ok, next] = model.step(state, op.input, op.return === undefined ? undefined : op.output);
      if (!ok) continue;
      used[i] = true;
      const done = extend(next, placedKnown + (op.return === undefined ? 0 : 1));
      used[i] = false;
      if (done) return true;
    }
    return false;
  };
  return extend(model.init(), 0);
}
