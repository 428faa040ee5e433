// The search for a linearization of one partition: Wing & Gong's backtracking over the event list,
// with Lowe's lifting and configuration cache. Pure and synchronous; bounded by a step budget.
// It knows nothing of partitions or explanations: it reports indices, the caller turns them into words.
import { ConfigurationCache } from "./cache.js";
import { buildEventList, lift, unlift, type EventNode } from "./event-list.js";
import type { CheckResult, Model, Operation } from "./model.js";

export interface SearchOutcome<S> {
  result: CheckResult;
  steps: number;
  /** When ok: operation indices in a legal order. */
  linearization?: number[];
  /** When not ok: the deepest point the search reached. */
  deepest?: DeepestPoint<S>;
}

export interface DeepestPoint<S> {
  /** Operation indices linearized, in order. */
  prefix: number[];
  /** The operation whose return the search hit, unable to place it, at that depth. */
  failing: number | undefined;
  /** Model state after the prefix. */
  state: S;
}

/**
 * The candidates at any point are the calls before the first return left in the list; any order
 * of trying them is correct. We try operations with known outcomes first ("known" pass) and
 * timed-out ones second ("unknown" pass): a timed-out write then gets linearized only when no
 * completed operation can go next, instead of eagerly, which keeps "a timed-out write was observed
 * later" linear rather than exponential in the number of timed-out writes.
 */
type Pass = "known" | "unknown";

interface Frame<S> {
  call: EventNode;
  /** State before this call was linearized, restored on backtrack. */
  stateBefore: S;
  /** The pass that linearized it, resumed on backtrack. */
  pass: Pass;
}

export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): SearchOutcome<S> {
  const head = buildEventList(ops);
  const hasUnknown = ops.some((o) => o.return === undefined);
  const knownMask = new Uint32Array(Math.ceil(ops.length / 32));
  ops.forEach((o, i) => {
    if (o.return !== undefined) knownMask[i >>> 5]! |= 1 << (i & 31);
  });
  const cache = new ConfigurationCache<S>(model, knownMask);
  const linearized = cache.newLinearizedSet(ops.length);
  const stack: Frame<S>[] = [];
  let state = model.init();
  let deepest: DeepestPoint<S> | undefined;
  let steps = 0;
  let pass: Pass = "known";
  // Invariant: the list holds exactly the unlinearized operations, and `node` never lies beyond
  // the first return event in it.
  let node = head.next;

  while (node !== null) {
    if (steps >= maxSteps) return { result: "unknown", steps, deepest: deepest ?? point(stack, undefined, state) };
    steps++;

    if (node.kind === "call") {
      const op = ops[node.op]!;
      const known = op.return !== undefined;
      if (known === (pass === "known")) {
        const [ok, next] = model.step(state, op.input, known ? op.output : undefined);
        if (ok) {
          linearized.set(node.op);
          if (cache.add(linearized, next)) {
            stack.push({ call: node, stateBefore: state, pass });
            state = next;
            lift(node);
            node = head.next;
            pass = "known";
            continue;
          }
          linearized.clear(node.op);
        }
      }
      node = node.next;
      continue;
    }

    // A return event: its operation must take effect before it, and every candidate was tried.
    if (node.unknown) {
      // Unknown returns sort after every known one, so no operation with a known outcome is left:
      // the timed-out ones still in the list are simply the ones that never took effect.
      return { result: "ok", steps, linearization: stack.map((f) => f.call.op) };
    }
    if (pass === "known" && hasUnknown) {
      pass = "unknown";
      node = head.next;
      continue;
    }
    if (deepest === undefined || stack.length > deepest.prefix.length) deepest = point(stack, node.op, state);
    const top = stack.pop();
    if (top === undefined) return { result: "illegal", steps, deepest };
    state = top.stateBefore;
    linearized.clear(top.call.op);
    unlift(top.call);
    node = top.call.next;
    pass = top.pass;
  }
  return { result: "ok", steps, linearization: stack.map((f) => f.call.op) };
}

function point<S>(stack: Frame<S>[], failing: number | undefined, state: S): DeepestPoint<S> {
  return { prefix: stack.map((f) => f.call.op), failing, state };
}
