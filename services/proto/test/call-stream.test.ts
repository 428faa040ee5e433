// CallStream and serveCallStream over a real (insecure) gRPC stream on loopback: answers in order,
// a thrown error ends the stream with its code, an unanswered request breaks the stream.
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { ShoalError } from "@shoal/common";
import { CallStream, RemoteError, controlpb, dispatcherServiceDefinition, serveCallStream } from "../src/index.js";

type Req = controlpb.IUpdateTaskStatusRequest;
type Ack = controlpb.TaskStatusAck;

describe("rpc: CallStream / serveCallStream", function () {
  this.timeout(10_000);
  let server: grpc.Server;
  let client: grpc.Client;
  /** What the server does with a request; `undefined` means never answer. */
  let handle: (req: controlpb.UpdateTaskStatusRequest) => Promise<Ack> | undefined;
  let closed = 0;

  beforeEach(async () => {
    closed = 0;
    server = new grpc.Server();
    server.addService(dispatcherServiceDefinition, {
      reportTaskStatus: (call: grpc.ServerDuplexStream<controlpb.UpdateTaskStatusRequest, Ack>) =>
        void serveCallStream(call, (req) => handle(req) ?? new Promise<Ack>(() => undefined), { onClose: () => void closed++ }),
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterEach(() => {
    client.close();
    server.forceShutdown();
  });

  const open = (): CallStream<Req, Ack> => new CallStream(client, dispatcherServiceDefinition.reportTaskStatus);

  it("answers each request in order, one at a time, even when the first takes longest", async () => {
    handle = async (req) => {
      // The first request takes longest: the server still answers in order.
      await new Promise((r) => setTimeout(r, req.sequence === 1 ? 30 : 0));
      return controlpb.TaskStatusAck.create({ sequence: req.sequence });
    };
    const s = open();
    const acks = await Promise.all([1, 2, 3].map((sequence) => s.request({ sequence })));
    assert.deepEqual(acks.map((a) => Number(a.sequence)), [1, 2, 3]);
    assert.equal(s.broken, false);
    s.close();
  });

  it("ends the stream with the handler's error: its code reaches the caller, and later requests fail alike", async () => {
    handle = async (req) => {
      if (req.sequence === 2) throw new ShoalError({ code: "MANAGER_NOT_LEADER" }, "not the leader", { temporary: true });
      return controlpb.TaskStatusAck.create({ sequence: req.sequence });
    };
    const s = open();
    assert.equal(Number((await s.request({ sequence: 1 })).sequence), 1);
    await assert.rejects(s.request({ sequence: 2 }), (err: RemoteError) => err.code === "MANAGER_NOT_LEADER" && err.temporary);
    assert.equal(s.broken, true);
    await assert.rejects(s.request({ sequence: 3 }), (err: RemoteError) => err.code === "MANAGER_NOT_LEADER");
  });

  it("breaks on a request left unanswered past its timeout; the server side closes too", async () => {
    handle = () => undefined;
    const s = open();
    await assert.rejects(s.request({ sequence: 1 }, 100), (err: RemoteError) => err.code === "RPC_STREAM_BROKEN" && err.temporary && /no answer within 100 ms/.test(err.message));
    assert.equal(s.broken, true);
    const deadline = Date.now() + 5_000;
    while (closed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(closed, 1);
  });
});
