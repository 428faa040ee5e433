// The manager's REST API (DESIGN §7): Docker Engine swarm endpoints plus /shoal/* extras.
export * from "./backend.js";
export { buildApi, DEFAULT_BODY_LIMIT_BYTES, type ApiOptions } from "./app.js";
export { startApiServer, type ApiServer, type ApiServerOptions } from "./server.js";
export { ApiError, httpErrorOf, invalidRequest, type ApiErrorCode, type HttpError } from "./errors.js";
export { requireManager, notManagerError, withLag, type ApiModules, type RoutePlugin, type ClusterStatusView } from "./routes/index.js";
export * from "./docker/index.js";
