// The REST API as a fastify app (DESIGN §7), built separately from listening so tests use inject().
// Owns request parsing and validation, the version prefix, error-to-status mapping and the route
// plugins' registration. It must not reach the node except through NodeBackend.
import type { Server } from "node:http";
import swagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from "fastify";
import { API_VERSION } from "./docker/index.js";
import { httpErrorOf } from "./errors.js";
import { ROUTE_PLUGINS, type ApiModules } from "./routes/index.js";
import { formatSchemaErrors } from "./validation.js";
import { stripVersionPrefix, unsupportedVersionMessage } from "./version-prefix.js";

export interface ApiOptions {
  /** Largest accepted request body; larger ones get 413. Default 1 MiB. */
  bodyLimitBytes?: number;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

// One debug line per request (fastify's default is two info lines): the CLI polls every 200 ms.
class DebugRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(_error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    req.log.debug({ method: req.method, url: req.originalUrl, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "api: request");
  }
}

/** The API app, not listening. */
export function buildApi(opts: ApiOptions, modules: ApiModules): FastifyInstance {
  return createApp(opts, modules, undefined);
}

/** buildApi with a caller-made server (the TLS listener). */
export function createApp(opts: ApiOptions, modules: ApiModules, serverFactory: FastifyServerFactory<Server> | undefined): FastifyInstance {
  const log = modules.logger.child({ component: "api" });
  const app = Fastify({
    loggerInstance: log,
    logController: new DebugRequestLog(),
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    rewriteUrl: (req) => stripVersionPrefix(req.url ?? "/"),
    // Strict bodies: no coercion ("5" is not 5), nothing dropped (an unknown field is an error).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, verbose: true } },
    schemaErrorFormatter: (errors, dataVar) => formatSchemaErrors(errors as unknown as Parameters<typeof formatSchemaErrors>[0], dataVar),
    ...(serverFactory === undefined ? {} : { serverFactory }),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err, req, reply) => {
    const e = httpErrorOf(err);
    if (e.unexpected) req.log.error({ err, method: req.method, url: req.url }, "api: request failed");
    else req.log.debug({ method: req.method, url: req.url, statusCode: e.statusCode, message: e.message }, "api: request refused");
    return reply.code(e.statusCode).type("application/json").send({ message: e.message });
  });

  app.setNotFoundHandler((req, reply) => {
    const version = unsupportedVersionMessage(req.originalUrl);
    if (version !== undefined) return reply.code(400).type("application/json").send({ message: version });
    return reply.code(404).type("application/json").send({ message: notFoundMessage(req.method, req.url) });
  });

  // The docker CLI shows an error's message only when Content-Type is exactly "application/json"
  // (Docker's own); fastify appends "; charset=utf-8" to JSON replies, so it is put back here.
  app.addHook("onSend", async (_req, reply, payload) => {
    const type = reply.getHeader("content-type");
    if (typeof type === "string" && type.startsWith("application/json;")) void reply.header("content-type", "application/json");
    return payload;
  });

  void app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Shoal API", description: "Docker Engine API swarm endpoints (1.24–1.50, with or without a /vX.Y prefix) and Shoal's /shoal/* extras", version: API_VERSION },
    },
  });
  for (const plugin of ROUTE_PLUGINS) void app.register(plugin, modules);
  app.get("/openapi.json", { schema: { summary: "This document", tags: ["shoal"] } }, async () => app.swagger());
  return app;
}

// Docker Engine route families a Shoal node has no counterpart for: it runs work as swarm services,
// not as containers an operator manages one by one.
const ENGINE_ONLY = new Set(["containers", "images", "volumes", "events", "system", "plugins", "build", "exec", "commit"]);

/**
 * 404's message. `docker ps` against a Shoal node read "page not found: GET /containers/json",
 * which looks like a broken install; an Engine route Shoal does not have says what it serves.
 */
export function notFoundMessage(method: string, url: string): string {
  const family = url.split(/[/?]/)[1] ?? "";
  const base = `page not found: ${method} ${url}`;
  if (!ENGINE_ONLY.has(family)) return base;
  return `${base}: a Shoal node serves the Docker Engine API's swarm endpoints (swarm, nodes, services, tasks), not ${family}; see tasks with 'docker service ps' or 'docker node ps'`;
}
