// The "shoal.kv.KV" gRPC service in front of a RaftNode and a KvStateMachine.
//
// Owns: request handling and the mapping of Raft errors to gRPC statuses. Put proposes through
// Raft; a follower forwards the Put to the leader's client address, which it learns from the
// `clientPeers` map (member id -> client host:port, given on the command line as --client-peers;
// Raft member addresses stay plain host:port so the transport dials them unchanged). Range is
// linearizable (a ReadIndex barrier, then a local read) unless `serializable`, which reads locally.
// Must not make Raft decisions: leadership and commit are the node's.
import * as grpc from "@grpc/grpc-js";
import { describeError, sleep, type Logger } from "@shoal/common";
import { kvServiceDefinition, type kvpb } from "@shoal/proto";
import { RaftError, type RaftNode } from "@shoal/raft";
import { KvCallError, KvClient } from "../cluster/kv-client.js";
import { encodePut, type KvStateMachine } from "./kv-state-machine.js";

export interface KvServiceOptions {
  id: number;
  clientPeers: Map<number, string>;
  /** Used when a call has no deadline (default 10 s). */
  defaultDeadlineMs?: number;
}

/** Metadata key a forwarded Put carries so that it is never forwarded twice. */
const FORWARDED = "x-shoal-forwarded";
const RETRY_MS = 25;

class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export class KvService {
  private readonly forwardClients = new Map<string, KvClient>();
  private readonly log: Logger;

  constructor(
    private readonly opts: KvServiceOptions,
    private readonly node: RaftNode,
    private readonly sm: KvStateMachine,
    logger: Logger,
  ) {
    this.log = logger.child({ component: "kv-service" });
  }

  /** Registers the handlers on `server`. */
  addTo(server: grpc.Server): void {
    server.addService(kvServiceDefinition("shoal.kv.KV"), {
      put: this.wrap((call, scope) => this.put(call.request, call.metadata, scope)),
      range: this.wrap((call, scope) => this.range(call.request, scope.signal)),
      status: this.wrap(() => Promise.resolve(this.status())),
    });
  }

  close(): void {
    for (const c of this.forwardClients.values()) c.close();
    this.forwardClients.clear();
  }

  private async put(req: kvpb.IPutRequest, md: grpc.Metadata, scope: CallScope): Promise<kvpb.IPutResponse> {
    const data = encodePut(req.key ?? new Uint8Array(0), req.value ?? new Uint8Array(0));
    const forwarded = md.get(FORWARDED).length > 0;
    for (;;) {
      try {
        // A timeout, not the call's signal: the common path makes no signal at all (CallScope).
        // A cancelled call's proposal is not withdrawn; it is settled when applied, dropped or timed out.
        const r = await this.node.propose(data, { timeoutMs: scope.remainingMs() });
        return { header: this.header(r.index, r.term) };
      } catch (err) {
        if (scope.ended() || (err instanceof RaftError && err.code === "RAFT_TIMEOUT")) {
          throw new StatusError(grpc.status.DEADLINE_EXCEEDED, `put not committed before the deadline: ${describeError(err)}`);
        }
        if (!(err instanceof RaftError) || err.code !== "RAFT_NOT_LEADER") throw err;
        const leader = Number(err.meta["leader"] ?? 0);
        if (leader !== 0 && leader !== this.opts.id && !forwarded) {
          const address = this.opts.clientPeers.get(leader);
          if (address === undefined) throw new StatusError(grpc.status.UNAVAILABLE, `leader ${leader} has no known client address`);
          try {
            return await this.forwardPut(address, req, scope);
          } catch (ferr) {
            // The leader we knew may just have died: wait for the next one, within the deadline.
            if (!(ferr instanceof KvCallError) || ferr.code !== grpc.status.UNAVAILABLE) throw ferr;
          }
        } else if (forwarded && leader !== 0) {
          throw new StatusError(grpc.status.UNAVAILABLE, `not the leader (leader is ${leader})`);
        }
        await sleep(RETRY_MS, scope.signal).catch(() => undefined);
      }
    }
  }

  private forwardPut(address: string, req: kvpb.IPutRequest, scope: CallScope): Promise<kvpb.IPutResponse> {
    let client = this.forwardClients.get(address);
    if (client === undefined) {
      client = new KvClient(address, { system: "shoal" });
      this.forwardClients.set(address, client);
    }
    const md = new grpc.Metadata();
    md.set(FORWARDED, "1");
    return client.putWithMetadata(req, md, { signal: scope.signal, deadlineMs: scope.remainingMs() });
  }

  private async range(req: kvpb.IRangeRequest, signal: AbortSignal): Promise<kvpb.IRangeResponse> {
    if (!req.serializable) {
      for (;;) {
        try {
          await this.node.readBarrier({ signal });
          break;
        } catch (err) {
          if (signal.aborted) throw new StatusError(grpc.status.DEADLINE_EXCEEDED, `read barrier not passed before the deadline: ${describeError(err)}`);
          // No leader right now (an election is running): wait for one.
          if (!(err instanceof RaftError) || err.code !== "RAFT_NOT_LEADER") throw err;
          await sleep(RETRY_MS, signal).catch(() => undefined);
        }
      }
    }
    const found = this.sm.range(req.key ?? new Uint8Array(0), req.rangeEnd ?? new Uint8Array(0), Number(req.limit ?? 0));
    return {
      header: this.header(this.sm.revision, this.node.status().term),
      kvs: found.map(({ key, rec }) => ({
        key,
        value: rec.value,
        createRevision: rec.createRevision,
        modRevision: rec.modRevision,
        version: rec.version,
      })),
      count: found.length,
    };
  }

  private status(): kvpb.IStatusResponse {
    const s = this.node.status();
    return {
      memberId: this.opts.id,
      leader: s.lead,
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      voters: s.confState.voters,
      learners: s.confState.learners,
    };
  }

  private header(revision: number, term: number): kvpb.IPutResponse["header"] {
    return { clusterId: 0, memberId: this.opts.id, revision, raftTerm: term };
  }

  private wrap<Req, Res>(fn: (call: grpc.ServerUnaryCall<Req, Res>, scope: CallScope) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const scope = new CallScope(call, this.opts.defaultDeadlineMs ?? 10_000);
      fn(call, scope).then(
        (res) => {
          scope.release();
          callback(null, res);
        },
        (err: unknown) => {
          scope.release();
          const { code, details } = toStatus(err);
          if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) {
            this.log.warn({ err: describeError(err), code: grpc.status[code] }, "kv call failed");
          }
          callback({ code, details, metadata: new grpc.Metadata() } as grpc.ServiceError, null);
        },
      );
    };
  }
}

/**
 * A call's deadline, and a signal for it made only when something asks for one. An AbortController,
 * a timer and a "cancelled" listener per call, and an abort listener per proposal, were about 15 %
 * of a busy leader's CPU per put (services/raft/README.md, "The storage batch and the per-call
 * deadline"). The signal aborts at the deadline or when the client cancels. grpc-js reports every
 * call that ends as "cancelled" once its stream closes, so release() must run when the handler
 * settles: aborting a finished call's signal (an Error with a stack per put) was 7 % of a busy
 * leader's CPU.
 */
class CallScope {
  /** Wall-clock ms. */
  readonly deadlineAt: number;
  private ac: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onCancel: (() => void) | undefined;

  constructor(
    private readonly call: grpc.ServerUnaryCall<unknown, unknown>,
    defaultDeadlineMs: number,
  ) {
    const d = call.getDeadline();
    const at = d instanceof Date ? d.getTime() : Number(d);
    this.deadlineAt = Number.isFinite(at) ? at : Date.now() + defaultDeadlineMs;
  }

  /** At least 1, so that a late call still gets one try. */
  remainingMs(): number {
    return Math.max(1, this.deadlineAt - Date.now());
  }

  /** The deadline has passed, or the signal (if made) has aborted. */
  ended(): boolean {
    return this.ac?.signal.aborted === true || Date.now() >= this.deadlineAt;
  }

  get signal(): AbortSignal {
    if (this.ac === undefined) {
      const ac = new AbortController();
      this.ac = ac;
      this.timer = setTimeout(() => ac.abort(new Error("deadline")), Math.max(0, this.deadlineAt - Date.now()));
      this.timer.unref();
      this.onCancel = (): void => ac.abort(new Error("cancelled"));
      this.call.once("cancelled", this.onCancel);
    }
    return this.ac.signal;
  }

  release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onCancel !== undefined) this.call.removeListener("cancelled", this.onCancel);
  }
}

/** Raft errors to gRPC statuses: only here, at the edge. */
export function toStatus(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof StatusError) return { code: err.code, details: err.message };
  if (err instanceof KvCallError) return { code: err.code, details: `forwarded: ${err.details}` };
  if (err instanceof RaftError) {
    switch (err.code) {
      case "RAFT_NOT_LEADER":
      case "RAFT_STOPPED":
      case "RAFT_UNAVAILABLE":
        return { code: grpc.status.UNAVAILABLE, details: err.message };
      case "RAFT_TIMEOUT":
        return { code: grpc.status.DEADLINE_EXCEEDED, details: err.message };
      case "RAFT_PROPOSAL_DROPPED":
      case "RAFT_TRANSFER_IN_PROGRESS":
        return { code: grpc.status.ABORTED, details: err.message };
      case "RAFT_TOO_MANY_UNCOMMITTED":
        return { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message };
      case "RAFT_INVALID_ARGUMENT":
        return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
      default:
        return { code: grpc.status.INTERNAL, details: err.message };
    }
  }
  return { code: grpc.status.INTERNAL, details: describeError(err) };
}
