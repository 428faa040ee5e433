// ApiClient: HTTP/1.1 to one node's REST API (Docker Engine API + /shoal/*) over a unix socket, TCP
// or TLS. Owns requests, the API-version prefix, JSON bodies and turning failures into typed errors
// (ApiError for non-2xx, CLI_UNREACHABLE when nothing answered). It knows no command and prints
// nothing; `onExchange` lets run() trace requests under SHOAL_DEBUG.
import http from "node:http";
import https from "node:https";
import { describeError } from "@shoal/common";
import { ApiError, CliError } from "./errors.js";
import { describeEndpoint, type Endpoint } from "./host.js";

/** The Docker Engine API version the CLI speaks (the one docker CLI 28.2 uses). */
export const API_VERSION = "1.50";

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  /** Appended in insertion order; undefined values are left out. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON when present (a bare string becomes a JSON string). */
  body?: unknown;
  /** False for native routes (/shoal/…), which have no Docker version prefix. Default true. */
  versioned?: boolean;
  signal?: AbortSignal;
}

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON, the raw text when the body is not JSON, or undefined when empty. */
  body: unknown;
}

export interface ApiClientOpts {
  endpoint: Endpoint;
  apiVersion?: string;
  /** Only the connect phase is bounded: some calls (swarm join) legitimately take long. */
  connectTimeoutMs?: number;
}

export interface ApiClientModules {
  onExchange?: (line: string) => void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class ApiClient {
  readonly endpoint: Endpoint;
  private readonly apiVersion: string;
  private readonly connectTimeoutMs: number;
  private readonly agent: http.Agent;
  private readonly onExchange: ((line: string) => void) | undefined;

  constructor(opts: ApiClientOpts, modules: ApiClientModules = {}) {
    this.endpoint = opts.endpoint;
    this.apiVersion = opts.apiVersion ?? API_VERSION;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.onExchange = modules.onExchange;
    const ep = opts.endpoint;
    // Our own keep-alive agent: a live view polls several routes per tick, and close() can drop
    // the idle sockets so the process exits at once (the global agent would hold them).
    if (ep.kind === "tcp" && ep.tls !== undefined) {
      const tls = ep.tls;
      this.agent = new https.Agent({
        keepAlive: true,
        ...(tls.caPem === undefined ? {} : { ca: tls.caPem }),
        ...(tls.certPem === undefined ? {} : { cert: tls.certPem }),
        ...(tls.keyPem === undefined ? {} : { key: tls.keyPem }),
      });
    } else {
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  async get<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request("GET", path, opts)).body as T;
  }

  async post<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request("POST", path, opts)).body as T;
  }

  async delete<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request("DELETE", path, opts)).body as T;
  }

  /** One exchange; resolves for 2xx, rejects with ApiError for other statuses. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const fullPath = this.pathFor(path, opts);
    const res = await this.exchange(method, fullPath, opts);
    this.onExchange?.(`${method} ${fullPath} -> ${res.status}`);
    if (res.status < 200 || res.status > 299) {
      throw new ApiError(res.status, errorMessage(res), { method, path: fullPath });
    }
    return res;
  }

  /** Drops idle keep-alive sockets. The client stays usable (a new request reconnects). */
  close(): void {
    this.agent.destroy();
  }

  private pathFor(path: string, opts: RequestOptions): string {
    const prefix = opts.versioned === false ? "" : `/v${this.apiVersion}`;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.append(k, String(v));
    const qs = params.toString();
    return `${prefix}${path}${qs === "" ? "" : `?${qs}`}`;
  }

  private exchange(method: string, path: string, opts: RequestOptions): Promise<ApiResponse> {
    const ep = this.endpoint;
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: http.OutgoingHttpHeaders = { Accept: "application/json" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = payload.length;
    }
    const base: http.RequestOptions = { method, path, headers, agent: this.agent };
    if (opts.signal !== undefined) base.signal = opts.signal;
    const reqOpts: http.RequestOptions =
      ep.kind === "unix" ? { ...base, socketPath: ep.socketPath } : { ...base, host: ep.host, port: ep.port };
    const send = ep.kind === "tcp" && ep.tls !== undefined ? https.request : http.request;

    return new Promise<ApiResponse>((resolve, reject) => {
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (err: unknown): void => {
        if (connectTimer !== undefined) clearTimeout(connectTimer);
        reject(err instanceof CliError ? err : unreachable(ep, err));
      };
      const req = send(reqOpts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", fail);
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parseBody(res.headers, Buffer.concat(chunks), method, path) });
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on("socket", (socket) => {
        // A reused keep-alive socket is already connected; only a fresh one gets the timer.
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => {
          req.destroy(Object.assign(new Error(`no connection after ${this.connectTimeoutMs} ms`), { code: "ETIMEDOUT" }));
        }, this.connectTimeoutMs);
        socket.once("connect", () => clearTimeout(connectTimer));
      });
      req.on("error", fail);
      req.end(payload);
    });
  }
}

function parseBody(headers: http.IncomingHttpHeaders, raw: Buffer, method: string, path: string): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString("utf8");
  const isJson = (headers["content-type"] ?? "").includes("json");
  try {
    return JSON.parse(text);
  } catch (err) {
    if (isJson) throw new CliError("CLI_BAD_RESPONSE", `${method} ${path} answered invalid JSON: ${describeError(err)}`, { method, path });
    return text;
  }
}

/** One line for a non-2xx answer: the API's {message}, else its text, else the status. */
function errorMessage(res: ApiResponse): string {
  const body = res.body;
  if (typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string") {
    const m = oneLine((body as { message: string }).message);
    if (m !== "") return m;
  }
  if (typeof body === "string" && oneLine(body) !== "") return oneLine(body);
  return `the API answered ${res.status} ${http.STATUS_CODES[res.status] ?? ""} with no message`.replace(/ +with/, " with");
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

const REASONS: Record<string, string> = {
  ENOENT: "no such socket",
  ECONNREFUSED: "connection refused",
  EACCES: "permission denied (the API socket is root-only)",
  EPERM: "permission denied",
  ENOTFOUND: "unknown host",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
};

function unreachable(ep: Endpoint, err: unknown): CliError {
  const code = (err as { code?: unknown }).code;
  const where = describeEndpoint(ep);
  const text = oneLine(describeError(err));
  if ((typeof code === "string" && code.startsWith("ERR_TLS")) || /certificate|SSL|TLS/i.test(text)) {
    return new CliError("CLI_UNREACHABLE", `TLS with ${where} failed: ${tlsReason(text)}`, { endpoint: where }, err);
  }
  if (code === "ABORT_ERR") return new CliError("CLI_FAILED", "request cancelled", { endpoint: where }, err);
  const reason = typeof code === "string" ? (REASONS[code] ?? `${code}: ${text}`) : text;
  let hint = "is shoald running?";
  if (code === "EACCES" || code === "EPERM") hint = "run as root or use -H";
  // A TLS-only listener hangs up on plain HTTP: say what to do instead.
  else if (code === "ECONNRESET" && ep.kind === "tcp" && ep.tls === undefined) hint = "if it serves TLS, use https:// with --tlscacert, --tlscert and --tlskey";
  return new CliError("CLI_UNREACHABLE", `cannot reach the shoal API at ${where} (${reason}): ${hint}`, { endpoint: where }, err);
}

/** OpenSSL's alert text, shortened to what the operator must change. */
function tlsReason(text: string): string {
  if (/certificate required/i.test(text)) return "the server requires a client certificate (--tlscert and --tlskey)";
  if (/alert (bad certificate|unknown ca|certificate unknown)/i.test(text)) return "the server refused the client certificate";
  if (/self-signed|unable to (verify|get local issuer)/i.test(text)) return `${text} (give the cluster's CA with --tlscacert)`;
  const alert = /SSL routines:[^:]*:([^:]+)/.exec(text);
  return alert === null ? text : alert[1]!.trim();
}
