// The narrow interface the Raft driver uses to talk to its peers. It owns nothing but the shape:
// implementations (GrpcTransport, in-memory fakes in tests) decide how bytes move.
import type { Message, NodeId } from "../core/types.js";

export interface RaftTransport {
  /** Starts listening; resolves once peers can connect. */
  start(opts?: { signal?: AbortSignal }): Promise<void>;
  /** Closes the listener and every peer stream. Idempotent. */
  stop(): Promise<void>;
  /** Never blocks and never throws for an unreachable peer: such messages are dropped and reported. */
  send(messages: Message[]): void;
  addPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
  /**
   * Every message received from a peer (snapshots arrive whole, data reassembled). A handler that
   * throws RAFT_MEMBER_REMOVED (the sender's id is retired) has the sender told so (onRemoved there).
   */
  onMessage(handler: (m: Message) => void): void;
  /** A peer could not be reached or a message to it was dropped; the driver tells the core. */
  onUnreachable(handler: (id: NodeId) => void): void;
  /**
   * Optional: `id`'s address refuses connections (nothing listens there: its process is gone, while
   * its host answers). Stronger than unreachable, which a full queue or a slow link also causes;
   * the driver tells the core (RawNode.reportLeaderDown), which acts only if `id` is its leader.
   */
  onDown?(handler: (id: NodeId) => void): void;
  /** Optional: a stream to `id` was accepted (after onDown: it listens again). */
  onUp?(handler: (id: NodeId) => void): void;
  /**
   * Optional: `id` has a stream open into this member now. A peer whose address refuses us while
   * its own connection stays open is alive, and blocked one way (a firewall rule that rejects).
   */
  receiving?(id: NodeId): boolean;
  /** Outcome of sending a MsgSnap to `id`; the driver calls RawNode.reportSnapshot. */
  onSnapshotStatus(handler: (id: NodeId, ok: boolean) => void): void;
  /**
   * Peer `id` refused this member's messages because it has this member's id among the removed
   * ones: the message handler of that peer threw RAFT_MEMBER_REMOVED (see onMessage).
   */
  onRemoved(handler: (by: NodeId) => void): void;
}
