// `shoal service …`: create, ls, ps, inspect, update, scale, rollback, rm. Changes read the service
// first and send back its whole Spec with the version read. create/update/scale/rollback follow
// the service until it converges (output/progress.ts) unless -d; Ctrl-C stops only the watching.
import { Option, type Command } from "commander";
import {
  createService, editService, getService, serviceModeName, listNodes, listServices, listTasks, removeService, resolveObjectId,
  type DockerNode, type DockerService, type DockerTask, type PortConfig, type ServiceSpec,
} from "../api/index.js";
import type { ApiClient } from "../client.js";
import type { CommandContext } from "../context.js";
import { CliError, UsageError } from "../errors.js";
import { envValue } from "../io.js";
import { capitalize, listMode, OUTPUT_FORMATS, shortId, truncate, watchServiceProgress, type OutputFormat } from "../output/index.js";
import { durationArg, filterArg, filtersQuery, splitKeyValue } from "../parse/index.js";
import { addSpecOptions, applySpecFlags, baseServiceSpec, fileReference, type Resolved, type SpecFlags } from "./service-spec.js";
import { prettyService } from "./service-pretty.js";
import { forEachTarget } from "./shared.js";

export const SERVICE_FILTERS = ["id", "label", "mode", "name"] as const;
export const TASK_FILTERS = ["id", "name", "node", "desired-state"] as const;

interface WatchFlags {
  detach?: boolean;
  quiet?: boolean;
  timeout?: number;
}

export function registerServiceCommands(program: Command, ctx: CommandContext): void {
  // Positional options, so `create IMAGE cmd -p 80` passes "-p 80" to the command, as docker does.
  const service = program.command("service").description("Manage swarm services").enablePositionalOptions();
  registerCreate(service, ctx);
  registerLs(service, ctx);
  registerPs(service, ctx);
  registerInspect(service, ctx);
  registerUpdate(service, ctx);
  registerScale(service, ctx);
  registerRollback(service, ctx);
  registerRm(service, ctx);
}

function addWatchOptions(cmd: Command): Command {
  return cmd
    .option("-d, --detach", "return at once instead of following the service until it converges")
    .option("-q, --quiet", "no progress output")
    .option("--timeout <duration>", "stop following after this long (the operation goes on)", durationArg({ positive: true }));
}

/**
 * Follows the service until it converges, unless -d. Ctrl-C (SIGINT) stops the watch only: the
 * change is already with the cluster, so it says how to keep watching and exits 0… as docker.
 */
async function follow(ctx: CommandContext, client: ApiClient, id: string, label: string, flags: WatchFlags, opts: { failOnRollback?: boolean } = {}): Promise<void> {
  if (flags.detach === true) return;
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once("SIGINT", onSigint);
  const pollEnv = envValue(ctx.io.env, "SHOAL_PROGRESS_POLL_MS");
  try {
    const out = flags.quiet === true ? { write: () => true } : ctx.io.stdout;
    const result = await watchServiceProgress(client, id, out, {
      label,
      failOnRollback: opts.failOnRollback === true,
      ...(pollEnv === undefined ? {} : { pollMs: Number(pollEnv) }),
      ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout / 1e6 }),
      signal: abort.signal,
    });
    if (result === "interrupted") {
      ctx.out.error("Operation continuing in background.");
      ctx.out.error(`Use \`shoal service ps ${label}\` to check progress.`);
    }
    if (result === "timed-out") throw new CliError("CLI_FAILED", `service ${id} did not converge in time; the operation goes on. Watch it with: shoal service ps ${label}`);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

/** Name → ID lookups for networks, secrets and configs to add (create's flags and update's -add). */
async function resolveNames(client: ApiClient, flags: SpecFlags): Promise<Resolved> {
  const resolved: Resolved = { networks: [], secrets: [], configs: [], networksRm: [] };
  for (const n of [...(flags.network ?? []), ...(flags.networkAdd ?? [])]) resolved.networks.push(await resolveObjectId(client, "network", n));
  for (const s of [...(flags.secret ?? []), ...(flags.secretAdd ?? [])]) resolved.secrets.push(fileReference("secret", s, await resolveObjectId(client, "secret", s.source)));
  for (const c of [...(flags.config ?? []), ...(flags.configAdd ?? [])]) resolved.configs.push(fileReference("config", c, await resolveObjectId(client, "config", c.source)));
  // The spec holds network IDs; a network already gone can still be named by the ID it left.
  for (const n of flags.networkRm ?? []) {
    resolved.networksRm!.push(
      await resolveObjectId(client, "network", n).catch((err: unknown) => {
        if (err instanceof CliError && err.meta["kind"] === "network") return n;
        throw err;
      }),
    );
  }
  return resolved;
}

function registerCreate(service: Command, ctx: CommandContext): void {
  const cmd = service
    .command("create")
    .description("Create a service")
    .argument("<image>")
    .argument("[command...]", "command and arguments")
    .passThroughOptions();
  addWatchOptions(addSpecOptions(cmd, "create")).action(async (image: string, args: string[], flags: SpecFlags & WatchFlags) => {
    const spec = applySpecFlags(baseServiceSpec(image, args, flags), flags);
    const client = ctx.client();
    const withRefs = applySpecFlags(spec, {}, await resolveNames(client, flags));
    const { id, warnings } = await createService(client, withRefs);
    for (const w of warnings) ctx.out.error(w);
    ctx.out.line(id);
    await follow(ctx, client, id, id, flags);
  });
}

/** A service ls row: also the --format json element. */
export interface ServiceRow {
  ID: string;
  Name: string;
  Mode: string;
  Replicas: string;
  Image: string;
  Ports: string;
}

/** "busybox:latest@sha256:…" → "busybox:latest", as docker shows images in lists. */
export function shortImage(image: string | undefined): string {
  return (image ?? "").replace(/@sha256:[0-9a-f]+$/, "");
}

/**
 * Ports as docker lists them: `*:8080->80/tcp`, runs of consecutive published and target ports of
 * one protocol folded into `*:8080-8081->80-81/tcp`.
 */
export function formatPorts(ports: readonly PortConfig[] | undefined): string {
  const sorted = [...(ports ?? [])].sort(
    (a, b) => (a.Protocol ?? "tcp").localeCompare(b.Protocol ?? "tcp") || (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0) || (a.TargetPort ?? 0) - (b.TargetPort ?? 0),
  );
  const runs: { proto: string; pub: [number, number]; target: [number, number] }[] = [];
  for (const p of sorted) {
    const proto = p.Protocol ?? "tcp";
    const pub = p.PublishedPort ?? 0;
    const target = p.TargetPort ?? 0;
    const last = runs.at(-1);
    if (last !== undefined && last.proto === proto && pub > 0 && last.pub[1] + 1 === pub && last.target[1] + 1 === target) {
      last.pub[1] = pub;
      last.target[1] = target;
    } else runs.push({ proto, pub: [pub, pub], target: [target, target] });
  }
  const range = ([a, b]: [number, number]): string => (a === b ? `${a === 0 ? "" : a}` : `${a}-${b}`);
  return runs.map((r) => `*:${range(r.pub)}->${range(r.target)}/${r.proto}`).join(", ");
}

export function serviceRow(s: DockerService): ServiceRow {
  const st = s.ServiceStatus ?? {};
  let replicas = `${st.RunningTasks ?? 0}/${st.DesiredTasks ?? 0}`;
  const mode = s.Spec.Mode ?? {};
  if (mode.ReplicatedJob !== undefined) replicas += ` (${st.CompletedTasks ?? 0}/${mode.ReplicatedJob.TotalCompletions ?? mode.ReplicatedJob.MaxConcurrent ?? 1} completed)`;
  // A global job's DesiredTasks are the tasks still to complete (as Docker's): the whole is both.
  if (mode.GlobalJob !== undefined) replicas += ` (${st.CompletedTasks ?? 0}/${(st.DesiredTasks ?? 0) + (st.CompletedTasks ?? 0)} completed)`;
  const maxPerNode = s.Spec.TaskTemplate?.Placement?.MaxReplicas;
  if (maxPerNode !== undefined && maxPerNode > 0) replicas += ` (max ${maxPerNode} per node)`;
  return { ID: s.ID, Name: s.Spec.Name ?? "", Mode: serviceModeName(s.Spec), Replicas: replicas, Image: shortImage(s.Spec.TaskTemplate?.ContainerSpec?.Image), Ports: formatPorts((s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports)?.filter((p) => p.PublishMode !== "host")) };
}

function registerLs(service: Command, ctx: CommandContext): void {
  service
    .command("ls")
    .description("List services")
    .option("-q, --quiet", "print IDs only")
    .option("-f, --filter <key=value>", `filter (${SERVICE_FILTERS.join(", ")}); repeatable`, filterArg(SERVICE_FILTERS), [])
    .addOption(new Option("--format <format>", "output format").choices(OUTPUT_FORMATS))
    .action(async (opts: { quiet?: boolean; filter: string[]; format?: OutputFormat }) => {
      const mode = listMode(opts);
      const services = (await listServices(ctx.client(), filtersQuery(opts.filter))).sort((a, b) => (a.Spec.Name ?? "").localeCompare(b.Spec.Name ?? ""));
      if (mode === "quiet") return ctx.out.lines(services.map((s) => s.ID));
      const rows = services.map(serviceRow);
      if (mode === "json") return ctx.out.json(rows);
      ctx.out.table(["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"], rows.map((r) => [shortId(r.ID), r.Name, r.Mode, r.Replicas, r.Image, r.Ports]));
    });
}

/** Docker's human durations ("less than a second", "2 minutes", "About an hour"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 14) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 60) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 730) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

export interface TaskTableOpts {
  noTrunc: boolean;
  nowMs: number;
  serviceNames: ReadonlyMap<string, string>;
  hostnames: ReadonlyMap<string, string>;
}

/**
 * service ps / node ps rows: tasks grouped by slot (or node for global services), the newest of
 * each group first and older ones below it as "\_ name" history rows, as docker prints them.
 * Newest by creation, as docker sorts them: in a start-first update the old task stops after its
 * replacement started, so the newest status would put the stopped one on top.
 */
export function taskRows(tasks: readonly DockerTask[], o: TaskTableOpts): string[][] {
  const groupKey = (t: DockerTask): string => `${t.ServiceID ?? ""}.${t.Slot !== undefined && t.Slot > 0 ? String(t.Slot).padStart(8, "0") : t.NodeID ?? ""}`;
  const ts = (t: DockerTask): number => Date.parse(t.Status?.Timestamp ?? "") || 0;
  const created = (t: DockerTask): number => Date.parse(t.CreatedAt ?? "") || ts(t);
  const sorted = [...tasks].sort((a, b) => {
    const name = (o.serviceNames.get(a.ServiceID ?? "") ?? "").localeCompare(o.serviceNames.get(b.ServiceID ?? "") ?? "");
    return name || groupKey(a).localeCompare(groupKey(b)) || created(b) - created(a);
  });
  let prev = "";
  return sorted.map((t) => {
    const key = groupKey(t);
    const history = key === prev;
    prev = key;
    const svc = o.serviceNames.get(t.ServiceID ?? "") ?? shortId(t.ServiceID ?? "");
    const name = `${svc}.${t.Slot !== undefined && t.Slot > 0 ? t.Slot : t.NodeID ?? ""}`;
    const state = t.Status?.State ?? "";
    const since = ts(t) === 0 ? "" : ` ${humanDuration(o.nowMs - ts(t)).toLowerCase()} ago`;
    const err = t.Status?.Err ?? "";
    const image = t.Spec?.ContainerSpec?.Image ?? "";
    return [
      shortId(t.ID, o.noTrunc),
      history ? ` \\_ ${name}` : name,
      o.noTrunc ? image : shortImage(image),
      o.hostnames.get(t.NodeID ?? "") ?? t.NodeID ?? "",
      capitalize(t.DesiredState),
      `${capitalize(state)}${since}`,
      // Docker's cut: 29 characters and an ellipsis.
      err === "" ? "" : o.noTrunc ? `"${err}"` : `"${truncate(err, 30)}"`,
      formatPorts(t.Status?.PortStatus?.Ports),
    ];
  });
}

export const TASK_COLUMNS = ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"];

export function hostnameMap(nodes: readonly DockerNode[]): Map<string, string> {
  return new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
}

/** Task filters from --filter flags plus fixed ones, as the map listTasks takes. */
export function taskFilterMap(flags: readonly string[], fixed: Record<string, string[]>): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const f of flags) {
    const [k, v] = splitKeyValue(f);
    (map[k] ??= []).push(v);
  }
  for (const [k, v] of Object.entries(fixed)) (map[k] ??= []).push(...v);
  return map;
}

function registerPs(service: Command, ctx: CommandContext): void {
  service
    .command("ps")
    .description("List the tasks of services, with their history")
    .argument("<service...>")
    .option("--no-trunc", "do not truncate IDs, images and errors")
    .option("-q, --quiet", "print task IDs only")
    .option("-f, --filter <key=value>", `filter (${TASK_FILTERS.join(", ")}); repeatable`, filterArg(TASK_FILTERS), [])
    .action(async (refs: string[], opts: { trunc: boolean; quiet?: boolean; filter: string[] }) => {
      const client = ctx.client();
      const services: DockerService[] = [];
      await forEachTarget(refs, async (ref) => {
        services.push(await getService(client, ref));
      });
      const tasks = await listTasks(client, taskFilterMap(opts.filter, { service: services.map((s) => s.ID) }));
      if (opts.quiet === true) return ctx.out.lines(tasks.map((t) => t.ID));
      const rows = taskRows(tasks, { noTrunc: !opts.trunc, nowMs: Date.now(), serviceNames: new Map(services.map((s) => [s.ID, s.Spec.Name ?? s.ID])), hostnames: hostnameMap(await listNodes(client)) });
      ctx.out.table(TASK_COLUMNS, rows);
    });
}

function registerInspect(service: Command, ctx: CommandContext): void {
  service
    .command("inspect")
    .description("Show services in detail (JSON unless --pretty)")
    .argument("<service...>")
    .option("--pretty", "human-readable form")
    .action(async (refs: string[], opts: { pretty?: boolean }) => {
      const client = ctx.client();
      const found: DockerService[] = [];
      let failure: unknown;
      await forEachTarget(refs, async (ref) => {
        found.push(await getService(client, ref, { insertDefaults: true }));
      }).catch((err: unknown) => (failure = err));
      // What was found is printed even if some names were not (as docker does); a manager that
      // could not be reached answered nothing, so nothing is printed but the error.
      const answered = !(failure instanceof CliError) || failure.code !== "CLI_UNREACHABLE";
      if (answered && opts.pretty !== true) ctx.out.json(found);
      if (answered && opts.pretty === true) {
        found.forEach((s, i) => {
          if (i > 0) ctx.out.line();
          ctx.out.fields(prettyService(s));
        });
      }
      if (failure !== undefined) throw failure;
    });
}

function registerUpdate(service: Command, ctx: CommandContext): void {
  const cmd = service.command("update").description("Update a service (flags change only what they name)").argument("<service>");
  addWatchOptions(addSpecOptions(cmd, "update")).action(async (ref: string, flags: SpecFlags & WatchFlags & { rollback?: boolean }) => {
    const client = ctx.client();
    const read = await getService(client, ref);
    if (flags.rollback === true) {
      await rollback(ctx, client, ref, read, flags);
      return;
    }
    const names = await resolveNames(client, flags);
    const { warnings } = await editService(client, read, (spec) => applySpecFlags(spec, flags, names));
    for (const w of warnings) ctx.out.error(w);
    ctx.out.line(ref);
    // The cluster rolling this update back (failure action rollback) fails the command.
    await follow(ctx, client, read.ID, ref, flags, { failOnRollback: true });
  });
}

async function rollback(ctx: CommandContext, client: ApiClient, ref: string, read: DockerService, flags: WatchFlags): Promise<void> {
  if (read.PreviousSpec === undefined) throw new CliError("CLI_FAILED", `service ${read.Spec.Name ?? read.ID} has no previous spec to roll back to`);
  const { warnings } = await editService(client, read, (spec) => spec, { rollback: true });
  for (const w of warnings) ctx.out.error(w);
  ctx.out.line(ref);
  await follow(ctx, client, read.ID, ref, flags);
}

function scaleArg(value: string, previous: [string, number][] = []): [string, number][] {
  const [name, n] = splitKeyValue(value);
  if (!value.includes("=") || name === "" || !/^\d+$/.test(n)) throw new UsageError(`invalid scale specifier '${value}': expected SERVICE=REPLICAS`);
  if (previous.some(([p]) => p === name)) throw new UsageError(`service ${name} is given twice: scale it to one number`);
  return [...previous, [name, Number(n)]];
}

function registerScale(service: Command, ctx: CommandContext): void {
  addWatchOptions(service.command("scale").description("Scale replicated services").argument("<service=replicas...>")).action(async (specs: string[], flags: WatchFlags) => {
    const pairs = specs.reduce<[string, number][]>((acc, s) => scaleArg(s, acc), []);
    const client = ctx.client();
    const scaled: [string, string][] = [];
    await forEachTarget(
      pairs.map(([n]) => n),
      async (name) => {
        const replicas = pairs.find(([n]) => n === name)![1];
        const first = await getService(client, name);
        const scale = (read: ServiceSpec): ServiceSpec => {
          const spec = structuredClone(read);
          if (spec.Mode?.Replicated !== undefined) spec.Mode.Replicated.Replicas = replicas;
          else if (spec.Mode?.ReplicatedJob !== undefined) spec.Mode.ReplicatedJob.TotalCompletions = replicas;
          else throw new CliError("CLI_FAILED", `${name}: scale can only be used with replicated or replicated-job mode`);
          return spec;
        };
        const { read } = await editService(client, first, scale);
        ctx.out.line(`${name} scaled to ${replicas}`);
        scaled.push([read.ID, name]);
      },
    ).finally(async () => {
      for (const [id, name] of scaled) await follow(ctx, client, id, name, flags);
    });
  });
}

function registerRollback(service: Command, ctx: CommandContext): void {
  addWatchOptions(service.command("rollback").description("Go back to a service's previous spec").argument("<service>")).action(async (ref: string, flags: WatchFlags) => {
    const client = ctx.client();
    await rollback(ctx, client, ref, await getService(client, ref), flags);
  });
}

function registerRm(service: Command, ctx: CommandContext): void {
  service
    .command("rm")
    .description("Remove services")
    .argument("<service...>")
    .action(async (refs: string[]) => {
      const client = ctx.client();
      await forEachTarget(refs, async (ref) => {
        await removeService(client, ref);
        ctx.out.line(ref);
      });
    });
}
