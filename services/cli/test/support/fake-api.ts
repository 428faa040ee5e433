// A fake node API for CLI tests: node:http on a unix socket in a temp dir, answering routes the
// test registers with Docker-shaped fixtures and recording every request (method, path, query,
// body) so tests can assert exactly what the CLI sent.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { run, type CliIo } from "../../src/index.js";

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. "/v1.50/nodes/wrk1". */
  path: string;
  /** The raw query string without "?" ("" when none), to assert order and encoding. */
  rawQuery: string;
  query: Record<string, string>;
  /** Parsed JSON body, or undefined when none. */
  body: unknown;
  contentType: string | undefined;
}

export interface FakeResponse {
  status?: number;
  body?: unknown;
  /** Send this text as is instead of JSON. */
  text?: string;
  contentType?: string;
}

export type Handler = (req: RecordedRequest) => FakeResponse;

export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, Handler>();

  private constructor(
    private readonly server: Server,
    readonly dir: string,
    readonly socketPath: string,
  ) {}

  static async start(): Promise<FakeApi> {
    const dir = mkdtempSync(join(tmpdir(), "shoal-cli-test-"));
    const socketPath = join(dir, "api.sock");
    const server = createServer();
    const api = new FakeApi(server, dir, socketPath);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => void api.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    return api;
  }

  /** Answers `METHOD /path` (path without the query; "/v1.50" included) with `response` or a handler. */
  on(method: string, path: string, response: FakeResponse | Handler): this {
    this.routes.set(`${method} ${path}`, typeof response === "function" ? response : () => response);
    return this;
  }

  /** "METHOD path?query" for each request so far, in order. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}${r.rawQuery === "" ? "" : `?${r.rawQuery}`}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    const rec: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      rawQuery: url.search.replace(/^\?/, ""),
      query: Object.fromEntries(url.searchParams),
      body: raw === "" ? undefined : JSON.parse(raw),
      contentType: req.headers["content-type"],
    };
    this.requests.push(rec);
    const handler = this.routes.get(`${rec.method} ${rec.path}`);
    const answer: FakeResponse = handler === undefined ? { status: 404, body: { message: `page not found: ${rec.method} ${rec.path}` } } : handler(rec);
    const status = answer.status ?? 200;
    if (answer.text !== undefined) {
      res.writeHead(status, { "Content-Type": answer.contentType ?? "text/plain" });
      res.end(answer.text);
    } else if (answer.body === undefined) {
      res.writeHead(status);
      res.end();
    } else {
      res.writeHead(status, { "Content-Type": answer.contentType ?? "application/json" });
      res.end(JSON.stringify(answer.body));
    }
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOpts {
  env?: Record<string, string | undefined>;
  /** What stdin yields (default: nothing, EOF at once). */
  stdin?: Readable;
}

/** Runs the CLI in-process against `api` (via SHOAL_HOST) and captures its output. */
export async function shoal(api: FakeApi | undefined, argv: string[], opts: CliRunOpts = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: opts.stdin ?? Readable.from([]),
    env: { ...(api === undefined ? {} : { SHOAL_HOST: `unix://${api.socketPath}` }), ...opts.env },
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
