// Which of a sender's streams is current, on the receiving side.
//
// A partition leaves the sender's connections open on the receiver's side: the sender's keepalive
// drops them and opens new ones after the heal, but what it wrote into the old ones before that
// sits in TCP's retransmission queue, even after the sender's process is gone, and reaches the
// receiver seconds later on the old connection, behind newer messages. Raft tolerates old
// messages, but the receiver also counts every message as a sign of life: in the lab, seconds
// after both other managers were SIGKILLed, a heartbeat of an older term arriving this way made the
// survivor report 2 of 3 managers reachable, and "an election is under way" instead of the way
// out (the e2e suite's lost-quorum case, on a loaded host).
//
// So each lane stream opens with metadata naming its sender, its lane and its place in that
// sender's order (an incarnation, random per Peer object, and a sequence number that grows with
// each stream the Peer opens). The receiver keeps the newest stream per sender and lane: a newer
// one ends the one before it (what arrives on it later is dropped with it), and an older one,
// opened on a connection the sender had already given up, is refused. Streams from another
// incarnation (the sender restarted) cannot be ordered, so the later to arrive wins; a stale one
// that wins ends the live stream once, and the sender opens a new one, which wins back. Streams
// without the metadata (a member of an older version) are taken as before.
import * as grpc from "@grpc/grpc-js";
import type { NodeId } from "../core/types.js";

const FROM = "shoal-raft-from";
const LANE = "shoal-raft-lane";
const ORDER = "shoal-raft-order";

export interface LaneStreamId {
  from: NodeId;
  lane: string;
  incarnation: string;
  seq: number;
}

/** The metadata a lane stream opens with. */
export function laneMetadata(id: LaneStreamId): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(FROM, String(id.from));
  md.set(LANE, id.lane);
  md.set(ORDER, `${id.incarnation}.${id.seq}`);
  return md;
}

/**
 * The lane stream's identity from its metadata; undefined if it carries none (an older sender, a
 * snapshot stream). Malformed values throw, naming the field: the stream is refused.
 */
export function readLaneMetadata(md: grpc.Metadata): LaneStreamId | undefined {
  const one = (key: string): string | undefined => {
    const v = md.get(key);
    return v.length === 0 ? undefined : String(v[0]);
  };
  const from = one(FROM);
  const lane = one(LANE);
  const order = one(ORDER);
  if (from === undefined && lane === undefined && order === undefined) return undefined;
  if (from === undefined || lane === undefined || order === undefined) throw new Error(`raft stream metadata incomplete: ${FROM}, ${LANE} and ${ORDER} go together`);
  const id = Number(from);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`raft stream metadata: ${FROM} ${JSON.stringify(from)} is not a member id`);
  const dot = order.lastIndexOf(".");
  const seq = Number(order.slice(dot + 1));
  if (dot <= 0 || !Number.isSafeInteger(seq) || seq < 0) throw new Error(`raft stream metadata: ${ORDER} ${JSON.stringify(order)} is not <incarnation>.<sequence>`);
  return { from: id, lane, incarnation: order.slice(0, dot), seq };
}

/** A stream registered as current for its sender and lane. */
export interface LaneEntry {
  readonly id: LaneStreamId;
  /** Ends the stream: a newer one from the same sender and lane replaced it. */
  readonly supersede: () => void;
}

/** The receiver's current stream per sender and lane. */
export class LaneStreams {
  private readonly current = new Map<string, LaneEntry>();

  /**
   * Registers a stream that opens: the one it replaces is superseded (after it is unregistered).
   * Undefined, and nothing changes, if the sender had already opened a newer stream on this lane.
   */
  open(id: LaneStreamId, supersede: () => void): LaneEntry | undefined {
    const key = keyOf(id);
    const cur = this.current.get(key);
    if (cur !== undefined && cur.id.incarnation === id.incarnation && id.seq <= cur.id.seq) return undefined;
    const entry: LaneEntry = { id, supersede };
    this.current.set(key, entry);
    cur?.supersede();
    return entry;
  }

  /** A stream ended: it stops being current (if a newer one has not replaced it already). */
  closed(entry: LaneEntry): void {
    const key = keyOf(entry.id);
    if (this.current.get(key) === entry) this.current.delete(key);
  }

  /** True when `from` has a current stream on any lane: a connection from it is open now. */
  hasFrom(from: NodeId): boolean {
    for (const e of this.current.values()) if (e.id.from === from) return true;
    return false;
  }

  /** How many senders' lanes have a current stream (tests). */
  size(): number {
    return this.current.size;
  }
}

function keyOf(id: LaneStreamId): string {
  return `${id.from}/${id.lane}`;
}
