// Pending ReadIndex requests on the leader (thesis §6.4): each remembers the commit index at the
// time it arrived and collects heartbeat acknowledgements carrying its context; once a quorum
// acknowledged it, that request and every earlier one may be answered.

import type { Message, NodeId } from "./types.js";
import { bytesKey } from "./util.js";

export interface ReadIndexStatus {
  /** Commit index when the request arrived: the read may be served once applied up to here. */
  index: number;
  req: Message;
  /** The leader's own context for this request's heartbeat round (unique; see raft.ts). */
  ctx: Uint8Array;
  acks: Set<NodeId>;
}

export class ReadOnly {
  /** Keyed by bytesKey(context). Invariant: keys are exactly the entries of queue. */
  private readonly pending = new Map<string, ReadIndexStatus>();
  /** Arrival order; acknowledging one request also confirms those before it. */
  private queue: string[] = [];

  /** Adds a request under ctx, which the caller makes unique. */
  addRequest(index: number, req: Message, ctx: Uint8Array): void {
    const key = bytesKey(ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, req, ctx, acks: new Set() });
    this.queue.push(key);
  }

  /** Records id's acknowledgement of ctx; returns the acknowledgers so far, or undefined if unknown. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): Set<NodeId> | undefined {
    const rs = this.pending.get(bytesKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns the requests up to and including ctx, oldest first. */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const key = bytesKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pending.get(k);
      this.pending.delete(k);
      if (rs !== undefined) out.push(rs);
    }
    return out;
  }

  /** The newest pending context: heartbeats carry it so one round confirms everything queued. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.ctx;
  }

  size(): number {
    return this.queue.length;
  }
}
