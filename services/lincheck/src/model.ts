// The vocabulary of the checker: what a history is (operations with real-time intervals) and what a
// sequential specification is (a Model). This module owns only types and the rules they carry;
// it must not know about any particular data type or about how the search works.

/**
 * One completed or timed-out operation of a concurrent history.
 *
 * Times are abstract, comparable numbers (ticks, ms, event indices); only their order matters.
 * Intervals are closed: an operation returning at t and another called at t are treated as
 * concurrent, which can only make the checker more permissive, never report a false violation.
 */
export interface Operation<Input, Output> {
  clientId: number;
  input: Input;
  call: number;
  /**
   * Ignored when `return` is undefined: an operation whose outcome is unknown has no observed
   * output, and the model is stepped with `undefined` instead.
   */
  output: Output | undefined;
  /**
   * Undefined means the outcome is unknown (the client timed out or crashed): the operation may
   * have taken effect at any instant after `call`, or never. The checker treats its return time
   * as +infinity and is also allowed to leave it out of the linearization entirely.
   */
  return: number | undefined;
}

/**
 * A sequential specification.
 *
 * Rule for unknown outcomes: `step` is called with `output === undefined` for an operation whose
 * return is unknown, and must then accept any output the operation could have produced in `state`,
 * returning the state the operation would leave behind if it took effect (so it must not reject it
 * merely for lacking an output).
 */
export interface Model<State, Input, Output> {
  init(): State;
  /** Returns [ok, nextState]: whether `output` is a legal result of `input` in `state`. */
  step(state: State, input: Input, output: Output | undefined): [boolean, State];
  /** Used by the search cache to recognise a state it has already explored. */
  equal(a: State, b: State): boolean;
  /**
   * Optional canonical key of a state, used instead of `equal` by the cache. It must be a key,
   * not a digest: hash(a) === hash(b) exactly when equal(a, b).
   */
  hash?(state: State): string;
  /**
   * Splits a history into independent sub-histories (per key for a key-value store), each checked
   * on its own. Linearizability is compositional (Herlihy & Wing), so this is sound whenever the
   * parts touch disjoint state; it turns one exponential search into several small ones.
   */
  partition?(history: Operation<Input, Output>[]): Operation<Input, Output>[][];
  /** A name for a partition, used in explanations (e.g. the key it covers). */
  partitionName?(operations: Operation<Input, Output>[]): string;
  /** Readable form of an operation for explanations; `output` is undefined when unknown. */
  describeOperation?(input: Input, output: Output | undefined): string;
  /** Readable form of a state for explanations. */
  describeState?(state: State): string;
}

export type CheckResult = "ok" | "illegal" | "unknown";

export interface PartitionResult<Input, Output> {
  result: CheckResult;
  /** The partition's name, when the model provides `partitionName`. */
  name?: string;
  operations: number;
  /** Search iterations spent on this partition (bounded by maxSteps). */
  steps: number;
  /** When result is "ok": one legal sequential order (timed-out operations that were dropped are absent). */
  linearization?: Operation<Input, Output>[];
}

export interface CheckInfo<Input, Output> {
  /** Index into partitionResults of the partition the info describes. */
  partition: number;
  partitionName?: string;
  /** The longest sequence of operations the search managed to linearize in that partition. */
  longestLinearizedPrefix: Operation<Input, Output>[];
  /** The operation whose return the search could not get past after that prefix. */
  failingOperation?: Operation<Input, Output>;
  explanation: string;
}

export interface CheckOutcome<Input, Output> {
  /** "illegal" if any partition is illegal, else "unknown" if any ran out of steps, else "ok". */
  result: CheckResult;
  partitionResults: PartitionResult<Input, Output>[];
  /** Present unless result is "ok": describes the first illegal (else first unknown) partition. */
  info?: CheckInfo<Input, Output>;
}

export interface CheckOptions {
  /**
   * Search iterations allowed per partition before giving up with "unknown", so that a
   * pathological history bounds CI time instead of hanging it. Default DEFAULT_MAX_STEPS.
   */
  maxSteps?: number;
}

/** Roughly a few seconds of search per partition on a laptop. */
export const DEFAULT_MAX_STEPS = 5_000_000;
