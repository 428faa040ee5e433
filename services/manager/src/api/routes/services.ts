// /services*: create, list (with Docker's filters and `status=true` counts), inspect (by ID, name
// or ID prefix; `insertDefaults`), update (`rollback=previous`), remove. Manager-only. This file owns
// the API edge: validation Docker does before storing (one mode, a name, an image, valid placement),
// references resolved to IDs (networks, secrets, configs), and the single store write. Reconciling tasks is the orchestrators'
// and the updater's job: a removal only marks the service pendingDelete for them.
import { randomInt } from "node:crypto";
import { errorCode, parseImageReference, type Random } from "@shoal/common";
import {
  NodeAvailability,
  NodeState,
  ResolutionMode,
  TaskState,
  copyObject,
  generateId,
  type Node,
  type ReadTx,
  type Service,
  type ServiceSpec,
  type Task,
} from "@shoal/store";
// Published ports are refused at API time when another service holds them (DESIGN §2), so the
// allocator rarely meets a conflict it can only leave out and retry.
import { checkPortConflicts, isIngress } from "../../allocator/index.js";
import { isJob, placementAllows, serviceMode, specMode } from "../../orchestrator/index.js";
import { parseConstraints, parseSpreadDescriptor } from "../../scheduler/index.js";
import { rollbackToPrevious, withNewSpec } from "../../updater/index.js";
import { dockerServiceSpecSchema, modesOf, serviceSpecFromDocker, serviceToDocker, type DockerServiceSpec, type DockerServiceStatus } from "../docker/index.js";
import { ApiError, invalidRequest } from "../errors.js";
import { checkEnv, checkHealthcheck, checkMounts, checkResources } from "../task-template-checks.js";
import { checkFilterValues, matchLabels, matchPrefixes, parseFilters, type Filters } from "../filters.js";
import { parseQueryBool, parseVersion, queryBool, queryParam, queryVersion } from "../validation.js";
import { requireManager, requireManagerForRead, type RoutePlugin } from "./context.js";

const SERVICE_FILTERS = ["id", "name", "label", "mode"] as const;
const MODE_NAMES = ["replicated", "global", "replicated-job", "global-job"] as const;
const tags = ["services"];
const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, description: "service ID, name or unique ID prefix" } },
};

/** Object IDs from the OS's CSPRNG: service IDs are guessable otherwise. */
export const cryptoRandom: Random = {
  next: () => randomInt(0, 2 ** 48) / 2 ** 48,
  int: (n) => randomInt(0, n),
};

/** A service the user removed is gone for the API, even while its tasks are being shut down. */
function isLive(s: Service): boolean {
  return s.pendingDelete !== true;
}

/** Resolves a service reference as Docker does; a service being removed is not found. */
export function lookupService(tx: ReadTx, ref: string): Service {
  const s = tx.lookup("service", ref);
  if (!isLive(s)) throw new ApiError({ code: "API_NOT_FOUND", ref }, `service ${ref} not found`);
  return s;
}

/**
 * Docker's checks beyond the schema: exactly one mode, a name, an image reference that parses,
 * mounts, resources, a health check and environment a task can start with, no ingress port on a
 * dnsrr service, placement the scheduler can parse. Throws API_INVALID (or the
 * scheduler's *_INVALID) naming what to fix.
 */
function checkSpec(body: DockerServiceSpec, spec: ServiceSpec): void {
  if (modesOf(body).length > 1) throw invalidRequest(`invalid Mode: set only one of Replicated, Global, ReplicatedJob, GlobalJob (got ${modesOf(body).join(", ")})`, { field: "Mode" });
  if (spec.annotations.name === "") throw invalidRequest("missing field Name in the request body: a service needs a name", { field: "Name" });
  if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,62})$/.test(spec.annotations.name)) {
    throw invalidRequest(`invalid Name "${spec.annotations.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 63 characters`, { field: "Name" });
  }
  if (spec.task.container === undefined || spec.task.container.image === "") {
    throw invalidRequest("missing field TaskTemplate.ContainerSpec.Image in the request body: image reference must be provided", { field: "TaskTemplate.ContainerSpec.Image" });
  }
  // As swarm refuses it: stored, every task would fail at its pull.
  const image = parseImageReference(spec.task.container.image);
  if (!image.ok) {
    throw invalidRequest(`invalid TaskTemplate.ContainerSpec.Image "${spec.task.container.image}": not a valid image reference: ${image.reason}`, { field: "TaskTemplate.ContainerSpec.Image" });
  }
  // As swarm refuses it: the routing mesh balances an ingress port to the service's virtual IP,
  // and a dnsrr service has none.
  if (spec.endpoint?.mode === ResolutionMode.DNSRR) {
    const ingress = (spec.endpoint.ports ?? []).find(isIngress);
    if (ingress !== undefined) {
      const port = ingress.publishedPort ? `${ingress.publishedPort}:${ingress.targetPort}` : String(ingress.targetPort);
      throw invalidRequest(
        `invalid EndpointSpec: port ${port} is published in ingress mode, which needs a virtual IP, and endpoint mode dnsrr has none; publish it with mode=host or use endpoint mode vip`,
        { field: "EndpointSpec.Ports" },
      );
    }
  }
  checkMounts(spec.task.container.mounts);
  checkResources(spec.task.resources);
  checkHealthcheck(spec.task.container.healthcheck);
  checkEnv(spec.task.container.env);
  parseConstraints(spec.task.placement?.constraints);
  for (const p of spec.task.placement?.preferences ?? []) {
    if (p.spread !== undefined) parseSpreadDescriptor(p.spread.spreadDescriptor);
  }
}

/**
 * References by ID or name, resolved to the objects' IDs (and names) as stored: stack deploy names
 * networks by name, and a secret or config that does not exist is refused before anything is written.
 */
function resolveReferences(tx: ReadTx, spec: ServiceSpec): ServiceSpec {
  const out = copyObject(spec);
  const t = out.task;
  if (t.networks !== undefined) t.networks = t.networks.map((n) => ({ ...n, target: tx.lookup("network", n.target).id }));
  const c = t.container;
  if (c?.secrets !== undefined) {
    c.secrets = c.secrets.map((r) => {
      const secret = tx.lookup("secret", r.secretId || r.secretName);
      return { ...r, secretId: secret.id, secretName: secret.spec.annotations.name };
    });
  }
  if (c?.configs !== undefined) {
    c.configs = c.configs.map((r) => {
      const config = tx.lookup("config", r.configId || r.configName);
      return { ...r, configId: config.id, configName: config.spec.annotations.name };
    });
  }
  return out;
}

/** Warnings for what the request sent that Shoal accepts but does not apply. */
function warningsOf(body: DockerServiceSpec): string[] {
  const dns = (body.TaskTemplate?.["ContainerSpec"] as Record<string, unknown> | null | undefined)?.["DNSConfig"] as Record<string, unknown[] | null> | null | undefined;
  const set = dns != null && Object.values(dns).some((v) => Array.isArray(v) && v.length > 0);
  return set ? ["ContainerSpec.DNSConfig is not supported by Shoal yet and was ignored"] : [];
}

function serviceMatches(s: Service, f: Filters): boolean {
  if (!matchPrefixes(s.id, f.get("id"))) return false;
  if (!matchPrefixes(s.spec.annotations.name, f.get("name"))) return false;
  if (!matchLabels(s.spec.annotations.labels ?? {}, f.get("label") ?? [])) return false;
  const modes = f.get("mode");
  if (modes !== undefined && !modes.includes(serviceMode(s) ?? "replicated")) return false;
  return true;
}

/** A node whose tasks count: any node that is not down (drained ones are left out of eligibility separately). */
function nodeUp(n: Node | undefined): boolean {
  return n !== undefined && n.status.state !== NodeState.DOWN;
}

/**
 * `ServiceStatus` as Docker computes it: running = tasks running and meant to run on nodes that
 * are not down; desired = replicas, eligible nodes for global modes, and what is left of a job.
 */
export function serviceStatus(s: Service, tasks: readonly Task[], nodes: ReadonlyMap<string, Node>): DockerServiceStatus {
  const iteration = s.jobStatus?.jobIteration;
  // One pass, no intermediate arrays: `service ls` counts every task of every service.
  let running = 0;
  let completed = 0;
  for (const t of tasks) {
    if (iteration !== undefined && t.jobIteration !== undefined && t.jobIteration !== iteration) continue;
    const state = t.status.state;
    if (state === TaskState.RUNNING) {
      if (t.desiredState <= TaskState.COMPLETE && nodeUp(nodes.get(t.nodeId))) running++;
    } else if (state === TaskState.COMPLETE) completed++;
  }
  const mode = serviceMode(s);
  let desired: number;
  if (mode === "global" || mode === "global-job") {
    desired = [...nodes.values()].filter((n) => nodeUp(n) && n.spec.availability !== NodeAvailability.DRAIN && placementAllows(n, s.spec.task)).length;
    // A global job's desired tasks are those still to complete (the docker CLI shows
    // "running/desired (completed/desired+completed completed)").
    if (mode === "global-job") desired = Math.max(0, desired - completed);
  } else if (mode === "replicated-job") {
    const job = s.spec.replicatedJob ?? {};
    const total = job.totalCompletions ?? job.maxConcurrent ?? 1;
    desired = Math.max(0, Math.min(job.maxConcurrent ?? 1, total - completed));
  } else desired = s.spec.replicated?.replicas ?? 1;
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: isJob(s) ? completed : 0 };
}

/** Docker's wording, or why the name is still taken when its service is being removed. */
function nameConflict(tx: ReadTx, name: string): ApiError {
  const taken = tx.find("service", { name })[0];
  const message =
    taken?.pendingDelete === true
      ? `name conflicts with an existing object: service ${name} is being removed (its tasks are shutting down); try again in a few seconds`
      : `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${name} already exists`;
  return new ApiError({ code: "API_CONFLICT", name }, message);
}

export const serviceRoutes: RoutePlugin = async (app, { backend }) => {
  app.post<{ Body: DockerServiceSpec }>(
    "/services/create",
    { schema: { summary: "Create a service", tags, body: dockerServiceSpecSchema } },
    async (req, reply) => {
      const m = requireManager(backend);
      const spec = serviceSpecFromDocker(req.body);
      checkSpec(req.body, spec);
      const id = generateId(cryptoRandom);
      try {
        await m.store.update((tx) => {
          tx.create("service", { id, spec: resolveReferences(tx, spec) });
          // After the name and references (their errors come first, as Docker's); a throw here
          // aborts the whole write. The check reads the committed services, so not this one.
          checkPortConflicts(m.store, spec);
        });
      } catch (err) {
        if (errorCode(err) === "STORE_NAME_CONFLICT") throw m.store.view((tx) => nameConflict(tx, spec.annotations.name));
        throw err;
      }
      const warnings = warningsOf(req.body);
      return reply.code(201).send(warnings.length > 0 ? { ID: id, Warnings: warnings } : { ID: id });
    },
  );

  app.get<{ Querystring: { filters?: string; status?: string } }>(
    "/services",
    {
      schema: {
        summary: "List services",
        tags,
        querystring: {
          type: "object",
          properties: { filters: { type: "string", description: `JSON map of filters: ${SERVICE_FILTERS.join(", ")}` }, status: queryBool },
        },
      },
    },
    async (req) => {
      const filters = parseFilters(req.query.filters, SERVICE_FILTERS);
      checkFilterValues(filters, "mode", MODE_NAMES);
      const withStatus = parseQueryBool(req.query.status);
      const m = await requireManagerForRead(backend);
      return m.store.view((tx) => {
        const services = tx.find("service").filter((s) => isLive(s) && serviceMatches(s, filters));
        if (!withStatus) return services.map((s) => serviceToDocker(s));
        const nodes = new Map(tx.find("node").map((n) => [n.id, n]));
        return services.map((s) => serviceToDocker(s, { status: serviceStatus(s, tx.find("task", { serviceId: s.id }), nodes) }));
      });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { insertDefaults?: string } }>(
    "/services/:id",
    { schema: { summary: "Inspect a service (insertDefaults fills Docker's defaults into the spec)", tags, params: idParams, querystring: { type: "object", properties: { insertDefaults: queryBool } } } },
    async (req) => {
      const m = await requireManagerForRead(backend);
      const service = m.store.view((tx) => lookupService(tx, req.params.id));
      return serviceToDocker(service, { insertDefaults: parseQueryBool(req.query.insertDefaults) });
    },
  );

  app.post<{ Params: { id: string }; Querystring: { version?: string; rollback?: string; registryAuthFrom?: string }; Body: DockerServiceSpec }>(
    "/services/:id/update",
    {
      schema: {
        summary: "Replace a service's spec (the version read is required); rollback=previous returns to the previous spec",
        tags,
        params: idParams,
        querystring: {
          type: "object",
          required: ["version"],
          properties: {
            version: queryVersion,
            rollback: queryParam("^(previous|)$", 'empty or "previous"'),
            registryAuthFrom: queryParam("^(spec|previous-spec|)$", 'empty, "spec" or "previous-spec"'),
          },
        },
        body: dockerServiceSpecSchema,
      },
    },
    async (req) => {
      const m = requireManager(backend);
      const version = parseVersion(req.query.version);
      const rollback = req.query.rollback === "previous";
      // The CLI sends the current spec with rollback=previous; only the previous spec matters then.
      const spec = rollback ? undefined : serviceSpecFromDocker(req.body);
      if (spec !== undefined) checkSpec(req.body, spec);
      await m.store.update((tx) => {
        const current = lookupService(tx, req.params.id);
        let next: Service;
        if (spec === undefined) next = rollbackToPrevious(current, Date.now());
        else {
          if (spec.annotations.name.toLowerCase() !== current.spec.annotations.name.toLowerCase()) {
            throw invalidRequest(`renaming services is not supported: the service is ${current.spec.annotations.name}, the spec names ${spec.annotations.name}`, { field: "Name" });
          }
          // As swarm refuses it: each mode's orchestrator owns its tasks, and a changed mode left
          // the old mode's tasks running beside the new ones.
          const was = specMode(current.spec) ?? "replicated";
          const now = specMode(spec) ?? "replicated";
          if (was !== now) {
            throw invalidRequest(`service mode change is not allowed: ${current.spec.annotations.name} is ${was}, the spec makes it ${now}; remove the service and create it again`, { field: "Mode" });
          }
          next = withNewSpec(current, resolveReferences(tx, spec));
          // The service's own ports are no conflict: it may keep them.
          checkPortConflicts(m.store, spec, current.id);
        }
        // The version read by the client: the store refuses the write if the service moved since.
        next.meta = { ...next.meta, version: { index: version } };
        tx.update("service", next);
      });
      const warnings = rollback ? [] : warningsOf(req.body);
      return { Warnings: warnings.length > 0 ? warnings : null };
    },
  );

  app.delete<{ Params: { id: string } }>("/services/:id", { schema: { summary: "Remove a service (its tasks are shut down, then it is deleted)", tags, params: idParams } }, async (req, reply) => {
    const m = requireManager(backend);
    await m.store.update((tx) => {
      const current = lookupService(tx, req.params.id);
      // The orchestrator shuts the tasks down and the task reaper deletes the service afterwards.
      tx.update("service", { ...current, pendingDelete: true });
    });
    return reply.code(200).send();
  });
};
