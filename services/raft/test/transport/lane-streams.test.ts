import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { raftServiceDefinition, raftpb } from "@shoal/proto";
import { MessageType } from "../../src/core/types.js";
import { encodeMessage } from "../../src/transport/codec.js";
import { LaneStreams, laneMetadata, readLaneMetadata, type LaneStreamId } from "../../src/transport/lane-streams.js";
import { SUPERSEDED } from "../../src/transport/peer.js";
import { msg, startTransport, waitFor, type Harness } from "./helpers.js";

const id = (seq: number, over: Partial<LaneStreamId> = {}): LaneStreamId => ({ from: 1, lane: "messages", incarnation: "aa", seq, ...over });

describe("LaneStreams: the receiver's current stream per sender and lane", () => {
  it("lets a newer stream replace the current one, superseding it after it stops being current", () => {
    const lanes = new LaneStreams();
    const ended: string[] = [];
    const first = lanes.open(id(1), () => ended.push("first"));
    assert.ok(first);
    const second = lanes.open(id(2), () => ended.push("second"));
    assert.ok(second);
    assert.deepEqual(ended, ["first"]);
    // The superseded stream's own close comes after: it must not unregister its successor.
    lanes.closed(first);
    assert.equal(lanes.size(), 1);
    lanes.closed(second);
    assert.equal(lanes.size(), 0);
  });

  it("refuses a stream older than the current one from the same incarnation, and changes nothing", () => {
    const lanes = new LaneStreams();
    const ended: string[] = [];
    const current = lanes.open(id(5), () => ended.push("current"));
    assert.ok(lanes.hasFrom(1));
    assert.equal(lanes.hasFrom(2), false);
    assert.equal(lanes.open(id(4), () => ended.push("old")), undefined);
    assert.equal(lanes.open(id(5), () => ended.push("again")), undefined);
    assert.equal(ended.length, 0);
    lanes.closed(current!);
    assert.equal(lanes.size(), 0);
    assert.equal(lanes.hasFrom(1), false);
  });

  it("keeps lanes and senders apart, and lets another incarnation (a restarted sender) replace the current stream", () => {
    const lanes = new LaneStreams();
    const ended: string[] = [];
    lanes.open(id(9), () => ended.push("messages"));
    lanes.open(id(1, { lane: "appends" }), () => ended.push("appends"));
    lanes.open(id(1, { from: 2 }), () => ended.push("from 2"));
    assert.equal(ended.length, 0);
    assert.equal(lanes.size(), 3);
    assert.ok(lanes.open(id(1, { incarnation: "bb" }), () => ended.push("restarted")));
    assert.deepEqual(ended, ["messages"]);
  });

  it("round-trips the metadata, reads none as undefined and names what is malformed", () => {
    assert.deepEqual(readLaneMetadata(laneMetadata(id(42, { from: 123456789012345, incarnation: "0f1e" }))), id(42, { from: 123456789012345, incarnation: "0f1e" }));
    assert.equal(readLaneMetadata(new grpc.Metadata()), undefined);
    const md = (kv: Record<string, string>): grpc.Metadata => {
      const m = new grpc.Metadata();
      for (const [k, v] of Object.entries(kv)) m.set(k, v);
      return m;
    };
    assert.throws(() => readLaneMetadata(md({ "shoal-raft-from": "1" })), /go together/);
    assert.throws(() => readLaneMetadata(md({ "shoal-raft-from": "x", "shoal-raft-lane": "messages", "shoal-raft-order": "aa.1" })), /shoal-raft-from "x" is not a member id/);
    assert.throws(() => readLaneMetadata(md({ "shoal-raft-from": "1", "shoal-raft-lane": "messages", "shoal-raft-order": "7" })), /<incarnation>\.<sequence>/);
    assert.throws(() => readLaneMetadata(md({ "shoal-raft-from": "1", "shoal-raft-lane": "messages", "shoal-raft-order": "aa.-1" })), /<incarnation>\.<sequence>/);
  });
});

describe("GrpcTransport: streams a sender has replaced", function () {
  this.timeout(20000);
  let b: Harness;
  const clients: grpc.Client[] = [];
  beforeEach(async () => {
    b = await startTransport(2);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await b.t.stop();
  });

  /** A raw lane stream to b on a connection of its own, as a Peer opens one. */
  function open(meta: LaneStreamId | grpc.Metadata | undefined): { write: (index: number, from?: number) => void; cancel: () => void; status: Promise<grpc.StatusObject | null> } {
    const client = new grpc.Client(b.t.address(), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    clients.push(client);
    const m = raftServiceDefinition.stream;
    let settle!: (s: grpc.StatusObject | null) => void;
    const status = new Promise<grpc.StatusObject | null>((r) => (settle = r));
    const md = meta === undefined ? new grpc.Metadata() : meta instanceof grpc.Metadata ? meta : laneMetadata(meta);
    const call = client.makeClientStreamRequest<raftpb.IFrame, raftpb.StreamAck>(m.path, m.requestSerialize, m.responseDeserialize, md, (err) => settle(err ?? null));
    return { write: (index, from = 1) => void call.write({ messages: [encodeMessage(msg(from, 2, { index }))] }), cancel: () => call.cancel(), status };
  }
  const got = (index: number): boolean => b.received.some((m) => m.index === index);

  it("ends the older stream when the sender opens a newer one on the lane, and refuses a stream older than the current one", async () => {
    const old = open(id(1));
    old.write(1);
    await waitFor("a message on the first stream", () => got(1));
    const current = open(id(2));
    current.write(2);
    await waitFor("a message on the newer stream", () => got(2));
    const ended = await old.status;
    assert.equal(ended?.code, grpc.status.ABORTED);
    assert.equal(ended?.details, SUPERSEDED);
    // A stream the sender opened before the current one, arriving late on a connection it gave up.
    const stale = open(id(1));
    stale.write(3);
    const refused = await stale.status;
    assert.equal(refused?.code, grpc.status.ABORTED);
    current.write(4);
    await waitFor("a message on the current stream", () => got(4));
    assert.equal(got(3), false, "a message on a refused stream was delivered");
    assert.equal(b.t.stats().streamsSuperseded, 2);
  });

  it("takes a stream of another incarnation (a restarted sender) as the newest", async () => {
    const before = open(id(7));
    before.write(1);
    await waitFor("the first incarnation's message", () => got(1));
    const after = open(id(1, { incarnation: "bb" }));
    after.write(2);
    await waitFor("the restarted sender's message", () => got(2));
    assert.equal((await before.status)?.code, grpc.status.ABORTED);
  });

  it("refuses messages from another member than the stream's metadata names, and malformed metadata", async () => {
    const s = open(id(1, { from: 5 }));
    s.write(1, 1);
    const st = await s.status;
    assert.equal(st?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(st?.details ?? "", /message from 1 on a stream opened by 5/);
    const md = new grpc.Metadata();
    md.set("shoal-raft-lane", "messages");
    const bad = open(md);
    bad.write(2);
    const st2 = await bad.status;
    assert.equal(st2?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(st2?.details ?? "", /go together/);
    assert.equal(b.received.length, 0);
  });

  it("says whether a sender has a stream open into it, and stops saying so once the stream is cut off", async () => {
    assert.equal(b.t.receiving(1), false);
    const s = open(id(1));
    s.write(1);
    await waitFor("a message on the stream", () => got(1));
    assert.equal(b.t.receiving(1), true);
    assert.equal(b.t.receiving(3), false);
    // Cut off, as a sender's death leaves its stream (grpc-js reports it ended, then cancelled).
    s.cancel();
    await waitFor("the cut-off stream to stop counting", () => !b.t.receiving(1));
    assert.equal(b.t.stats().streamsSuperseded, 0);
  });

  it("still takes streams without the metadata (a member of an older version)", async () => {
    const s = open(undefined);
    s.write(1);
    await waitFor("a message on a stream without metadata", () => got(1));
  });

  it("takes both of a real peer's lanes (appends, messages) as current", async () => {
    const a = await startTransport(1);
    try {
      a.t.addPeer(2, b.t.address());
      a.t.send([msg(1, 2, { index: 1 }), msg(1, 2, { index: 2, type: MessageType.Heartbeat })]);
      await waitFor("both lanes' messages", () => got(1) && got(2));
      assert.equal(b.t.stats().streamsSuperseded, 0);
    } finally {
      await a.t.stop();
    }
  });
});
