// /services/{id}/logs and /tasks/{id}/logs: the logs of a service's or a task's containers. Tasks
// run in the simulated executor until the runc runtime is built, and that keeps no output, so these
// answer 501 with a message that says so (the docker CLI prints it) instead of the 404 "page not
// found" of an unknown route. The service or task is looked up first: a wrong name is still a 404.
import { ApiError } from "../errors.js";
import { requireManager, type RoutePlugin } from "./context.js";
import { lookupService } from "./services.js";

export const LOGS_UNAVAILABLE = "logs are not available yet: tasks run in the simulated executor, which keeps no output (logs come with the runc runtime)";

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;

export const logRoutes: RoutePlugin = async (app, { backend }) => {
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
};
