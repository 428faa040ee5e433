import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { Cluster, put, waitFor } from "./helpers.js";

describe("RaftNode on a gRPC server owned by the caller (grpcServer)", function () {
  this.timeout(30000);
  let c: Cluster;
  const servers = new Map<number, grpc.Server>();

  afterEach(async () => {
    await c.cleanup();
    for (const s of servers.values()) s.forceShutdown();
    servers.clear();
  });

  async function bind(id: number): Promise<grpc.Server> {
    const server = new grpc.Server();
    servers.set(id, server);
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(c.addresses[id]!, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return server;
  }

  it("forms a cluster through the callers' servers, and stop() leaves each server running for the next start", async () => {
    c = new Cluster();
    await c.allocate([1, 2, 3]);
    for (const id of [1, 2, 3]) await bind(id);
    await Promise.all([1, 2, 3].map((id) => c.start(id, { grpcServer: servers.get(id)! })));
    const l = await c.leader();
    await l.node!.propose(put("a", "1"));
    await waitFor("every member applied", () => c.running().every((m) => m.sm.data.get("a") === "1"));

    // A member restarts on the same, still running server (as a manager restarts its raft).
    const f = c.running().find((m) => m.id !== l.id)!;
    await c.stop(f.id);
    await l.node!.propose(put("b", "2"));
    const back = await c.start(f.id, { grpcServer: servers.get(f.id)! });
    await waitFor("the restarted member caught up", () => back.sm.data.get("b") === "2");
    assert.deepEqual(back.sm.log, ["a=1", "b=2"]);
  });
});
