import { strict as assert } from "node:assert";
import { FakeClock } from "@shoal/common";
import { watchSession, type WatchedSession } from "../../src/transport/session-watch.js";

/** A session whose pings are answered only when the test says so. */
class FakeSession implements WatchedSession {
  destroyed = false;
  pings = 0;
  /** Callbacks of the pings sent and not yet answered. */
  pending: Array<(err: Error | null) => void> = [];
  /** What ping() returns (false: Node's limit of outstanding pings was reached). */
  accept = true;
  private closeListeners: Array<() => void> = [];

  ping(cb: (err: Error | null, durationMs: number, payload: Buffer) => void): boolean {
    if (this.destroyed) throw new Error("session destroyed");
    if (!this.accept) return false;
    this.pings++;
    this.pending.push((err) => cb(err, 1, Buffer.alloc(8)));
    return true;
  }

  answer(): void {
    for (const cb of this.pending.splice(0)) cb(null);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const l of this.closeListeners.splice(0)) l();
  }

  once(_event: "close", listener: () => void): void {
    this.closeListeners.push(listener);
  }
}

describe("watchSession: the receiving side's keepalive", () => {
  let clock: FakeClock;
  let session: FakeSession;
  let deferred: Array<() => void>;
  let dead: number;
  const start = (): (() => void) =>
    watchSession(session, {
      intervalMs: 1000,
      timeoutMs: 2000,
      clock,
      afterPendingInput: (fn) => void deferred.push(fn),
      onDead: () => void dead++,
    });
  const runDeferred = (): void => {
    for (const fn of deferred.splice(0)) fn();
  };

  beforeEach(() => {
    clock = new FakeClock();
    session = new FakeSession();
    deferred = [];
    dead = 0;
  });

  it("pings an interval after each answer, and keeps a session that answers", () => {
    start();
    clock.advance(999);
    assert.equal(session.pings, 0);
    clock.advance(1);
    assert.equal(session.pings, 1);
    for (let i = 0; i < 5; i++) {
      clock.advance(500);
      session.answer();
      clock.advance(1000);
      runDeferred();
    }
    assert.equal(session.pings, 6);
    assert.equal(session.destroyed, false);
    assert.equal(dead, 0);
  });

  it("closes the session when a ping goes unanswered for the timeout", () => {
    start();
    clock.advance(1000);
    clock.advance(1999);
    runDeferred();
    assert.equal(session.destroyed, false);
    clock.advance(1);
    assert.equal(session.destroyed, false, "the check waits for the input already waiting to be read");
    runDeferred();
    assert.equal(session.destroyed, true);
    assert.equal(dead, 1);
    clock.advance(10_000);
    assert.equal(session.pings, 1, "no ping after the close");
  });

  it("keeps a session whose answer was waiting to be read when a late timeout fired (its own loop was held)", () => {
    start();
    clock.advance(1000);
    clock.advance(2000);
    // The answer is read in the same turn of the loop, before the deferred check runs.
    session.answer();
    runDeferred();
    assert.equal(session.destroyed, false);
    assert.equal(dead, 0);
    clock.advance(1000);
    assert.equal(session.pings, 2, "pinging goes on");
  });

  it("stops when the session closes, and when told to, without closing it", () => {
    start();
    clock.advance(1000);
    session.destroy();
    clock.advance(10_000);
    runDeferred();
    assert.equal(dead, 0);
    assert.equal(session.pings, 1);

    session = new FakeSession();
    const stop = start();
    clock.advance(1000);
    stop();
    clock.advance(10_000);
    runDeferred();
    assert.equal(session.destroyed, false);
    assert.equal(session.pings, 1);
  });

  it("asks again after an interval when Node refuses the ping (too many outstanding)", () => {
    session.accept = false;
    start();
    clock.advance(1000);
    clock.advance(5000);
    runDeferred();
    assert.equal(session.destroyed, false);
    session.accept = true;
    clock.advance(1000);
    assert.equal(session.pings, 1);
  });
});
