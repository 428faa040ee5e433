// /tasks*: list with Docker's filters (what `docker service ps`, `docker node ps`, `docker stack ps`
// and the CLI's convergence polling send) and inspect. Read-only and manager-only: tasks are made
// and moved by the orchestrators, the scheduler and the agents, never through the API.
import type { ReadTx, Service, Task } from "@shoal/store";
import { isTaskDirty } from "../../orchestrator/index.js";
import { TASK_STATES, taskToDocker } from "../docker/index.js";
import { checkFilterValues, matchLabels, matchPrefixes, parseFilters, type Filters } from "../filters.js";
import { requireManagerForRead, type RoutePlugin } from "./context.js";

const TASK_FILTERS = ["id", "name", "service", "node", "desired-state", "label", "_up-to-date"] as const;
const tags = ["tasks"];

/** IDs of the objects that references (ID, name, ID prefix) resolve to; unknown ones match nothing. */
function resolveIds(tx: ReadTx, kind: "service" | "node", refs: readonly string[] | undefined): Set<string> | undefined {
  if (refs === undefined) return undefined;
  const ids = new Set<string>();
  for (const ref of refs) {
    try {
      ids.add(tx.lookup(kind, ref).id);
    } catch {
      // A service or node that does not exist (any more) has no tasks: the CLI polls after removals.
    }
  }
  return ids;
}

function upToDate(task: Task, services: ReadonlyMap<string, Service>): boolean {
  const s = services.get(task.serviceId);
  return s !== undefined && !isTaskDirty(s, task);
}

/** The tasks of the store that the filters select. */
export function filterTasks(tx: ReadTx, f: Filters): Task[] {
  const serviceIds = resolveIds(tx, "service", f.get("service"));
  const nodeIds = resolveIds(tx, "node", f.get("node"));
  const desired = f.get("desired-state")?.map((n) => TASK_STATES.tryValue(n));
  const labels = f.get("label") ?? [];
  const wantUpToDate = f.get("_up-to-date")?.some((v) => v === "true" || v === "1");
  const services = wantUpToDate === true ? new Map(tx.find("service").map((s) => [s.id, s])) : new Map<string, Service>();
  // A service or node filter reads its tasks through the store's index (the CLI polls a service's
  // tasks every half second while it follows an update); without one, every task is looked at.
  const candidates =
    serviceIds !== undefined
      ? [...serviceIds].flatMap((id) => tx.find("task", { serviceId: id }))
      : nodeIds !== undefined
        ? [...nodeIds].flatMap((id) => tx.find("task", { nodeId: id }))
        : tx.find("task");
  return candidates.filter((t) => {
    if (!matchPrefixes(t.id, f.get("id"))) return false;
    if (!matchPrefixes(t.annotations?.name ?? "", f.get("name"))) return false;
    if (serviceIds !== undefined && !serviceIds.has(t.serviceId)) return false;
    if (nodeIds !== undefined && !nodeIds.has(t.nodeId)) return false;
    if (desired !== undefined && !desired.includes(t.desiredState)) return false;
    // Stack tooling filters tasks by their service's labels (the namespace label).
    if (labels.length > 0 && !matchLabels({ ...(t.serviceAnnotations?.labels ?? {}), ...(t.annotations?.labels ?? {}) }, labels)) return false;
    if (wantUpToDate === true && !upToDate(t, services)) return false;
    return true;
  });
}

/** The services in replicated-job mode (their tasks' slots are shown from 0, as Docker's). */
function replicatedJobIds(tx: ReadTx): Set<string> {
  return new Set(tx.find("service", { all: true }).filter((s) => s.spec.replicatedJob !== undefined).map((s) => s.id));
}

export const taskRoutes: RoutePlugin = async (app, { backend }) => {
  app.get<{ Querystring: { filters?: string } }>(
    "/tasks",
    {
      schema: {
        summary: "List tasks",
        tags,
        querystring: { type: "object", properties: { filters: { type: "string", description: `JSON map of filters: ${TASK_FILTERS.join(", ")}` } } },
      },
    },
    async (req) => {
      const filters = parseFilters(req.query.filters, TASK_FILTERS);
      checkFilterValues(filters, "desired-state", TASK_STATES.names);
      checkFilterValues(filters, "_up-to-date", ["true", "false", "1", "0"]);
      const m = await requireManagerForRead(backend);
      return m.store.view((tx) => {
        const jobs = replicatedJobIds(tx);
        return filterTasks(tx, filters).map((t) => taskToDocker(t, jobs.has(t.serviceId)));
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/tasks/:id",
    { schema: { summary: "Inspect a task", tags, params: { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, description: "task ID or unique ID prefix" } } } } },
    async (req) => {
      const m = await requireManagerForRead(backend);
      return m.store.view((tx) => {
        const t = tx.lookup("task", req.params.id);
        return taskToDocker(t, tx.get("service", t.serviceId)?.spec.replicatedJob !== undefined);
      });
    },
  );
};
