// Docker routes that Shoal does not serve yet, answered 501 with a message that says why (the docker
// CLI prints it as "Error response from daemon: …") instead of the 404 "page not found" of an
// unknown route, which reads like a wrong URL or a broken install:
// - /services/{id}/logs and /tasks/{id}/logs: tasks run in the simulated executor until the runc
//   runtime is built, and that keeps no output. The service or task is looked up first, so a wrong
//   name is still a 404.
// - /networks, /secrets and /configs (every method and sub-path): overlay networks come with the
//   networking work, secrets and configs with the runtime. Until then a service that names one is
//   refused (no such network/secret/config), as before, and inspecting one is a 404.
import type { FastifyRequest } from "fastify";
import { ApiError } from "../errors.js";
import { requireManager, type RoutePlugin } from "./context.js";
import { lookupService } from "./services.js";

export const LOGS_UNAVAILABLE = "logs are not available yet: tasks run in the simulated executor, which keeps no output (logs come with the runc runtime)";
export const NETWORKS_UNAVAILABLE = "networks are not available yet: overlay networking is not built (services run without networks)";
export const SECRETS_UNAVAILABLE = "secrets are not available yet: they come with the runc runtime";
export const CONFIGS_UNAVAILABLE = "configs are not available yet: they come with the runc runtime";

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;
const METHODS = ["GET", "POST", "PUT", "DELETE"] as const;

export const unavailableRoutes: RoutePlugin = async (app, { backend }) => {
  app.get<{ Params: { id: string } }>("/services/:id/logs", { schema: { summary: "A service's logs (not available yet: 501)", tags: ["services"], params: idParams } }, async (req) => {
    const m = requireManager(backend);
    const service = m.store.view((tx) => lookupService(tx, req.params.id));
    throw new ApiError({ code: "API_NOT_IMPLEMENTED", serviceId: service.id }, LOGS_UNAVAILABLE);
  });
  app.get<{ Params: { id: string } }>("/tasks/:id/logs", { schema: { summary: "A task's logs (not available yet: 501)", tags: ["tasks"], params: idParams } }, async (req) => {
    const m = requireManager(backend);
    const task = m.store.view((tx) => tx.lookup("task", req.params.id));
    throw new ApiError({ code: "API_NOT_IMPLEMENTED", taskId: task.id }, LOGS_UNAVAILABLE);
  });
  for (const [kind, message] of [
    ["networks", NETWORKS_UNAVAILABLE],
    ["secrets", SECRETS_UNAVAILABLE],
    ["configs", CONFIGS_UNAVAILABLE],
  ] as const) {
    const refuse = async (req: FastifyRequest): Promise<never> => {
      throw new ApiError({ code: "API_NOT_IMPLEMENTED", method: req.method, url: req.url }, message);
    };
    const schema = { summary: `${kind} (not available yet: 501)`, tags: [kind] };
    // Inspecting one answers 404, which is true (none exists) and lets `docker inspect ID` go on
    // to the kinds Shoal has: it tries networks before nodes, services and tasks, and stopped at
    // a 501.
    const one = kind.slice(0, -1);
    app.get<{ Params: { id: string } }>(`/${kind}/:id`, { schema: { summary: `Inspect a ${one} (none exists yet: 404)`, tags: [kind], params: idParams } }, async (req) => {
      throw new ApiError({ code: "API_NOT_FOUND", kind: one, id: req.params.id }, `${one} ${req.params.id} not found: ${message}`);
    });
    app.route({ method: [...METHODS], url: `/${kind}`, schema, handler: refuse });
    app.route({ method: [...METHODS], url: `/${kind}/*`, schema, handler: refuse });
  }
};
