// A gRPC client for the KV service that both Shoal's harness ("shoal.kv.KV") and etcd
// ("etcdserverpb.KV") serve, so tests and benchmarks drive both systems with the same code path.
//
// Owns: one channel per endpoint, per-call deadlines, and etcd's Maintenance/Status (which etcd
// serves instead of our KV.Status) decoded just far enough to find the leader. Insecure channels
// only: loopback test clusters.
import * as grpc from "@grpc/grpc-js";
import { kvServiceDefinition, type kvpb } from "@shoal/proto";

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
    const top = readFields(b, 0, b.length);
    const header = top.get(1);
    if (header && typeof header !== "number") out.memberId = Number(readFields(b, header.start, header.end).get(2) ?? 0);
    out.leader = Number(top.get(4) ?? 0);
    out.raftIndex = Number(top.get(5) ?? 0);
    out.raftTerm = Number(top.get(6) ?? 0);
    return out;
  },
};

/**
 * The varint and length-delimited fields of a protobuf message (last one wins), enough for etcd's
 * StatusResponse without its generated code. Varints become numbers: etcd member ids exceed 2^53
 * and round, but they are only compared with each other.
 */
function readFields(b: Buffer, start: number, end: number): Map<number, number | { start: number; end: number }> {
  const out = new Map<number, number | { start: number; end: number }>();
  let pos = start;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (pos >= end) throw new Error("truncated varint");
      const byte = b[pos++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        out.set(field, varint());
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = varint();
        out.set(field, { start: pos, end: pos + len });
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${tag & 7}`);
    }
  }
  return out;
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
