// Generates histories that are linearizable by construction: each operation gets a linearization
// point inside a random interval, outputs come from applying the operations to a sequential
// key-value store in linearization-point order. Some operations time out (unknown outcome) and
// either took effect at their point or never did.
import type { Random } from "@shoal/common";
import type { KvInput, KvOperation, KvOutput } from "../../src/index.js";

export interface RandomHistoryOptions {
  keys: number;
  clients: number;
  opsPerClient: number;
  /** Probability that an operation times out. */
  timeoutRate?: number;
  /** Probability that an operation is a cas (default 0.1); puts, appends and gets share the rest. */
  casRate?: number;
  /** Largest idle gap between a client's operations, and largest half-width of an interval. */
  maxGap?: number;
  maxSpan?: number;
}

interface Planned {
  op: KvOperation;
  point: number;
  /** False for a timed-out operation that never took effect. */
  effective: boolean;
}

export function linearizableKvHistory(rng: Random, o: RandomHistoryOptions): KvOperation[] {
  const maxGap = o.maxGap ?? 5;
  const maxSpan = o.maxSpan ?? 10;
  const timeoutRate = o.timeoutRate ?? 0;
  const casRate = o.casRate ?? 0.1;
  const planned: Planned[] = [];
  const written: string[] = [""];

  for (let c = 0; c < o.clients; c++) {
    let t = rng.int(maxGap + 1);
    for (let i = 0; i < o.opsPerClient; i++) {
      const call = t + rng.int(maxGap + 1);
      const point = call + rng.int(maxSpan + 1);
      const ret = point + rng.int(maxSpan + 1);
      const key = `k${rng.int(o.keys)}`;
      const value = `c${c}.${i}`;
      let input: KvInput;
      if (rng.next() < casRate) {
        input = { op: "cas", key, expected: written[rng.int(written.length)]!, value };
      } else {
        const roll = rng.next();
        if (roll < 0.5) input = { op: "get", key };
        else if (roll < 0.9) input = { op: "put", key, value };
        else input = { op: "append", key, value };
      }
      if (input.op !== "get") written.push(value);
      const timedOut = rng.next() < timeoutRate;
      planned.push({
        op: { clientId: c, input, call, output: undefined, return: timedOut ? undefined : ret },
        point,
        effective: !timedOut || rng.next() < 0.5,
      });
      t = ret + 1;
    }
  }

  const store = new Map<string, string>();
  const byPoint = [...planned].sort((a, b) => a.point - b.point || a.op.clientId - b.op.clientId);
  for (const p of byPoint) {
    if (!p.effective) continue;
    const input = p.op.input;
    const current = store.get(input.key) ?? "";
    let output: KvOutput;
    switch (input.op) {
      case "get":
        output = { value: current };
        break;
      case "put":
        store.set(input.key, input.value);
        output = {};
        break;
      case "append":
        store.set(input.key, current + input.value);
        output = {};
        break;
      case "cas":
        output = { ok: current === input.expected };
        if (current === input.expected) store.set(input.key, input.value);
        break;
    }
    if (p.op.return !== undefined) p.op.output = output;
  }
  return planned.map((p) => p.op);
}
