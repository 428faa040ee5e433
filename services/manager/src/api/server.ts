// Listening: a root-only unix socket (the default way in) and, optionally, TCP with mutual TLS.
// Owns socket files and listeners; everything else is the app's (app.ts).
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import type { FastifyInstance, FastifyServerFactory } from "fastify";
import type { Server } from "node:http";
import { createApp, type ApiOptions } from "./app.js";
import { invalidRequest } from "./errors.js";
import type { ApiModules } from "./routes/index.js";

export interface ApiServerOptions extends ApiOptions {
  /** Unix socket path; the file gets mode 0600 and a missing parent directory is made 0700. */
  socketPath?: string;
  /** TCP listener; always TLS, and clients must present a certificate signed by caPem. */
  tcp?: { host: string; port: number; tls: { certPem: string; keyPem: string; caPem: string } };
}

export interface ApiServer {
  /** unix:///path and/or tcp://host:port */
  addresses: string[];
  close(): Promise<void>;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

// A socket file left by a crashed daemon is replaced; one that still answers belongs to a live
// server, and anything that is not a socket is not ours to delete.
async function clearStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (st === undefined) return;
  if (!st.isSocket()) throw invalidRequest(`API socket path ${path} exists and is not a socket: remove it or choose another path`);
  if (await canConnect(path)) throw invalidRequest(`API socket ${path} is in use by a running server: stop it or choose another path`);
  await unlink(path);
}

// The socket is bound inside a fresh 0700 directory, made 0600, then renamed into place: there
// is no moment at which the final path accepts connections from other users.
async function listenUnix(app: FastifyInstance, path: string): Promise<void> {
  const parent = dirname(path);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  await clearStaleSocket(path);
  const staging = await mkdtemp(join(parent, `.api-${randomBytes(4).toString("hex")}-`));
  const staged = join(staging, "api.sock");
  try {
    await app.listen({ path: staged });
    await chmod(staged, 0o600);
    await rename(staged, path);
  } finally {
    // Empty after the rename; holds the staged socket only when listening failed half-way.
    await rm(staging, { recursive: true, force: true });
  }
}

function tlsServerFactory(tls: { certPem: string; keyPem: string; caPem: string }): FastifyServerFactory<Server> {
  return (handler) =>
    createHttpsServer({ cert: tls.certPem, key: tls.keyPem, ca: tls.caPem, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2" }, handler) as unknown as Server;
}

/** Starts the API on the configured listeners; close() stops them and removes the socket file. */
export async function startApiServer(opts: ApiServerOptions, modules: ApiModules): Promise<ApiServer> {
  if (opts.socketPath === undefined && opts.tcp === undefined) throw invalidRequest("the API needs a socketPath or a tcp listener");
  const apps: FastifyInstance[] = [];
  const addresses: string[] = [];
  const close = async (): Promise<void> => {
    for (const app of apps.reverse()) await app.close();
    if (opts.socketPath !== undefined && addresses.includes(`unix://${opts.socketPath}`)) await unlink(opts.socketPath).catch(() => undefined);
  };
  try {
    if (opts.socketPath !== undefined) {
      const app = createApp(opts, modules, undefined);
      apps.push(app);
      await listenUnix(app, opts.socketPath);
      addresses.push(`unix://${opts.socketPath}`);
    }
    if (opts.tcp !== undefined) {
      const app = createApp(opts, modules, tlsServerFactory(opts.tcp.tls));
      apps.push(app);
      await app.listen({ host: opts.tcp.host, port: opts.tcp.port });
      addresses.push(`tcp://${opts.tcp.host}:${opts.tcp.port}`);
    }
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  modules.logger.child({ component: "api" }).info({ addresses }, "api: listening");
  return { addresses, close };
}
