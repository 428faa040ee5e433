// A sequential key-value store as a Model, partitioned per key: each partition's state is the one
// value of its key, "" when absent (so delete is put(key, "")).
import type { Model, Operation } from "../model.js";
import { partitionByKey } from "./partition.js";

export type KvInput =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: string }
  | { op: "append"; key: string; value: string }
  | { op: "cas"; key: string; expected: string; value: string };

/**
 * get: `value` is what was read ("" for absent). put/append: nothing is observed ({}).
 * cas: `ok` says whether it swapped. Undefined as a whole means the outcome is unknown.
 */
export interface KvOutput {
  value?: string;
  ok?: boolean;
}

export type KvOperation = Operation<KvInput, KvOutput>;

/**
 * Removes timed-out puts and appends whose effect nobody could have observed. Each such write
 * multiplies the configurations the search may visit (it happened or not, at many points), and
 * they are common: a crashed leader times out the writes it never replicated.
 *
 * Proof sketch: while a write of v is "live" (until the next put or successful cas) the value
 * contains v, because appends only extend it. If no get output and no successful cas `expected`
 * contains v, no get or successful cas can sit in that span, only appends (which succeed in any
 * state) and then an overwriting put; deleting the write from a linearization leaves one. A failed
 * cas could notice the difference (its comparison may flip), unless it returned before the write
 * was even called; an unknown cas can always notice it. Writes exposed to either are kept.
 */
function dropUnobservedTimedOutWrites(ops: KvOperation[]): KvOperation[] {
  const observed: string[] = [];
  // Writes called at or before this time may be live when some failed or unknown cas runs.
  let exposedUntil = Number.NEGATIVE_INFINITY;
  for (const o of ops) {
    if (o.input.op === "cas") {
      if (o.return === undefined) exposedUntil = Number.POSITIVE_INFINITY;
      else if (o.output?.ok === true) observed.push(o.input.expected);
      else exposedUntil = Math.max(exposedUntil, o.return);
    } else if (o.input.op === "get" && o.return !== undefined && o.output?.value !== undefined) {
      observed.push(o.output.value);
    }
  }
  return ops.filter((o) => {
    if (o.return !== undefined || (o.input.op !== "put" && o.input.op !== "append")) return true;
    if (o.call <= exposedUntil) return true;
    const v = o.input.value;
    return observed.some((seen) => seen.includes(v));
  });
}

export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => "",

  step(state, input, output) {
    switch (input.op) {
      case "get":
        // An unknown get observed nothing and changes nothing.
        return [output === undefined || output.value === state, state];
      case "put":
        return [true, input.value];
      case "append":
        return [true, state + input.value];
      case "cas": {
        const matches = state === input.expected;
        // Unknown outcome: if it took effect at all, the comparison decided it deterministically.
        if (output === undefined) return [true, matches ? input.value : state];
        return output.ok === matches ? [true, matches ? input.value : state] : [false, state];
      }
    }
  },

  equal: (a, b) => a === b,
  hash: (s) => s,

  partition(history) {
    // A get with an unknown outcome constrains nothing; dropping it shrinks the search.
    const useful = history.filter((o) => !(o.return === undefined && o.input.op === "get"));
    return partitionByKey(useful, (input) => input.key).map(dropUnobservedTimedOutWrites);
  },

  partitionName: (ops) => (ops.length === 0 ? "(empty)" : JSON.stringify(ops[0]!.input.key)),

  describeOperation(input, output) {
    const k = JSON.stringify(input.key);
    const unknown = output === undefined ? " -> ? (unknown outcome)" : "";
    switch (input.op) {
      case "get":
        return `get(${k}) -> ${output === undefined ? "?" : JSON.stringify(output.value)}`;
      case "put":
        return `put(${k}, ${JSON.stringify(input.value)})${unknown}`;
      case "append":
        return `append(${k}, ${JSON.stringify(input.value)})${unknown}`;
      case "cas":
        return `cas(${k}, ${JSON.stringify(input.expected)} => ${JSON.stringify(input.value)}) -> ${output === undefined ? "?" : String(output.ok)}`;
    }
  },

  describeState: (s) => JSON.stringify(s),
};
