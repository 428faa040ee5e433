// widenReceiveWindow on a real (insecure) gRPC server call on loopback: the connection's receive
// window and its streams' initial window grow to the bulk size, once per connection.
import assert from "node:assert/strict";
import type { Http2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { BULK_RECEIVE_WINDOW_BYTES, controlpb, dispatcherServiceDefinition, sessionOfCall, widenReceiveWindow } from "../src/index.js";

type Ack = controlpb.TaskStatusAck;

describe("rpc: widenReceiveWindow", function () {
  this.timeout(10_000);
  let server: grpc.Server;
  let client: grpc.Client;
  const seen: { widened: boolean; session: Http2Session | undefined }[] = [];

  before(async () => {
    server = new grpc.Server();
    server.addService(dispatcherServiceDefinition, {
      reportTaskStatus: (call: grpc.ServerDuplexStream<controlpb.UpdateTaskStatusRequest, Ack>) => {
        const session = sessionOfCall(call) as Http2Session | undefined;
        seen.push({ widened: widenReceiveWindow(call), session });
        call.on("data", () => call.write(controlpb.TaskStatusAck.create({ sequence: 1 })));
        call.on("end", () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client.close();
    server.forceShutdown();
  });

  const roundTrip = async (): Promise<void> => {
    const m = dispatcherServiceDefinition.reportTaskStatus;
    const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    await new Promise<void>((resolve, reject) => {
      call.once("data", () => resolve());
      call.once("error", reject);
      call.write({ sequence: 1, updates: [] });
    });
    call.end();
  };

  it("widens the connection's window and its streams' initial window, once per connection", async () => {
    await roundTrip();
    await roundTrip();
    assert.equal(seen.length, 2);
    assert.ok(seen.every((s) => s.widened));
    const session = seen[0]!.session;
    assert.ok(session !== undefined, "grpc-js still exposes the call's HTTP/2 session");
    assert.equal(seen[1]!.session, session, "both calls on one connection");
    assert.equal(session.localSettings.initialWindowSize, BULK_RECEIVE_WINDOW_BYTES);
    assert.ok((session.state.localWindowSize ?? 0) >= BULK_RECEIVE_WINDOW_BYTES - 65_535, `connection window ${session.state.localWindowSize}`);
  });

  it("leaves a call without grpc-js's internals alone", () => {
    assert.equal(sessionOfCall({ call: { stream: { session: null } } }), undefined);
    assert.equal(widenReceiveWindow({}), false);
    assert.equal(widenReceiveWindow({ call: { stream: {} } }), false);
  });
});
