import { strict as assert } from "node:assert";
import { raftpb } from "@shoal/proto";
import { decodeMessage, encodeMessage } from "../../src/transport/codec.js";
import { EntryType, MessageType, type Message } from "../../src/core/types.js";
import { msg } from "./helpers.js";

function wire(m: Message): Message {
  const bytes = raftpb.Message.encode(encodeMessage(m)).finish();
  return decodeMessage(raftpb.Message.decode(bytes));
}

describe("transport codec", () => {
  it("round-trips a message with entries, context and 53-bit numbers unchanged", () => {
    const m = msg(3, 9, {
      type: MessageType.App,
      term: 2 ** 53 - 1,
      logTerm: 7,
      index: 123_456_789_012,
      commit: 99,
      reject: true,
      rejectHint: 42,
      context: new Uint8Array([1, 2, 3]),
      entries: [
        { term: 7, index: 123_456_789_013, type: EntryType.Normal, data: new Uint8Array([9, 8]) },
        { term: 7, index: 123_456_789_014, type: EntryType.ConfChange, data: new Uint8Array(0) },
      ],
    });
    const back = wire(m);
    assert.deepEqual(
      { ...back, entries: back.entries.map((e) => ({ ...e, data: [...e.data] })), context: [...back.context!] },
      { ...m, entries: m.entries.map((e) => ({ ...e, data: [...e.data] })), context: [1, 2, 3] },
    );
  });

  it("round-trips zero-valued fields as zeros on plain objects (no prototype defaults)", () => {
    const back = wire(msg(1, 2, { type: MessageType.Hup, term: 0 }));
    assert.deepEqual({ ...back }, { ...msg(1, 2, { type: MessageType.Hup, term: 0 }) });
    assert.ok(Object.prototype.hasOwnProperty.call(back, "term"));
    assert.equal(back.context, undefined);
    assert.equal(back.snapshot, undefined);
  });

  it("carries snapshot metadata but strips snapshot data (data travels in chunks)", () => {
    const m = msg(1, 2, {
      type: MessageType.Snap,
      snapshot: { metadata: { index: 50, term: 3, confState: { voters: [1, 2], learners: [4], removed: [3] } }, data: new Uint8Array(10) },
    });
    const back = wire(m);
    assert.deepEqual(back.snapshot!.metadata, m.snapshot!.metadata);
    assert.equal(back.snapshot!.data.length, 0);
    assert.equal(m.snapshot!.data.length, 10, "the sender's message is not modified");
  });
});
