// A single integer register (initially 0) as a Model: the smallest useful specification, for tests
// and for checking components that expose one value.
import type { Model, Operation } from "../model.js";

export type RegisterInput = { op: "read" } | { op: "write"; value: number };
/** read: the value read. write: nothing observed ({}). Undefined means the outcome is unknown. */
export interface RegisterOutput {
  value?: number;
}
export type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

export const registerModel: Model<number, RegisterInput, RegisterOutput> = {
  init: () => 0,
  step(state, input, output) {
    if (input.op === "write") return [true, input.value];
    return [output === undefined || output.value === state, state];
  },
  equal: (a, b) => a === b,
  hash: (s) => String(s),
  describeOperation(input, output) {
    if (input.op === "write") return `write(${input.value})${output === undefined ? " -> ? (unknown outcome)" : ""}`;
    return `read() -> ${output?.value === undefined ? "?" : output.value}`;
  },
  describeState: (s) => String(s),
};
