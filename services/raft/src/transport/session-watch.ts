// The receiving side's keepalive for connections that carry raft streams.
//
// A sender's channel pings its connection every second and drops it at the first ping not
// answered within 2 s (CHANNEL_OPTIONS in peer.ts). The receiver had no such check: grpc-js's
// server pings nobody unless told to, for every service on it. So a connection cut by a partition
// stayed open on the receiving side for as long as the partition lasted, and what the sender had
// written into it before the cut, stuck in TCP's retransmission queue, was delivered after the
// heal, seconds late, even when the sender had died meanwhile and never opened a newer stream to
// supersede it (lane-streams.ts). The receiver counted it as a sign of life.
//
// Now each HTTP/2 connection a raft stream arrives on is pinged by the receiver too, on the same
// terms, and closed at the first ping not answered in time: everything on it ends, and whatever
// the old connection still carries is refused by the kernel instead of delivered. Only those
// connections are watched, not every connection to a shared server (workers' dispatcher streams
// keep their own terms). A ping is one HTTP/2 frame each way.
import type { Clock, TimerHandle } from "@shoal/common";

/** What is used of a node:http2 session (the one a server call arrived on: sessionOfCall). */
export interface WatchedSession {
  readonly destroyed?: boolean;
  ping(callback: (err: Error | null, durationMs: number, payload: Buffer) => void): boolean;
  destroy(): void;
  once(event: "close", listener: () => void): unknown;
}

export interface SessionWatchOptions {
  /** Time between a ping's answer and the next ping (1 s, as the senders' keepalive). */
  intervalMs: number;
  /** How long a ping may go unanswered before the connection is closed (2 s, as the senders'). */
  timeoutMs: number;
  clock: Clock;
  /**
   * Runs a check after the input already waiting has been read (setImmediate in production): a
   * timeout that fired late because this process's event loop was held must not close a
   * connection whose answer is waiting in the socket.
   */
  afterPendingInput: (fn: () => void) => void;
  /** The session was closed because a ping went unanswered. */
  onDead: () => void;
}

/**
 * Pings `session` every `intervalMs` after the last answer; closes it when a ping is not answered
 * within `timeoutMs`. Stops by itself when the session closes; the returned function stops it
 * without closing anything.
 */
export function watchSession(session: WatchedSession, opts: SessionWatchOptions): () => void {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    timer?.cancel();
    timer = undefined;
  };
  const schedule = (ms: number, fn: () => void): void => {
    timer?.cancel();
    timer = opts.clock.setTimeout(fn, ms);
  };
  const ping = (): void => {
    if (stopped) return;
    if (session.destroyed === true) return stop();
    let answered = false;
    let sent: boolean;
    try {
      sent = session.ping((err) => {
        if (answered || stopped) return;
        answered = true;
        // An error means the session is going away; its "close" stops the watch.
        if (err === null) schedule(opts.intervalMs, ping);
      });
    } catch {
      // The session is closing (ping on a destroyed session throws).
      return stop();
    }
    // Too many pings outstanding (Node's limit): ask again after the interval.
    if (!sent) return schedule(opts.intervalMs, ping);
    schedule(opts.timeoutMs, () => {
      opts.afterPendingInput(() => {
        if (answered || stopped) return;
        stop();
        opts.onDead();
        session.destroy();
      });
    });
  };
  session.once("close", stop);
  schedule(opts.intervalMs, ping);
  return stop;
}
