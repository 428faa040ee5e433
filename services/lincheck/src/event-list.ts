// The doubly linked list of call and return events that the search walks (Lowe's representation).
// Linearizing an operation "lifts" its call and return out of the list in O(1); backtracking
// "unlifts" them back into exactly the same place, because the removed nodes keep their links.
import type { Operation } from "./model.js";

export interface EventNode {
  readonly kind: "call" | "return" | "head";
  /** Index of the operation in the partition's operation array (-1 for the head sentinel). */
  readonly op: number;
  /** For a call: its return node. */
  match: EventNode | null;
  /** For a return: true when the outcome is unknown, i.e. the return sits at +infinity. */
  readonly unknown: boolean;
  prev: EventNode | null;
  next: EventNode | null;
}

interface TimedEvent {
  kind: "call" | "return";
  op: number;
  time: number;
}

/**
 * Builds the list for a partition and returns its head sentinel. Events are ordered by time; at
 * equal times calls precede returns (closed intervals), and unknown returns come last at +infinity.
 */
export function buildEventList<I, O>(ops: readonly Operation<I, O>[]): EventNode {
  const events: TimedEvent[] = [];
  ops.forEach((o, i) => {
    events.push({ kind: "call", op: i, time: o.call });
    events.push({ kind: "return", op: i, time: o.return ?? Number.POSITIVE_INFINITY });
  });
  events.sort((a, b) => {
    if (a.time !== b.time) return a.time < b.time ? -1 : 1;
    if (a.kind !== b.kind) return a.kind === "call" ? -1 : 1;
    return a.op - b.op;
  });

  const head: EventNode = { kind: "head", op: -1, match: null, unknown: false, prev: null, next: null };
  const calls = new Map<number, EventNode>();
  let tail = head;
  for (const e of events) {
    const node: EventNode = {
      kind: e.kind,
      op: e.op,
      match: null,
      unknown: e.kind === "return" && ops[e.op]!.return === undefined,
      prev: tail,
      next: null,
    };
    tail.next = node;
    tail = node;
    // Calls always precede their return in the sorted order (call <= return, ties favour calls).
    if (e.kind === "call") calls.set(e.op, node);
    else calls.get(e.op)!.match = node;
  }
  return head;
}

/** Removes a call node and its return from the list, leaving their own links intact for unlift. */
export function lift(call: EventNode): void {
  call.prev!.next = call.next;
  // A call always has a successor: at the latest, its own return.
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** Undoes lift(call); must be applied in reverse order of the lifts (the search's stack does so). */
export function unlift(call: EventNode): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}
