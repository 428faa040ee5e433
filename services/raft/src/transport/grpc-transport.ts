// Raft messages between members over gRPC (raftServiceDefinition: client-streaming Stream(Frame)).
//
// Owns: the listening server, the set of peers and the dispatch of incoming frames. Each peer has
// two long-lived outgoing streams (appends and other messages, see peer.ts); the receiver steps
// every message of a frame, whichever stream it came on, and
// reassembles snapshots from chunks. TLS credentials come from the caller; without them the
// transport is insecure (tests only). It knows nothing of the Raft state: the driver decides.
//
// A manager serves raft, CA, control and dispatcher on one port: given `server`, the transport only
// registers its service there and never binds, shuts down or owns that server.
import * as grpc from "@grpc/grpc-js";
import type { Http2Session } from "node:http2";
import type { PeerCertificate } from "node:tls";
import { Backoff, describeError, systemClock, type BackoffOptions, type Clock, type Logger, type Random } from "@shoal/common";
import { raftServiceDefinition, raftpb, sessionOfCall, widenReceiveWindow } from "@shoal/proto";
import { RaftError } from "../core/errors.js";
import { MessageType, type Message, type NodeId } from "../core/types.js";
import { decodeMessage } from "./codec.js";
import { KEEPALIVE, MEMBER_REMOVED, Peer, SUPERSEDED } from "./peer.js";
import { LaneStreams, readLaneMetadata, type LaneEntry, type LaneStreamId } from "./lane-streams.js";
import { SnapshotAssembler } from "./snapshot-assembler.js";
import { watchSession, type WatchedSession } from "./session-watch.js";
import type { RaftTransport } from "./transport.js";

export interface TransportTls {
  /** Required unless the transport is given a shared `server` (whose owner chose its credentials). */
  server?: grpc.ServerCredentials;
  client: grpc.ChannelCredentials;
}

export interface GrpcTransportOptions {
  id: NodeId;
  /**
   * host:port; port 0 picks a free port (see address()). With `server`, nothing is bound here:
   * it is the address peers reach the shared server at, returned as is by address().
   */
  listen: string;
  /** TLS for the listener (unused with `server`: its owner chose its credentials) and peer channels. */
  tls?: TransportTls;
  /**
   * A server owned by the caller (one port for every manager service): start() registers the raft
   * service on it and does not bind; stop() closes peer streams and unregisters, but leaves the
   * server running for its owner to shut down.
   */
  server?: grpc.Server;
  /**
   * Merged into every peer channel's options, over ours (e.g. `grpc.ssl_target_name_override:
   * "shoal-manager"`, so certificates that name the role verify at any manager address).
   */
  channelOptions?: grpc.ChannelOptions;
  /** Messages waiting per peer before new ones are dropped (default 4096). */
  maxQueuedMessages?: number;
  /** Snapshot data per chunk frame (default 1 MiB). */
  snapshotChunkBytes?: number;
  /** Largest snapshot accepted from a peer (default 4 GiB - 1). */
  maxSnapshotBytes?: number;
  /** Reconnect pacing (default 50 ms doubling to 2 s). */
  backoff?: BackoffOptions;
  /** How long a stream to a peer may wait to be accepted before its connection is replaced (default 2 s, peer.ts). */
  acceptTimeoutMs?: number;
  /**
   * The receiving side's keepalive on each connection a raft stream arrives on (session-watch.ts):
   * a ping `intervalMs` after the last answer, the connection closed when one is not answered
   * within `timeoutMs`. Default 1 s and 2 s, the senders' terms; false turns it off.
   */
  receiverKeepalive?: { intervalMs: number; timeoutMs: number } | false;
  /**
   * Checks each incoming stream's caller (e.g. that its certificate's OU is shoal-manager: a worker
   * must not speak Raft). Refused streams end with PERMISSION_DENIED. Default: every caller the
   * TLS handshake accepted.
   */
  authorize?: (peer: { certificate: PeerCertificate | undefined; address: string }) => boolean;
}

/** Counters for tests and metrics. */
export interface TransportStats {
  framesReceived: number;
  messagesReceived: number;
  snapshotsReceived: number;
  /** Incoming streams on a connection whose receive window was widened (widenReceiveWindow). */
  wideStreams: number;
  /** Distinct HTTP/2 connections incoming streams arrived on (a peer opens two: appends, messages). */
  connections: number;
  /** Incoming streams ended or refused because their sender had opened a newer one on the lane (lane-streams.ts). */
  streamsSuperseded: number;
  /** Times a peer's lanes got new channels: a stream not accepted in time, or a channel still in its reconnect backoff when the peer reached us (peer.ts). */
  connectionsReplaced: number;
  /** Incoming connections closed because a ping on them went unanswered (session-watch.ts). */
  connectionsDropped: number;
}

export interface GrpcTransportModules {
  logger: Logger;
  clock?: Clock;
  random?: Random;
}

const NOOP = (): void => {};

export class GrpcTransport implements RaftTransport {
  private readonly log: Logger;
  private readonly clock: Clock;
  private server: grpc.Server | undefined;
  /** True when `server` is ours (bound in start, shut down in stop). */
  private ownsServer = false;
  private boundPort = 0;
  /** Incoming streams being served; ended by stop() when the server is shared and keeps running. */
  private readonly incoming = new Set<() => void>();
  private readonly peers = new Map<NodeId, Peer>();
  /** The current incoming stream per sender and lane. */
  private readonly lanes = new LaneStreams();
  private messageHandler: (m: Message) => void = NOOP;
  private unreachableHandler: (id: NodeId) => void = NOOP;
  private downHandler: (id: NodeId) => void = NOOP;
  private upHandler: (id: NodeId) => void = NOOP;
  private snapshotHandler: (id: NodeId, ok: boolean) => void = NOOP;
  private removedHandler: (by: NodeId) => void = NOOP;
  private stopped = false;
  private readonly counters: TransportStats = { framesReceived: 0, messagesReceived: 0, snapshotsReceived: 0, wideStreams: 0, connections: 0, streamsSuperseded: 0, connectionsReplaced: 0, connectionsDropped: 0 };
  private readonly sessionsSeen = new WeakSet<object>();
  /** Stops the keepalive of each incoming connection being watched (session-watch.ts). */
  private readonly watches = new Set<() => void>();

  constructor(
    private readonly opts: GrpcTransportOptions,
    private readonly modules: GrpcTransportModules,
  ) {
    this.log = modules.logger.child({ component: "raft-transport", id: opts.id });
    this.clock = modules.clock ?? systemClock;
  }

  onMessage(handler: (m: Message) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (id: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  onDown(handler: (id: NodeId) => void): void {
    this.downHandler = handler;
  }

  onUp(handler: (id: NodeId) => void): void {
    this.upHandler = handler;
  }

  onSnapshotStatus(handler: (id: NodeId, ok: boolean) => void): void {
    this.snapshotHandler = handler;
  }

  receiving(id: NodeId): boolean {
    return this.lanes.hasFrom(id);
  }

  onRemoved(handler: (by: NodeId) => void): void {
    this.removedHandler = handler;
  }

  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const shared = this.opts.server;
    const server = shared ?? new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
    server.addService(raftServiceDefinition, {
      stream: (call: grpc.ServerReadableStream<raftpb.Frame, raftpb.StreamAck>, cb: grpc.sendUnaryData<raftpb.StreamAck>) =>
        this.handleStream(call, cb),
    });
    if (shared !== undefined) {
      this.server = shared;
      this.log.debug({ address: this.address() }, "raft service registered on the shared server");
      return;
    }
    if (this.opts.tls !== undefined && this.opts.tls.server === undefined) {
      // Listening in the clear while the caller believes it configured TLS would be worse than failing.
      throw new RaftError("RAFT_INVALID_ARGUMENT", "raft transport: tls.server credentials are required unless a shared server is given");
    }
    const creds = this.opts.tls?.server ?? grpc.ServerCredentials.createInsecure();
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.opts.listen, creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.server = server;
    this.ownsServer = true;
    this.log.debug({ listen: this.address() }, "raft transport listening");
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  /** The address peers reach us at (the bound port when listen asked for port 0; `listen` with a shared server). */
  address(): string {
    if (this.opts.server !== undefined) return this.opts.listen;
    const i = this.opts.listen.lastIndexOf(":");
    return `${this.opts.listen.slice(0, i)}:${this.boundPort}`;
  }

  addPeer(id: NodeId, address: string): void {
    if (this.stopped || id === this.opts.id) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.opts.address === address) return;
      existing.close();
    }
    const random = this.modules.random;
    const peer = new Peer(
      {
        selfId: this.opts.id,
        id,
        address,
        credentials: this.opts.tls?.client ?? grpc.credentials.createInsecure(),
        channelOptions: this.opts.channelOptions ?? {},
        maxQueuedMessages: this.opts.maxQueuedMessages ?? 4096,
        snapshotChunkBytes: this.opts.snapshotChunkBytes ?? 1 << 20,
        backoff: new Backoff(this.opts.backoff ?? { initialMs: 50, maxMs: 2000 }, random ? () => random.next() : undefined),
        ...(this.opts.acceptTimeoutMs !== undefined ? { acceptTimeoutMs: this.opts.acceptTimeoutMs } : {}),
      },
      {
        logger: this.log,
        clock: this.clock,
        onUnreachable: (p) => this.unreachableHandler(p),
        onDown: (p) => this.downHandler(p),
        onUp: (p) => this.upHandler(p),
        onConnectionReplaced: () => void this.counters.connectionsReplaced++,
        onSnapshotStatus: (p, ok) => this.snapshotHandler(p, ok),
        onRemoved: (p) => this.removedHandler(p),
      },
    );
    this.peers.set(id, peer);
    peer.connect();
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.close();
  }

  send(messages: Message[]): void {
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        // Not an error: a member can be removed while messages to it are still in a Ready.
        if (!this.stopped) this.log.debug({ to: m.to, type: m.type }, "raft message to unknown peer dropped");
        continue;
      }
      if (m.type === MessageType.Snap) peer.sendSnapshot(m);
      else peer.send(m);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const stop of [...this.watches]) stop();
    this.watches.clear();
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    if (this.ownsServer) {
      // Peers' streams never end on their own: waiting for them (tryShutdown) would hang.
      server.forceShutdown();
      return;
    }
    // The shared server keeps serving its other services: only raft goes away, and the peers'
    // streams into it end so that they reconnect elsewhere or find us gone.
    server.removeService(raftServiceDefinition);
    for (const end of [...this.incoming]) end();
  }

  /** Starts the receiving side's keepalive on a connection raft streams arrive on (session-watch.ts). */
  private watch(session: Partial<Http2Session>, address: string): void {
    // The senders' own terms by default (KEEPALIVE, peer.ts).
    const terms = this.opts.receiverKeepalive ?? KEEPALIVE;
    if (terms === false || typeof session.ping !== "function" || typeof session.destroy !== "function" || typeof session.once !== "function") return;
    const stop = watchSession(session as WatchedSession, {
      ...terms,
      clock: this.clock,
      afterPendingInput: (fn) => setImmediate(fn),
      onDead: () => {
        this.counters.connectionsDropped++;
        this.log.info({ peer: address, timeoutMs: terms.timeoutMs }, "raft connection from a peer closed: its ping went unanswered (partitioned, or the peer is gone)");
      },
    });
    this.watches.add(stop);
    session.once("close", () => this.watches.delete(stop));
  }

  private handleStream(call: grpc.ServerReadableStream<raftpb.Frame, raftpb.StreamAck>, cb: grpc.sendUnaryData<raftpb.StreamAck>): void {
    if (this.stopped) {
      cb({ code: grpc.status.UNAVAILABLE, details: "raft transport is stopped" });
      return;
    }
    const authorize = this.opts.authorize;
    if (authorize !== undefined && !authorize({ certificate: call.getAuthContext().sslPeerCertificate, address: call.getPeer() })) {
      this.log.warn({ peer: call.getPeer() }, "raft stream refused: caller not authorized");
      cb({ code: grpc.status.PERMISSION_DENIED, details: "not authorized to speak raft" });
      return;
    }
    // Appends of thousands of store actions are megabytes: with HTTP/2's default 64 KiB window
    // they crossed 64 KiB per turn of a loaded member's event loop, and the heartbeats behind
    // them arrived after an election timeout.
    if (widenReceiveWindow(call)) this.counters.wideStreams++;
    const session = sessionOfCall(call);
    if (session !== undefined && !this.sessionsSeen.has(session)) {
      this.sessionsSeen.add(session);
      this.counters.connections++;
      this.watch(session, call.getPeer());
    }
    // Which sender and lane the stream is, and whether the sender has opened a newer one since
    // (lane-streams.ts): a stream from a connection the sender gave up is refused before it is
    // accepted, and what arrives on it is never delivered.
    let laneId: LaneStreamId | undefined;
    try {
      laneId = readLaneMetadata(call.metadata);
    } catch (err) {
      this.log.debug({ err: describeError(err) }, "raft stream rejected");
      cb({ code: grpc.status.INVALID_ARGUMENT, details: describeError(err) });
      return;
    }
    let frames = 0;
    let done = false;
    let lane: LaneEntry | undefined;
    const finish = (): void => {
      done = true;
      this.incoming.delete(end);
      if (lane !== undefined) this.lanes.closed(lane);
    };
    const end = (): void => {
      if (done) return;
      finish();
      cb({ code: grpc.status.UNAVAILABLE, details: "raft transport stopped" });
    };
    if (laneId !== undefined) {
      const id = laneId;
      lane = this.lanes.open(id, () => {
        if (done) return;
        finish();
        this.counters.streamsSuperseded++;
        this.log.debug({ peer: id.from, lane: id.lane, frames }, "raft stream from a peer ended: the peer opened a newer one on this lane");
        cb({ code: grpc.status.ABORTED, details: SUPERSEDED });
      });
      if (lane === undefined) {
        this.counters.streamsSuperseded++;
        this.log.debug({ peer: id.from, lane: id.lane }, "raft stream from a peer refused: the peer has opened a newer one on this lane");
        cb({ code: grpc.status.ABORTED, details: SUPERSEDED });
        return;
      }
    }
    // Headers now tell the sender its stream is accepted (it resets its reconnect backoff).
    call.sendMetadata(new grpc.Metadata());
    const assembler = new SnapshotAssembler(this.opts.maxSnapshotBytes ?? 0xffff_ffff);
    this.incoming.add(end);
    const fail = (err: unknown): void => {
      if (done) return;
      finish();
      this.log.debug({ err: describeError(err) }, "raft stream rejected");
      // The sender's id is retired: it is told so, with a status of its own (peer.ts).
      if (err instanceof RaftError && err.code === "RAFT_MEMBER_REMOVED") cb({ code: grpc.status.FAILED_PRECONDITION, details: `${MEMBER_REMOVED}: ${err.message}` });
      else cb({ code: grpc.status.INVALID_ARGUMENT, details: describeError(err) });
    };
    const expectFrom = laneId?.from;
    call.on("data", (frame: raftpb.Frame) => {
      if (done) return;
      frames++;
      this.counters.framesReceived++;
      try {
        for (const pm of frame.messages) this.deliver(decodeMessage(pm), expectFrom);
        if (frame.chunk) {
          const m = assembler.add(frame.chunk);
          if (m !== undefined) {
            this.counters.snapshotsReceived++;
            this.deliver(m, expectFrom);
          }
        }
      } catch (err) {
        fail(err);
      }
    });
    call.on("end", () => {
      if (done) return;
      finish();
      cb(null, raftpb.StreamAck.create({ frames }));
    });
    // The sender went away (its process died, its connection closed) or cancelled; it reconnects
    // on its own. grpc-js 1.14 ends such a stream ("end" above) and then reports it cancelled,
    // not as an error: the stream stops being current on whichever comes.
    call.on("error", finish);
    call.on("cancelled", finish);
  }

  private deliver(m: Message, expectFrom: NodeId | undefined): void {
    if (m.to !== this.opts.id) throw new RaftError("RAFT_INVALID_ARGUMENT", `message for ${m.to} delivered to ${this.opts.id}`);
    if (expectFrom !== undefined && m.from !== expectFrom) throw new RaftError("RAFT_INVALID_ARGUMENT", `message from ${m.from} on a stream opened by ${expectFrom}`);
    this.counters.messagesReceived++;
    this.messageHandler(m);
    this.peers.get(m.from)?.heardFrom();
  }
}
