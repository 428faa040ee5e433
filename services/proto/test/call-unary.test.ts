// callUnary over a real (insecure) gRPC call on loopback: the caller's signal cancels the call,
// also when it was aborted before the call began, and a finished call leaves no listener on it.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import * as grpc from "@grpc/grpc-js";
import { RemoteError, callUnary, controlpb, dispatcherServiceDefinition } from "../src/index.js";

describe("rpc: callUnary", function () {
  this.timeout(10_000);
  let server: grpc.Server;
  let client: grpc.Client;
  /** true: the server answers at once; false: it never answers. */
  let answer = true;

  beforeEach(async () => {
    answer = true;
    server = new grpc.Server();
    server.addService(dispatcherServiceDefinition, {
      heartbeat: (_call: grpc.ServerUnaryCall<controlpb.HeartbeatRequest, controlpb.HeartbeatResponse>, cb: grpc.sendUnaryData<controlpb.HeartbeatResponse>) => {
        if (answer) cb(null, controlpb.HeartbeatResponse.create({ periodMs: 5 }));
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterEach(() => {
    client.close();
    server.forceShutdown();
  });

  const beat = (signal?: AbortSignal): Promise<controlpb.HeartbeatResponse> =>
    callUnary(client, dispatcherServiceDefinition.heartbeat, {}, signal === undefined ? { deadlineMs: 5_000 } : { deadlineMs: 5_000, signal });
  const cancelled = (err: unknown): boolean => err instanceof RemoteError && err.meta.grpcStatus === grpc.status.CANCELLED;

  it("answers, and leaves no listener on a long-lived signal after many calls", async () => {
    const lifetime = new AbortController();
    for (let i = 0; i < 20; i++) assert.equal(Number((await beat(lifetime.signal)).periodMs), 5);
    assert.equal(getEventListeners(lifetime.signal, "abort").length, 0);
  });

  it("cancels a call in flight when the signal aborts", async () => {
    answer = false;
    const ac = new AbortController();
    const started = Date.now();
    const call = beat(ac.signal);
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(call, cancelled);
    assert.ok(Date.now() - started < 2_000, "cancelled well before the 5 s deadline");
  });

  it("cancels at once a call whose signal was aborted before it began (not at its deadline)", async () => {
    answer = false;
    const started = Date.now();
    await assert.rejects(beat(AbortSignal.abort()), cancelled);
    assert.ok(Date.now() - started < 2_000, "cancelled well before the 5 s deadline");
  });
});
