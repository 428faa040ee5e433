// Building histories: from a log of timestamped call/return events, or incrementally through a
// recorder that a simulator or test client drives. Time is always passed in, never read here.
import { invalidHistory } from "./errors.js";
import type { Operation } from "./model.js";

export type HistoryEvent<Input, Output> =
  | { kind: "call"; id: number | string; clientId: number; time: number; input: Input }
  | { kind: "return"; id: number | string; time: number; output: Output };

/**
 * Pairs call and return events by id into operations, in order of call time. A call without a
 * return becomes an operation with an unknown outcome (return undefined).
 * Throws LINCHECK_INVALID_HISTORY on a duplicate call or return, a return without a call, or a
 * return earlier than its call.
 */
export function historyFromEvents<Input, Output>(events: readonly HistoryEvent<Input, Output>[]): Operation<Input, Output>[] {
  const ops = new Map<number | string, Operation<Input, Output>>();
  for (const e of events) {
    if (e.kind === "call") {
      if (ops.has(e.id)) throw invalidHistory(`duplicate call event for id ${String(e.id)}`);
      ops.set(e.id, { clientId: e.clientId, input: e.input, call: e.time, output: undefined, return: undefined });
    }
  }
  for (const e of events) {
    if (e.kind !== "return") continue;
    const op = ops.get(e.id);
    if (op === undefined) throw invalidHistory(`return event for id ${String(e.id)} without a call`);
    if (op.return !== undefined) throw invalidHistory(`duplicate return event for id ${String(e.id)}`);
    if (e.time < op.call) throw invalidHistory(`id ${String(e.id)} returns at ${e.time}, before its call at ${op.call}`);
    op.return = e.time;
    op.output = e.output;
  }
  // Stable sort keeps the event order for equal call times.
  return [...ops.values()].sort((a, b) => a.call - b.call);
}

/** Records operations as they happen; `call` hands back a handle to complete with `finish`. */
export class HistoryRecorder<Input, Output> {
  private readonly ops: Operation<Input, Output>[] = [];

  /** Starts an operation at `time`; until finished, its outcome counts as unknown. */
  call(clientId: number, input: Input, time: number): number {
    this.ops.push({ clientId, input, call: time, output: undefined, return: undefined });
    return this.ops.length - 1;
  }

  /** Completes the operation `handle` with its observed output at `time`. */
  finish(handle: number, output: Output, time: number): void {
    const op = this.ops[handle];
    if (op === undefined) throw invalidHistory(`unknown operation handle ${handle}`);
    if (op.return !== undefined) throw invalidHistory(`operation ${handle} finished twice`);
    if (time < op.call) throw invalidHistory(`operation ${handle} finishes at ${time}, before its call at ${op.call}`);
    op.return = time;
    op.output = output;
  }

  /** A copy of the history so far; unfinished operations have unknown outcomes. */
  operations(): Operation<Input, Output>[] {
    return this.ops.map((o) => ({ ...o }));
  }
}
