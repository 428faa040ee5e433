// A gRPC client for the KV service that both Shoal's harness ("shoal.kv.KV") and etcd
// ("etcdserverpb.KV") serve, so tests and benchmarks drive both systems with the same code path.
//
// Owns: one channel per endpoint, per-call deadlines, and etcd's Maintenance/Status (which etcd
// serves instead of our KV.Status) decoded just far enough to find the leader. Insecure channels
// only: loopback test clusters.
import * as grpc from "@grpc/grpc-js";
import { kvServiceDefinition, type kvpb } from "@shoal/proto";
import protobuf from "protobufjs/minimal.js";

export type KvSystem = "shoal" | "etcd";

export interface KvClientOptions {
  system: KvSystem;
  /** Deadline of each call unless the call names its own (default 2000 ms). */
  deadlineMs?: number;
}

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** What both systems can tell about a member: enough to find the leader. */
export interface MemberStatus {
  memberId: number;
  leader: number;
  term: number;
  /** Shoal only (etcd's Maintenance/Status reports raftIndex as `commit` and 0 here). */
  applied: number;
  commit: number;
}

export class KvCallError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
    readonly address: string,
  ) {
    super(`${grpc.status[code] ?? code}: ${details} (${address})`);
  }
}

interface EtcdStatusResponse {
  memberId: number;
  leader: number;
  raftIndex: number;
  raftTerm: number;
}

const etcdStatusMethod = {
  path: "/etcdserverpb.Maintenance/Status",
  serialize: (): Buffer => Buffer.alloc(0),
  // StatusResponse: header=1 {member_id=2}, leader=4, raftIndex=5, raftTerm=6 (api/etcdserverpb/rpc.proto).
  deserialize: (b: Buffer): EtcdStatusResponse => {
    const out: EtcdStatusResponse = { memberId: 0, leader: 0, raftIndex: 0, raftTerm: 0 };
    const r = protobuf.Reader.create(b);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1 && (tag & 7) === 2) {
        const end = r.uint32() + r.pos;
        while (r.pos < end) {
          const t = r.uint32();
          if (t >>> 3 === 2 && (t & 7) === 0) out.memberId = toNumber(r.uint64());
          else r.skipType(t & 7);
        }
      } else if (field === 4 && (tag & 7) === 0) out.leader = toNumber(r.uint64());
      else if (field === 5 && (tag & 7) === 0) out.raftIndex = toNumber(r.uint64());
      else if (field === 6 && (tag & 7) === 0) out.raftTerm = toNumber(r.uint64());
      else r.skipType(tag & 7);
    }
    return out;
  },
};

function toNumber(v: unknown): number {
  // @shoal/proto configures protobufjs without Long, so uint64 reads are numbers; etcd member ids
  // exceed 2^53 but only need to be compared with each other, so a rounded double is good enough.
  if (typeof v === "number") return v;
  if (typeof v === "object" && v !== null && "toNumber" in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

export class KvClient {
  private readonly client: grpc.Client;
  private readonly def: ReturnType<typeof kvServiceDefinition>;
  private readonly deadlineMs: number;

  constructor(
    readonly address: string,
    readonly opts: KvClientOptions,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      // Reconnect quickly after a member restarts; the default backoff reaches tens of seconds.
      "grpc.initial_reconnect_backoff_ms": 50,
      "grpc.max_reconnect_backoff_ms": 500,
    });
    this.def = kvServiceDefinition(opts.system === "etcd" ? "etcdserverpb.KV" : "shoal.kv.KV");
    this.deadlineMs = opts.deadlineMs ?? 2000;
  }

  put(key: Uint8Array | string, value: Uint8Array | string, opts: CallOptions = {}): Promise<kvpb.IPutResponse> {
    const m = this.def.put;
    return this.unary(m.path, m.requestSerialize, m.responseDeserialize, { key: bytes(key), value: bytes(value) }, opts);
  }

  /** A Put with extra metadata (the harness marks forwarded Puts). */
  putWithMetadata(req: kvpb.IPutRequest, md: grpc.Metadata, opts: CallOptions = {}): Promise<kvpb.IPutResponse> {
    const m = this.def.put;
    return this.unary(m.path, m.requestSerialize, m.responseDeserialize, req, opts, md);
  }

  range(key: Uint8Array | string, opts: CallOptions & { serializable?: boolean; rangeEnd?: Uint8Array } = {}): Promise<kvpb.IRangeResponse> {
    const m = this.def.range;
    const req: kvpb.IRangeRequest = { key: bytes(key), serializable: opts.serializable ?? false };
    if (opts.rangeEnd) req.rangeEnd = opts.rangeEnd;
    return this.unary(m.path, m.requestSerialize, m.responseDeserialize, req, opts);
  }

  /** The value of one key as a UTF-8 string, "" when absent (lincheck's kvModel convention). */
  async get(key: string, opts: CallOptions & { serializable?: boolean } = {}): Promise<string> {
    const res = await this.range(key, opts);
    const kv = res.kvs?.[0];
    return kv?.value ? Buffer.from(kv.value).toString("utf8") : "";
  }

  async status(opts: CallOptions = {}): Promise<MemberStatus> {
    if (this.opts.system === "etcd") {
      const s = await this.unary(etcdStatusMethod.path, etcdStatusMethod.serialize, etcdStatusMethod.deserialize, {}, opts);
      return { memberId: s.memberId, leader: s.leader, term: s.raftTerm, commit: s.raftIndex, applied: 0 };
    }
    const m = this.def.status;
    const s = await this.unary(m.path, m.requestSerialize, m.responseDeserialize, {}, opts);
    return {
      memberId: Number(s.memberId ?? 0),
      leader: Number(s.leader ?? 0),
      term: Number(s.term ?? 0),
      commit: Number(s.commit ?? 0),
      applied: Number(s.applied ?? 0),
    };
  }

  close(): void {
    this.client.close();
  }

  private unary<Req, Res>(
    path: string,
    serialize: (r: Req) => Buffer,
    deserialize: (b: Buffer) => Res,
    req: Req,
    opts: CallOptions,
    md: grpc.Metadata = new grpc.Metadata(),
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new KvCallError(grpc.status.CANCELLED, "aborted before the call", this.address));
        return;
      }
      const deadline = Date.now() + (opts.deadlineMs ?? this.deadlineMs);
      const call = this.client.makeUnaryRequest(path, serialize, deserialize, req, md, { deadline }, (err, res) => {
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) reject(new KvCallError(err.code, err.details, this.address));
        else resolve(res as Res);
      });
      const onAbort = (): void => call.cancel();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function bytes(v: Uint8Array | string): Uint8Array {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v;
}
