// Unary gRPC calls and handlers with Shoal's error model on both ends. A handler's ShoalError
// travels as a gRPC status (chosen from its code and `temporary` flag) plus two metadata entries —
// the stable code and the temporary marker — so the caller gets back a RemoteError with the same
// code and message instead of a bare status: a follower forwarding a write surfaces the leader's
// MANAGER_NO_QUORUM, a joining node gets CA_TOKEN_REJECTED verbatim.
import type { Http2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { ShoalError, describeError, type Logger } from "@shoal/common";

const CODE_KEY = "shoal-error-code";
/** Metadata of a leader-only RPC refused by a follower: the leader's address, for a redirect. */
export const LEADER_ADDR_KEY = "shoal-leader-addr";
const TEMPORARY_KEY = "shoal-error-temporary";

export type RemoteErrorMeta = { code: string; grpcStatus: number } & Record<string, unknown>;

/** An error returned by a remote handler (or the transport: code RPC_<STATUS>). */
export class RemoteError extends ShoalError<RemoteErrorMeta> {}

/**
 * For a call that never reached its server (UNAVAILABLE with no connection made): the system's
 * reason, e.g. "connect ECONNREFUSED 10.0.0.1:2377", from grpc-js's "No connection established.
 * Last error: Error: connect … Resolution note: …"; undefined for any other error.
 */
export function connectFailure(err: unknown): string | undefined {
  if (!(err instanceof RemoteError) || err.meta.grpcStatus !== grpc.status.UNAVAILABLE) return undefined;
  const last = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/s.exec(err.message);
  if (last?.[1]) return last[1].trim();
  return /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN/.test(err.message) ? err.message : undefined;
}

/** Thrown by handlers to choose the gRPC status explicitly (authorization, redirects). */
export class StatusError extends ShoalError<{ code: string; grpcStatus: number; metadata?: Record<string, string> }> {}

function statusFor(err: unknown): grpc.status {
  if (err instanceof StatusError) return err.meta.grpcStatus;
  if (!(err instanceof ShoalError)) return grpc.status.INTERNAL;
  const code = err.code;
  if (code.endsWith("_NOT_FOUND")) return grpc.status.NOT_FOUND;
  if (code.endsWith("_INVALID") || code.endsWith("_MALFORMED")) return grpc.status.INVALID_ARGUMENT;
  if (code.endsWith("_CONFLICT")) return grpc.status.ABORTED;
  if (code === "ABORTED") return grpc.status.CANCELLED;
  if (err.temporary) return grpc.status.UNAVAILABLE;
  return grpc.status.FAILED_PRECONDITION;
}

/** The gRPC error object for a thrown value (used by handlers' callbacks). */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const md = new grpc.Metadata();
  if (err instanceof ShoalError) {
    md.set(CODE_KEY, err.code);
    if (err.temporary) md.set(TEMPORARY_KEY, "1");
  }
  if (err instanceof StatusError) for (const [k, v] of Object.entries(err.meta.metadata ?? {})) md.set(k, v);
  return { code: statusFor(err), details: describeError(err), metadata: md };
}

/** Turns an async function into a grpc-js unary handler; thrown errors become statuses. */
export function unaryHandler<Req, Res>(
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
  log?: Logger,
): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    fn(call.request, call).then(
      (res) => cb(null, res),
      (err: unknown) => {
        if (!(err instanceof ShoalError)) log?.error({ err, path: call.getPath() }, "rpc handler failed");
        cb(toServiceError(err) as grpc.ServiceError);
      },
    );
  };
}

/**
 * A gRPC error as a RemoteError: the remote's code and message, and every `shoal-*` metadata entry
 * (e.g. LEADER_ADDR_KEY) in meta. `temporary` overrides the derived marker (a broken stream is
 * always worth reopening).
 */
export function remoteErrorOf(err: grpc.ServiceError, opts: { temporary?: boolean } = {}): RemoteError {
  const code = err.metadata?.get(CODE_KEY)[0];
  const temporary = opts.temporary ?? (err.metadata?.get(TEMPORARY_KEY)[0] === "1" || err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED);
  const meta: RemoteErrorMeta = { code: typeof code === "string" ? code : `RPC_${grpc.status[err.code] ?? err.code}`, grpcStatus: err.code };
  for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) if (k.startsWith("shoal-") && k !== CODE_KEY && k !== TEMPORARY_KEY) meta[k] = String(v);
  return new RemoteError(meta, err.details || err.message, { temporary, cause: err });
}

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** One unary call; rejects with RemoteError carrying the remote code. */
export function callUnary<Req, Res>(client: grpc.Client, method: grpc.MethodDefinition<Req, Res>, req: Req, opts: CallOptions = {}): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const callOpts: grpc.CallOptions = { deadline: Date.now() + (opts.deadlineMs ?? 10_000) };
    const call = client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, req, new grpc.Metadata(), callOpts, (err, res) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (err) reject(remoteErrorOf(err));
      else resolve(res as Res);
    });
    const onAbort = (): void => call.cancel();
    // An abort that came before the call would never fire the listener: the call would run on
    // until its deadline.
    if (opts.signal?.aborted) call.cancel();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface StreamWaiter<Res> {
  resolve: (res: Res) => void;
  reject: (err: RemoteError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Calls over one long-lived bidi stream, answered in order one response per request
 * (serveCallStream on the other end): for RPCs an agent makes every few seconds or for every task,
 * where a unary call costs both ends several times what a message on an open stream does. A
 * request unanswered within its timeout, or an error or end of the stream, breaks the stream: the
 * unanswered requests reject (with the stream's error, or a temporary RemoteError) and so does
 * every later one; the caller opens a new stream.
 */
export class CallStream<Req, Res> {
  private readonly waiting: StreamWaiter<Res>[] = [];
  private readonly call: grpc.ClientDuplexStream<Req, Res>;
  private failure: RemoteError | undefined;

  constructor(client: grpc.Client, method: grpc.MethodDefinition<Req, Res>) {
    this.call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata(), {});
    this.call.on("data", (res: Res) => {
      const w = this.waiting.shift();
      if (w === undefined) return this.fail(brokenStream("the manager answered a request that was not made"));
      clearTimeout(w.timer);
      w.resolve(res);
    });
    this.call.on("error", (err: grpc.ServiceError) => this.fail(remoteErrorOf(err)));
    this.call.on("end", () => this.fail(brokenStream("the manager ended the stream")));
  }

  /** The stream failed or was closed: every later request rejects with the same error. */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  request(req: Req, timeoutMs = 10_000): Promise<Res> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(brokenStream(`no answer within ${timeoutMs} ms`, { noAnswer: true })), timeoutMs);
      this.waiting.push({ resolve, reject, timer });
      this.call.write(req);
    });
  }

  close(): void {
    this.fail(brokenStream("the stream was closed"));
  }

  private fail(err: RemoteError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.call.cancel();
  }
}

function brokenStream(message: string, meta: { noAnswer?: true } = {}): RemoteError {
  return new RemoteError({ code: "RPC_STREAM_BROKEN", grpcStatus: grpc.status.UNAVAILABLE, ...meta }, message, { temporary: true });
}

/** A CallStream request that got no answer in time (the other end is slow or gone, not refusing). */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof RemoteError && err.meta["noAnswer"] === true;
}

/**
 * Serves a CallStream: requests one at a time, in order, each answered with what `fn` returns. An
 * error `fn` throws ends the stream with it (as a unary handler's would end the call), and the
 * client rejects its unanswered requests. Returns a handle that ends the stream from this side.
 */
export function serveCallStream<Req, Res>(call: grpc.ServerDuplexStream<Req, Res>, fn: (req: Req) => Promise<Res>, opts: { log?: Logger; onClose?: () => void } = {}): { end(): void } {
  let open = true;
  let queue: Promise<void> = Promise.resolve();
  const close = (err?: unknown): void => {
    if (!open) return;
    open = false;
    opts.onClose?.();
    try {
      if (err === undefined) call.end();
      else call.emit("error", toServiceError(err));
    } catch {
      // Already closed by the peer.
    }
  };
  call.on("data", (req: Req) => {
    queue = queue.then(async () => {
      if (!open) return;
      try {
        const res = await fn(req);
        if (open) call.write(res);
      } catch (err) {
        if (!(err instanceof ShoalError)) opts.log?.error({ err, path: call.getPath() }, "rpc stream handler failed");
        close(err);
      }
    });
  });
  // The client closed its side: answer what it sent, then close ours.
  call.on("end", () => void queue.then(() => close()));
  const gone = (): void => {
    if (!open) return;
    open = false;
    opts.onClose?.();
  };
  call.on("cancelled", gone);
  call.on("close", gone);
  call.on("error", gone);
  return { end: () => close() };
}

/**
 * Requests to whichever manager the caller names, over a CallStream kept to that manager (opened
 * again when it broke or the manager changed). A manager that answers the stream UNIMPLEMENTED (an
 * older version) is asked through `fallback` from then on, and `onFallback` is told once.
 */
export class StreamedCalls<Req, Res> {
  private current: { addr: string; stream: CallStream<Req, Res> } | undefined;
  private readonly unaryOnly = new Set<string>();

  constructor(
    private readonly method: grpc.MethodDefinition<Req, Res>,
    private readonly fallback: (client: grpc.Client, req: Req, timeoutMs: number) => Promise<Res>,
    private readonly onFallback: (addr: string) => void = () => undefined,
  ) {}

  async request(addr: string, client: grpc.Client, req: Req, timeoutMs: number): Promise<Res> {
    if (!this.unaryOnly.has(addr)) {
      let cur = this.current;
      if (cur === undefined || cur.addr !== addr || cur.stream.broken) {
        cur?.stream.close();
        cur = this.current = { addr, stream: new CallStream(client, this.method) };
      }
      try {
        return await cur.stream.request(req, timeoutMs);
      } catch (err) {
        if (!(err instanceof RemoteError) || err.meta.grpcStatus !== grpc.status.UNIMPLEMENTED) throw err;
        this.unaryOnly.add(addr);
        this.onFallback(addr);
      }
    }
    return this.fallback(client, req, timeoutMs);
  }

  /** Closes the stream: a request waiting on it rejects at once. */
  close(): void {
    this.current?.stream.close();
    this.current = undefined;
  }
}

/**
 * The HTTP/2 receive window a connection carrying bulk streams (raft appends) asks its sender
 * for. The default, 64 KiB per stream and per connection, lets a sender put only 64 KiB on the
 * wire per turn of the receiver's event loop: on a loaded manager 8 MiB of appends took
 * seconds to cross, and the heartbeats queued behind them timed out elections.
 */
export const BULK_RECEIVE_WINDOW_BYTES = 32 << 20;

const widened = new WeakSet<object>();

/**
 * The HTTP/2 session a grpc-js server call arrived on, read from grpc-js's internals (the call's
 * intercepting call, its HTTP/2 stream, the session): undefined if a grpc-js version lays them
 * out otherwise. Its users fall back to doing without (a certificate read per call, the default
 * window), so a grpc-js upgrade makes them slower, never wrong.
 */
export function sessionOfCall(call: object): Partial<Http2Session> | undefined {
  const session = (call as { call?: { stream?: { session?: unknown } } }).call?.stream?.session;
  return typeof session === "object" && session !== null ? (session as Partial<Http2Session>) : undefined;
}

/**
 * Widens the receive window of the HTTP/2 connection a server call arrived on (once per
 * connection): the connection's own window, and the initial window of its streams (a SETTINGS
 * change that also grows the streams already open). grpc-js has no server option for it, so the
 * session comes from sessionOfCall; without it the call is left as it is and false is returned.
 */
export function widenReceiveWindow(call: object, bytes = BULK_RECEIVE_WINDOW_BYTES): boolean {
  const session = sessionOfCall(call);
  if (session === undefined || typeof session.setLocalWindowSize !== "function" || typeof session.settings !== "function") return false;
  if (widened.has(session)) return true;
  if (session.destroyed === true) return false;
  try {
    session.setLocalWindowSize(bytes);
    session.settings({ initialWindowSize: bytes });
  } catch {
    return false;
  }
  widened.add(session);
  return true;
}
