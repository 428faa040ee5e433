// Two outgoing connections to one peer: on one, a long-lived client stream for appends and a
// short-lived stream per snapshot; on the other, a long-lived stream for every other message.
//
// Owns: the per-peer queue, batching into frames, backpressure, reconnect with backoff and the
// snapshot chunking. It must never block or throw into the caller (the Raft loop): when the
// queue is full or the peer is down, messages are dropped and the peer is reported unreachable,
// and Raft retransmits.
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { Backoff, describeError, type Logger, type TimerHandle, type Clock } from "@shoal/common";
import { raftServiceDefinition, raftpb } from "@shoal/proto";
import { MessageType, type Message, type NodeId } from "../core/types.js";
import { encodeMessage } from "./codec.js";
import { laneMetadata } from "./lane-streams.js";

export interface PeerOptions {
  selfId: NodeId;
  id: NodeId;
  address: string;
  credentials: grpc.ChannelCredentials;
  /** Merged over ours (e.g. the TLS target name override). */
  channelOptions: grpc.ChannelOptions;
  maxQueuedMessages: number;
  snapshotChunkBytes: number;
  backoff: Backoff;
  /** Default ACCEPT_TIMEOUT_MS. */
  acceptTimeoutMs?: number;
}

export interface PeerModules {
  logger: Logger;
  clock: Clock;
  onUnreachable: (id: NodeId) => void;
  /** A connection attempt to the peer was refused: nothing listens at its address (its process is gone). */
  onDown: (id: NodeId) => void;
  /** The peer accepted a stream of ours (its headers arrived). */
  onUp: (id: NodeId) => void;
  /** A lane's connection was replaced: its stream was not accepted in time (tests, metrics). */
  onConnectionReplaced?: (id: NodeId) => void;
  onSnapshotStatus: (id: NodeId, ok: boolean) => void;
  /** The peer refused our stream because our id is among its removed members. */
  onRemoved: (id: NodeId) => void;
}

/** Starts the details of the FAILED_PRECONDITION status a receiver ends a removed member's stream with. */
export const MEMBER_REMOVED = "raft member removed";
/** The receiver's status details for a lane stream it ended or refused because a newer one replaced it. */
export const SUPERSEDED = "raft stream superseded by a newer stream from the same member";

const method = raftServiceDefinition.stream;

/** The keepalive's terms: a ping a second, answered within 2 s (see CHANNEL_OPTIONS; the receiver's side uses them too, session-watch.ts). */
export const KEEPALIVE = { intervalMs: 1_000, timeoutMs: 2_000 } as const;

/**
 * Channel options: our own backoff paces reconnects, so the channel's must not add minutes to it.
 * Keepalive pings notice a peer that died without closing its socket (power loss, partition):
 * without them the stream looks open until TCP gives up, minutes later, and the leader keeps
 * writing into a dead connection instead of reporting the peer unreachable. They are frequent
 * (a ping a second, answered within 2 s) because a partition that heals is the same case: what
 * was written meanwhile sits in TCP's retransmission backoff (0.2, 0.4, 0.8, 1.6, 3.2 s ...), and
 * a connection that outlived the cut delivered nothing for up to 3 s after the heal (two netns
 * behind a bridge, and the lab's partition drills: services/raft/README.md). Dropped at the
 * first unanswered ping, it is replaced by a fresh one. A peer whose event loop is held for over
 * 2 s loses its connections too, and gets new ones (Raft resends what was lost); a held loop that
 * long already costs it its leader's heartbeats. A ping is one HTTP/2 frame each way.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.keepalive_time_ms": KEEPALIVE.intervalMs,
  "grpc.keepalive_timeout_ms": KEEPALIVE.timeoutMs,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  "grpc.min_reconnect_backoff_ms": 100,
  "grpc.use_local_subchannel_pool": 1,
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
};

/** Soft cap on the bytes of one frame of ordinary messages. */
const MAX_FRAME_BYTES = 4 << 20;

function estimateBytes(m: raftpb.IMessage): number {
  let n = 64;
  if (m.entries) for (const e of m.entries) n += 24 + (e.data?.length ?? 0);
  return n;
}

type State = "idle" | "open" | "backoff" | "closed";

/** How long a closed peer's stream may take to deliver what was queued before it is cancelled. */
const CLOSE_GRACE_MS = 1000;

/**
 * One of a peer's two long-lived streams, with its own connection, queue and backpressure. Appends
 * go on one, every other message (heartbeats, votes, responses) on the other, as etcd's rafthttp
 * keeps a stream for appends apart from its message stream, each on its own connection: on one
 * stream, a heartbeat waited behind megabytes of appends for longer than an election timeout when
 * the follower was short of CPU, and two streams of one HTTP/2 connection still share its flow-
 * control window and its socket, where a heartbeat's frame queues behind the appends' frames
 * already written. Raft needs no order between the two (the network may reorder anyway); within
 * a lane the order is kept.
 */
interface Lane {
  name: "appends" | "messages";
  /** The lane's own channel (the channel options keep a local subchannel pool: its own connection). */
  client: grpc.Client;
  call: grpc.ClientWritableStream<raftpb.IFrame> | undefined;
  /** Invariant: empty unless the peer is idle/open; bounded by maxQueuedMessages. */
  queue: raftpb.IMessage[];
  flushScheduled: boolean;
  /** The call returned false from write(): wait for 'drain' before writing again. */
  blocked: boolean;
  /** When the current call was opened, until the receiver accepts it (its headers); then undefined. */
  pendingSince: number | undefined;
  /** Replaces the lane's connection if the current call is not accepted in time (see ACCEPT_TIMEOUT_MS). */
  watchdog: TimerHandle | undefined;
}

const newLane = (name: Lane["name"], client: grpc.Client): Lane => ({
  name,
  client,
  call: undefined,
  queue: [],
  flushScheduled: false,
  blocked: false,
  pendingSince: undefined,
  watchdog: undefined,
});

/**
 * How long a lane's stream may wait to be accepted before its connection is replaced. grpc-js
 * sets no connect timeout: a connection attempt made while the peer is cut off waits on TCP's SYN
 * retransmissions (1, 3, 7, 15, 31 s after it began), so after a 30 s partition two netns probes
 * heard each other again only 7.7 s after the heal (services/raft/README.md). A fresh connection
 * sends a fresh SYN. Like the keepalive's 2 s, it also gives up on a peer that is up but whose
 * event loop is held that long; the next attempt succeeds once it is free.
 */
export const ACCEPT_TIMEOUT_MS = 2_000;
/** A message from the peer replaces a lane's connection still unaccepted after this long (heardFrom). */
const HEARD_REPLACE_AFTER_MS = 300;

export class Peer {
  private state: State = "idle";
  private readonly appends: Lane;
  private readonly messages: Lane;
  private retry: TimerHandle | undefined;
  private snapshotCalls = new Set<grpc.ClientWritableStream<raftpb.IFrame>>();
  private nextSnapshotId = 1;
  /** This Peer's lane streams in the order opened, for the receiver (lane-streams.ts). */
  private readonly incarnation = randomBytes(8).toString("hex");
  private streamSeq = 0;
  private readonly log: Logger;

  constructor(
    readonly opts: PeerOptions,
    private readonly modules: PeerModules,
  ) {
    this.log = modules.logger.child({ peer: opts.id, address: opts.address });
    this.appends = newLane("appends", this.newClient());
    this.messages = newLane("messages", this.newClient());
  }

  private newClient(): grpc.Client {
    return new grpc.Client(this.opts.address, this.opts.credentials, { ...CHANNEL_OPTIONS, ...this.opts.channelOptions });
  }

  send(m: Message): void {
    if (this.state === "closed") return;
    if (this.state === "backoff") {
      this.modules.onUnreachable(this.opts.id);
      return;
    }
    const lane = m.type === MessageType.App ? this.appends : this.messages;
    if (lane.queue.length >= this.opts.maxQueuedMessages) {
      this.log.debug({ lane: lane.name, queued: lane.queue.length }, "raft peer queue full; dropping message");
      this.modules.onUnreachable(this.opts.id);
      return;
    }
    lane.queue.push(encodeMessage(m));
    if (!lane.flushScheduled && !lane.blocked) {
      lane.flushScheduled = true;
      // A microtask, not setImmediate: the messages of one transport.send() call (one Ready) still
      // leave in one frame, but the frame is written before the event loop polls again, so an
      // append or an acknowledgement does not wait a whole loop iteration. What accumulates while
      // a write is blocked leaves in one frame on 'drain'.
      queueMicrotask(() => this.flush(lane));
    }
  }

  /** Opens the streams now rather than on the first message, so the first heartbeat is not late. */
  connect(): void {
    if (this.state === "idle") this.open();
  }

  /**
   * The member sent us a message: it is up. A reconnect waiting out its backoff goes now. A member
   * that restarted after being down for seconds would otherwise hear nothing from us until our
   * backoff (up to 2 s) ran out: a leader's heartbeats, and so the member's knowing the leader,
   * came over two election timeouts late, and its API reported no leader meanwhile.
   */
  heardFrom(): void {
    if (this.state === "open") {
      // Its messages get through, so a connection of ours still waiting to be accepted is stuck
      // in TCP's SYN backoff from before a heal: a fresh one gets through now. (Called for every
      // message: the clock is read only while a lane waits.)
      const waiting = [this.appends, this.messages].filter((l) => l.pendingSince !== undefined);
      if (waiting.length === 0) return;
      const now = this.modules.clock.monotonicMs();
      if (waiting.some((l) => now - l.pendingSince! >= HEARD_REPLACE_AFTER_MS)) this.replaceStuck("the peer reaches us");
      return;
    }
    if (this.state !== "backoff") return;
    this.opts.backoff.reset();
    // A channel whose last connect failed fails new calls at once with that error until its own
    // reconnect backoff runs out: a follower that had just restarted dropped its vote for the
    // candidate that woke it this way, and the election waited a whole timeout (1.28 s failovers
    // in 1 of 80). The member is up: a fresh channel connects now.
    const failed = [this.appends, this.messages].filter((l) => l.client.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE);
    this.freshChannels(failed);
    this.reconnect();
  }

  /**
   * Gives every lane whose stream is not accepted yet a new connection (closing the old one, and
   * so a connect stuck in SYN retransmissions), and ends the streams: the peer backs off and opens
   * them again on the new connections.
   */
  private replaceStuck(why: string): void {
    if (this.state !== "open") return;
    const stuck = [this.appends, this.messages].filter((l) => l.call !== undefined && l.pendingSince !== undefined);
    if (stuck.length === 0) return;
    this.log.debug({ lanes: stuck.map((l) => l.name), why }, "raft streams to peer not accepted; replacing their connections");
    const call = stuck[0]!.call!;
    // The lanes get their new channels before the call ends, so the reopen after the backoff uses them.
    this.freshChannels(stuck, () => call.cancel());
  }

  /** Gives each lane a new channel and closes its old one (after `beforeClose`). */
  private freshChannels(lanes: Lane[], beforeClose?: () => void): void {
    if (lanes.length === 0) return;
    const old = lanes.map((l) => l.client);
    for (const l of lanes) l.client = this.newClient();
    this.modules.onConnectionReplaced?.(this.opts.id);
    beforeClose?.();
    for (const c of old) c.close();
  }

  /** Ends a reconnect backoff now (its timer, or a message from the peer) and opens the streams. */
  private reconnect(): void {
    this.retry?.cancel();
    this.retry = undefined;
    if (this.state !== "backoff") return;
    this.state = "idle";
    this.open();
  }

  private flush(lane: Lane): void {
    lane.flushScheduled = false;
    if (this.state === "closed" || this.state === "backoff" || lane.blocked || lane.queue.length === 0) return;
    if (lane.call === undefined) this.open();
    const call = lane.call;
    if (call === undefined) return;
    while (lane.queue.length > 0 && !lane.blocked) {
      // Frames are capped so one burst of large appends does not become one huge gRPC message.
      let n = 0;
      let bytes = 0;
      while (n < lane.queue.length && (n === 0 || bytes < MAX_FRAME_BYTES)) bytes += estimateBytes(lane.queue[n++]!);
      const batch = n === lane.queue.length ? lane.queue : lane.queue.slice(0, n);
      lane.queue = n === lane.queue.length ? [] : lane.queue.slice(n);
      if (!call.write({ messages: batch })) {
        lane.blocked = true;
        call.once("drain", () => {
          if (lane.call !== call) return;
          lane.blocked = false;
          this.flush(lane);
        });
      }
    }
  }

  /** Opens both lanes' streams (those not open yet). */
  private open(): void {
    for (const lane of [this.appends, this.messages]) {
      if (lane.call !== undefined) continue;
      const call = lane.client.makeClientStreamRequest<raftpb.IFrame, raftpb.StreamAck>(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        laneMetadata({ from: this.opts.selfId, lane: lane.name, incarnation: this.incarnation, seq: ++this.streamSeq }),
        (err) => this.onCallEnd(lane, call, err),
      );
      lane.call = call;
      lane.blocked = false;
      lane.pendingSince = this.modules.clock.monotonicMs();
      lane.watchdog?.cancel();
      const acceptMs = this.opts.acceptTimeoutMs ?? ACCEPT_TIMEOUT_MS;
      lane.watchdog = this.modules.clock.setTimeout(() => {
        lane.watchdog = undefined;
        if (lane.call === call && lane.pendingSince !== undefined) this.replaceStuck(`not accepted within ${acceptMs} ms`);
      }, acceptMs);
      // The receiver sends headers as soon as it accepts the stream: that is our "connected".
      call.on("metadata", () => {
        if (lane.call !== call) return;
        lane.pendingSince = undefined;
        lane.watchdog?.cancel();
        lane.watchdog = undefined;
        this.opts.backoff.reset();
        this.modules.onUp(this.opts.id);
      });
    }
    this.state = "open";
  }

  /** Either stream ending ends both: the peer backs off, then opens both again. */
  private onCallEnd(lane: Lane, call: grpc.ClientWritableStream<raftpb.IFrame>, err: grpc.ServiceError | null): void {
    if (lane.call !== call) return;
    if (this.state === "closed") {
      lane.call = undefined;
      return;
    }
    let dropped = 0;
    for (const l of [this.appends, this.messages]) {
      const other = l.call;
      l.call = undefined;
      l.blocked = false;
      l.pendingSince = undefined;
      l.watchdog?.cancel();
      l.watchdog = undefined;
      dropped += l.queue.length;
      l.queue = [];
      // Half-closed, not cancelled: cancelling the other stream from this one's status callback
      // never returned (grpc-js), and the receiver ends a half-closed stream by itself.
      if (other !== undefined && other !== call) other.end();
    }
    const delayMs = this.opts.backoff.next();
    this.state = "backoff";
    this.log.debug({ lane: lane.name, err: err ? describeError(err) : "stream ended", dropped, delayMs }, "raft stream to peer lost; reconnecting");
    this.modules.onUnreachable(this.opts.id);
    // grpc-js keeps the socket error only as text in the status details.
    if (err?.code === grpc.status.UNAVAILABLE && err.details.includes("ECONNREFUSED")) this.modules.onDown(this.opts.id);
    // Still reconnects: the driver decides what being removed means (it reports it; the peer
    // keeps refusing, at the backoff's pace).
    if (err?.code === grpc.status.FAILED_PRECONDITION && err.details.startsWith(MEMBER_REMOVED)) this.modules.onRemoved(this.opts.id);
    this.retry = this.modules.clock.setTimeout(() => this.reconnect(), delayMs);
  }

  /**
   * Sends a MsgSnap on its own stream, on the appends' connection: appends are not stuck behind its
   * data (a stream of its own), nor heartbeats (a connection of their own).
   */
  sendSnapshot(m: Message): void {
    if (this.state === "closed") return;
    const snap = m.snapshot;
    if (snap === undefined) return;
    const id = this.nextSnapshotId++;
    const data = snap.data;
    let settled = false;
    let ended!: () => void;
    const endedP = new Promise<void>((r) => (ended = r));
    const call = this.appends.client.makeClientStreamRequest<raftpb.IFrame, raftpb.StreamAck>(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      (err) => {
        this.snapshotCalls.delete(call);
        ended();
        if (settled) return;
        settled = true;
        if (err) this.log.debug({ err: describeError(err), index: snap.metadata.index }, "raft snapshot send failed");
        else this.log.debug({ index: snap.metadata.index, bytes: data.length }, "raft snapshot sent");
        this.modules.onSnapshotStatus(this.opts.id, err === null);
      },
    );
    this.snapshotCalls.add(call);
    const chunkBytes = this.opts.snapshotChunkBytes;
    const write = async (): Promise<void> => {
      let offset = 0;
      do {
        const end = Math.min(data.length, offset + chunkBytes);
        const chunk: NonNullable<raftpb.IFrame["chunk"]> = {
          snapshotId: id,
          offset,
          totalSize: data.length,
          data: data.subarray(offset, end),
          last: end === data.length,
        };
        if (offset === 0) chunk.message = encodeMessage(m);
        offset = end;
        if (!call.write({ chunk })) {
          await Promise.race([new Promise<void>((r) => call.once("drain", () => r())), endedP]);
        }
        if (settled) return;
      } while (offset < data.length);
      call.end();
    };
    void write();
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.retry?.cancel();
    for (const lane of [this.appends, this.messages]) {
      const call = lane.call;
      lane.call = undefined;
      lane.watchdog?.cancel();
      lane.watchdog = undefined;
      if (call !== undefined) {
        // What is still queued (a stopping leader's last commit notices) leaves before the stream
        // half-closes; a peer that never answers the close is cut off after a grace period.
        if (lane.queue.length > 0 && !lane.blocked) call.write({ messages: lane.queue });
        call.end();
        setTimeout(() => call.cancel(), CLOSE_GRACE_MS).unref();
      }
      lane.queue = [];
    }
    for (const c of this.snapshotCalls) c.cancel();
    this.appends.client.close();
    this.messages.client.close();
  }
}
