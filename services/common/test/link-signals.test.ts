// linkSignals: the linked signal aborts with whichever source aborts first, and unlink() leaves no
// listener on the sources (the point of not using AbortSignal.any on Node 20).
import { strict as assert } from "node:assert";
import { getEventListeners } from "node:events";
import { linkSignals } from "../src/index.js";

describe("common: linkSignals", () => {
  it("aborts with the first source to abort, with its reason", () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = linkSignals(a.signal, b.signal);
    assert.equal(link.signal.aborted, false);
    b.abort("deadline");
    assert.equal(link.signal.aborted, true);
    assert.equal(link.signal.reason, "deadline");
    a.abort("caller");
    assert.equal(link.signal.reason, "deadline");
    link.unlink();
  });

  it("starts aborted when a source already is", () => {
    const a = new AbortController();
    a.abort("gone");
    const link = linkSignals(a.signal, new AbortController().signal);
    assert.equal(link.signal.aborted, true);
    assert.equal(link.signal.reason, "gone");
  });

  it("leaves no listener on a long-lived source once unlinked, however many operations used it", () => {
    const lifetime = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const deadline = new AbortController();
      const link = linkSignals(lifetime.signal, deadline.signal);
      link.unlink();
      assert.equal(getEventListeners(deadline.signal, "abort").length, 0);
    }
    assert.equal(getEventListeners(lifetime.signal, "abort").length, 0);
    // Unlinked, a later abort of the source no longer reaches an old linked signal.
    const link = linkSignals(lifetime.signal, new AbortController().signal);
    link.unlink();
    lifetime.abort("stop");
    assert.equal(link.signal.aborted, false);
  });

  it("returns the second signal itself when there is no first", () => {
    const b = new AbortController();
    const link = linkSignals(undefined, b.signal);
    assert.equal(link.signal, b.signal);
    link.unlink();
  });
});
