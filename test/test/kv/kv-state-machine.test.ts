import assert from "node:assert/strict";
import { EntryType } from "@shoal/raft";
import { decodePut, encodePut, KvStateMachine } from "../../src/kv/kv-state-machine.js";

const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");
const entry = (index: number, key: string, value: string) => ({ term: 1, index, type: EntryType.Normal, data: encodePut(enc(key), enc(value)) });

describe("KV state machine of the Raft harness", () => {
  it("round-trips a put entry, including empty and binary keys", () => {
    for (const [k, v] of [
      [Uint8Array.of(), Uint8Array.of(1)],
      [Uint8Array.of(0, 255, 7), Uint8Array.of()],
    ] as const) {
      const d = decodePut(encodePut(k, v));
      assert.deepEqual([...d.key], [...k]);
      assert.deepEqual([...d.value], [...v]);
    }
    assert.throws(() => decodePut(Uint8Array.of(0, 0, 0, 9, 1)), /runs past/);
  });

  it("tracks revision as the applied index and versions per key", () => {
    const sm = new KvStateMachine();
    sm.apply(entry(3, "a", "1"));
    sm.apply(entry(4, "a", "2"));
    sm.apply(entry(7, "b", "x"));
    assert.equal(sm.revision, 7);
    const a = sm.get(enc("a"))!;
    assert.deepEqual([Buffer.from(a.value).toString(), a.createRevision, a.modRevision, a.version], ["2", 3, 4, 2]);
  });

  it("restores exactly the snapshotted map and revision, and replaces prior state", () => {
    const sm = new KvStateMachine();
    sm.apply(entry(1, "a", "1"));
    sm.apply(entry(2, "\u00ffz", "2"));
    const snap = sm.snapshot();
    const other = new KvStateMachine();
    other.apply(entry(1, "stale", "s"));
    other.restore(snap);
    assert.equal(other.revision, 2);
    assert.equal(other.get(enc("stale")), undefined);
    assert.deepEqual(other.range(enc("a"), Uint8Array.of(0), 0).map((r) => Buffer.from(r.key).toString()), ["a", "\u00ffz"]);
    assert.throws(() => other.restore(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)), /bad magic/);
  });

  it("ranges [key, rangeEnd) in byte order with a limit", () => {
    const sm = new KvStateMachine();
    ["d/2", "d/1", "e", "c"].forEach((k, i) => sm.apply(entry(i + 1, k, k)));
    const keys = (end: string, limit = 0): string[] => sm.range(enc("d/"), enc(end), limit).map((r) => Buffer.from(r.key).toString());
    assert.deepEqual(keys("d0"), ["d/1", "d/2"]);
    assert.deepEqual(keys("d0", 1), ["d/1"]);
  });
});
