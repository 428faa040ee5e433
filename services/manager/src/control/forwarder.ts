// A follower's writes go to the leader over Control.Propose (the LeaderForwarder seam of the
// replicated store). One gRPC client per leader address, reused; a changed leader gets a new one.
import * as grpc from "@grpc/grpc-js";
import { callUnary, controlServiceDefinition } from "@shoal/proto";
import { encodeStoreActions, type StoreAction } from "@shoal/store";
import type { LeaderForwarder } from "../replication/index.js";
import { ControlError } from "./errors.js";

export interface ClientTls {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
}

export class GrpcForwarder implements LeaderForwarder {
  private client: { addr: string; client: grpc.Client } | undefined;

  constructor(private readonly tls: () => ClientTls) {}

  async propose(actions: StoreAction[], opts: { leader: number; leaderAddress: string | undefined; signal?: AbortSignal }): Promise<{ index: number }> {
    if (opts.leaderAddress === undefined) throw new ControlError({ code: "CONTROL_NOT_READY" }, "the leader's address is not known yet", { temporary: true });
    const client = this.clientFor(opts.leaderAddress);
    const callOpts = opts.signal === undefined ? {} : { signal: opts.signal };
    const res = await callUnary(client, controlServiceDefinition.propose, { actions: encodeStoreActions(actions) }, callOpts);
    return { index: Number(res.index) };
  }

  close(): void {
    this.client?.client.close();
    this.client = undefined;
  }

  private clientFor(addr: string): grpc.Client {
    if (this.client?.addr === addr) return this.client.client;
    this.client?.client.close();
    const tls = this.tls();
    const client = new grpc.Client(addr, tls.credentials, tls.channelOptions);
    this.client = { addr, client };
    return client;
  }
}
