// service create/update flags → a Docker ServiceSpec. The flags are declared once (addSpecOptions)
// for both commands; applySpecFlags sets only what was given, so create starts from docker's
// defaults and update from the Spec it read (unknown fields go back untouched). Name → ID lookups
// (networks, secrets, configs) are done by the caller first and passed in. Pure apart from commander.
import { Option, type Command } from "commander";
import { familiarImageReference, parseImageReference } from "@shoal/common";
import type { FileReference, PortConfig, ServiceSpec, TaskTemplate, UpdateConfig } from "../api/index.js";
import { UsageError } from "../errors.js";
import {
  countArg, cpuArg, durationArg, fileRefArg, keyValueArg, mountArg, placementPrefArg, publishArg, ratioArg, repeatedArg, sizeArg, splitKeyValue,
  type FileRefFlag, type MountFlag,
} from "../parse/index.js";

export const SERVICE_MODES = ["replicated", "global", "replicated-job", "global-job"] as const;

export interface SpecFlags {
  name?: string;
  replicas?: number;
  mode?: (typeof SERVICE_MODES)[number];
  maxConcurrent?: number;
  replicasMaxPerNode?: number;
  reserveCpu?: number;
  reserveMemory?: number;
  limitCpu?: number;
  limitMemory?: number;
  restartCondition?: string;
  restartDelay?: number;
  restartMaxAttempts?: number;
  restartWindow?: number;
  healthCmd?: string;
  healthInterval?: number;
  healthTimeout?: number;
  healthRetries?: number;
  healthStartPeriod?: number;
  healthcheck?: boolean;
  stopGracePeriod?: number;
  workdir?: string;
  user?: string;
  hostname?: string;
  // create
  env?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: string[];
  publish?: PortConfig[];
  mount?: MountFlag[];
  secret?: FileRefFlag[];
  config?: FileRefFlag[];
  network?: string[];
  // update
  image?: string;
  force?: boolean;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  publishAdd?: PortConfig[];
  endpointMode?: "vip" | "dnsrr";
  publishRm?: string[];
  mountAdd?: MountFlag[];
  mountRm?: string[];
  secretAdd?: FileRefFlag[];
  secretRm?: string[];
  configAdd?: FileRefFlag[];
  configRm?: string[];
  networkAdd?: string[];
  networkRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  [updateOrRollback: string]: unknown;
}

/** Resolved IDs for the names the flags gave (networks to add, and to remove: by name or ID). */
export interface Resolved {
  networks: string[];
  secrets: FileReference[];
  configs: FileReference[];
  networksRm?: string[];
}

function addUpdateConfigOptions(cmd: Command, prefix: "update" | "rollback"): void {
  const actions = prefix === "update" ? ["pause", "continue", "rollback"] : ["pause", "continue"];
  cmd
    .option(`--${prefix}-parallelism <n>`, `tasks ${prefix}d at once (0: all)`, countArg)
    .option(`--${prefix}-delay <duration>`, `delay between ${prefix}s`, durationArg())
    .addOption(new Option(`--${prefix}-failure-action <action>`, `on failure`).choices(actions))
    .option(`--${prefix}-monitor <duration>`, "how long to watch each task for failure", durationArg())
    .option(`--${prefix}-max-failure-ratio <ratio>`, "failure rate to tolerate (0-1)", ratioArg)
    .addOption(new Option(`--${prefix}-order <order>`, "stop-first or start-first").choices(["stop-first", "start-first"]));
}

/** The flags create and update share, plus each one's own (update: the -add/-rm forms). */
export function addSpecOptions(cmd: Command, kind: "create" | "update"): Command {
  cmd
    .option("--replicas <n>", "number of tasks", countArg)
    .option("--max-concurrent <n>", "jobs: tasks running at once", countArg)
    .option("--replicas-max-per-node <n>", "at most this many tasks per node (0: no limit)", countArg)
    .option("--reserve-cpu <cpus>", "CPUs to reserve, e.g. 0.5", cpuArg)
    .option("--reserve-memory <size>", "memory to reserve, e.g. 64MiB", sizeArg)
    .option("--limit-cpu <cpus>", "CPU limit", cpuArg)
    .option("--limit-memory <size>", "memory limit", sizeArg)
    .addOption(new Option("--restart-condition <condition>", "when to restart").choices(["none", "on-failure", "any"]))
    .option("--restart-delay <duration>", "delay between restarts", durationArg())
    .option("--restart-max-attempts <n>", "give up after this many restarts", countArg)
    .option("--restart-window <duration>", "window to evaluate the restart policy", durationArg())
    .option("--health-cmd <command>", "health check command (run by the shell)")
    .option("--health-interval <duration>", "time between checks", durationArg())
    .option("--health-timeout <duration>", "time a check may take", durationArg())
    .option("--health-retries <n>", "failures before unhealthy", countArg)
    .option("--health-start-period <duration>", "grace period before failures count", durationArg())
    .option("--no-healthcheck", "disable the image's health check")
    .option("--stop-grace-period <duration>", "time before a container is killed", durationArg())
    .option("-w, --workdir <dir>", "working directory in the container")
    .option("-u, --user <user>", "user[:group]")
    .option("--hostname <name>", "container hostname")
    .addOption(new Option("--endpoint-mode <mode>", "how clients reach the tasks: one virtual IP, or DNS round robin").choices(["vip", "dnsrr"]));
  addUpdateConfigOptions(cmd, "update");
  addUpdateConfigOptions(cmd, "rollback");
  if (kind === "create") {
    cmd
      .option("--name <name>", "service name")
      .addOption(new Option("--mode <mode>", "service mode").choices(SERVICE_MODES).default("replicated"))
      .option("-e, --env <key=value>", "environment variable; repeatable", keyValueArg, [])
      .option("--label <key=value>", "service label; repeatable", keyValueArg, [])
      .option("--container-label <key=value>", "container label; repeatable", keyValueArg, [])
      .option("--constraint <expr>", "placement constraint, e.g. node.role==worker; repeatable", repeatedArg, [])
      .option("--placement-pref <pref>", "spread=node.labels.zone; repeatable", placementPrefArg, [])
      .option("-p, --publish <port>", "published:target[/proto] or mode=host,target=80,published=8080; repeatable", publishArg, [])
      .option("--mount <mount>", "type=bind|volume|tmpfs,source=…,target=…[,readonly]; repeatable", mountArg, [])
      .option("--secret <secret>", "name or source=,target=,uid=,gid=,mode=; repeatable", fileRefArg, [])
      .option("--config <config>", "name or source=,target=,uid=,gid=,mode=; repeatable", fileRefArg, [])
      .option("--network <name>", "network to attach; repeatable", repeatedArg, []);
  } else {
    cmd
      .option("--image <image>", "new image")
      .option("--force", "update even if nothing changed (restarts every task)")
      .option("--rollback", "roll back to the previous spec")
      .option("--env-add <key=value>", "add or change an environment variable; repeatable", keyValueArg, [])
      .option("--env-rm <key>", "remove an environment variable; repeatable", repeatedArg, [])
      .option("--label-add <key=value>", "add or change a service label; repeatable", keyValueArg, [])
      .option("--label-rm <key>", "remove a service label; repeatable", repeatedArg, [])
      .option("--constraint-add <expr>", "add a placement constraint; repeatable", repeatedArg, [])
      .option("--constraint-rm <expr>", "remove a placement constraint; repeatable", repeatedArg, [])
      .option("--publish-add <port>", "publish a port; repeatable", publishArg, [])
      .option("--publish-rm <target[/proto]>", "unpublish a target port; repeatable", repeatedArg, [])
      .option("--mount-add <mount>", "add a mount (as --mount); repeatable", mountArg, [])
      .option("--mount-rm <target>", "remove the mount at this target; repeatable", repeatedArg, [])
      .option("--secret-add <secret>", "add a secret (as --secret); repeatable", fileRefArg, [])
      .option("--secret-rm <name>", "remove a secret; repeatable", repeatedArg, [])
      .option("--config-add <config>", "add a config (as --config); repeatable", fileRefArg, [])
      .option("--config-rm <name>", "remove a config; repeatable", repeatedArg, [])
      .option("--network-add <name>", "attach a network; repeatable", repeatedArg, [])
      .option("--network-rm <name>", "detach a network; repeatable", repeatedArg, [])
      .option("--container-label-add <key=value>", "add or change a container label; repeatable", keyValueArg, [])
      .option("--container-label-rm <key>", "remove a container label; repeatable", repeatedArg, [])
      .option("--placement-pref-add <pref>", "add spread=<descriptor>; repeatable", placementPrefArg, [])
      .option("--placement-pref-rm <pref>", "remove spread=<descriptor>; repeatable", placementPrefArg, []);
  }
  return cmd;
}

/**
 * The image as the docker CLI sends it ("busybox" → "busybox:latest"), so that a service made by
 * one CLI and updated by the other does not see a changed image and redeploy. One that does not
 * parse goes as typed, for the API to refuse with the reason.
 */
function familiarImage(image: string): string {
  const r = parseImageReference(image);
  return r.ok ? familiarImageReference(r.ref) : image;
}

function defaultUpdateConfig(): UpdateConfig {
  return { Parallelism: 1, FailureAction: "pause", Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: "stop-first" };
}

/** Docker's create body before flags: defaults for the mode, update and rollback configs. */
export function baseServiceSpec(image: string, args: readonly string[], flags: SpecFlags): ServiceSpec {
  const spec: ServiceSpec = {
    Labels: {},
    TaskTemplate: { ContainerSpec: { Image: familiarImage(image) }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 },
    UpdateConfig: defaultUpdateConfig(),
    RollbackConfig: defaultUpdateConfig(),
    EndpointSpec: { Mode: "vip" },
  };
  if (flags.name !== undefined) spec.Name = flags.name;
  if (args.length > 0) spec.TaskTemplate!.ContainerSpec!.Args = [...args];
  const mode = flags.mode ?? "replicated";
  if ((mode === "global" || mode === "global-job") && flags.replicas !== undefined) throw new UsageError(`--replicas cannot be used with --mode ${mode}`);
  if (mode !== "replicated-job" && flags.maxConcurrent !== undefined) throw new UsageError("--max-concurrent needs --mode replicated-job");
  if (mode === "replicated") spec.Mode = { Replicated: { Replicas: 1 } };
  else if (mode === "global") spec.Mode = { Global: {} };
  else if (mode === "global-job") spec.Mode = { GlobalJob: {} };
  else spec.Mode = { ReplicatedJob: { MaxConcurrent: flags.maxConcurrent ?? flags.replicas ?? 1, TotalCompletions: flags.replicas ?? flags.maxConcurrent ?? 1 } };
  return spec;
}

function setUpdateConfig(target: UpdateConfig, flags: SpecFlags, prefix: "update" | "rollback"): void {
  const f = (k: string): unknown => flags[`${prefix}${k}`];
  const fields: [string, keyof UpdateConfig][] = [["Parallelism", "Parallelism"], ["Delay", "Delay"], ["FailureAction", "FailureAction"], ["Monitor", "Monitor"], ["MaxFailureRatio", "MaxFailureRatio"], ["Order", "Order"]];
  for (const [flag, field] of fields) if (f(flag) !== undefined) target[field] = f(flag);
}

function envKey(kv: string): string {
  return splitKeyValue(kv)[0];
}

function portKey(p: PortConfig): string {
  return `${p.TargetPort ?? 0}/${p.Protocol ?? "tcp"}`;
}

/**
 * The spec with every given flag applied (a copy; `spec` is not changed). Update-only flags
 * (-add/-rm, --image, --force) and create-only lists are both handled: a list flag that was not
 * given is an empty array and changes nothing.
 */
export function applySpecFlags(spec: ServiceSpec, flags: SpecFlags, resolved: Resolved = { networks: [], secrets: [], configs: [] }): ServiceSpec {
  const out: ServiceSpec = structuredClone(spec);
  const tt: TaskTemplate = (out.TaskTemplate ??= {});
  const cs = (tt.ContainerSpec ??= {});
  const mode = (out.Mode ??= {});
  if (flags.replicas !== undefined) {
    if (mode.Replicated !== undefined) mode.Replicated.Replicas = flags.replicas;
    else if (mode.ReplicatedJob !== undefined) mode.ReplicatedJob.TotalCompletions = flags.replicas;
    else throw new UsageError("--replicas can only be used with replicated or replicated-job mode");
  }
  if (flags.maxConcurrent !== undefined && mode.ReplicatedJob !== undefined) mode.ReplicatedJob.MaxConcurrent = flags.maxConcurrent;
  if (flags.image !== undefined) cs.Image = familiarImage(flags.image);
  if (flags.force === true) tt.ForceUpdate = (tt.ForceUpdate ?? 0) + 1;

  const res = (tt.Resources ??= {});
  const limits = (res.Limits ??= {});
  const reservations = (res.Reservations ??= {});
  if (flags.limitCpu !== undefined) limits.NanoCPUs = flags.limitCpu;
  if (flags.limitMemory !== undefined) limits.MemoryBytes = flags.limitMemory;
  if (flags.reserveCpu !== undefined) reservations.NanoCPUs = flags.reserveCpu;
  if (flags.reserveMemory !== undefined) reservations.MemoryBytes = flags.reserveMemory;

  if ([flags.restartCondition, flags.restartDelay, flags.restartMaxAttempts, flags.restartWindow].some((v) => v !== undefined)) {
    const rp = (tt.RestartPolicy ??= {});
    if (flags.restartCondition !== undefined) rp.Condition = flags.restartCondition;
    if (flags.restartDelay !== undefined) rp.Delay = flags.restartDelay;
    if (flags.restartMaxAttempts !== undefined) rp.MaxAttempts = flags.restartMaxAttempts;
    if (flags.restartWindow !== undefined) rp.Window = flags.restartWindow;
  }

  const placement = (tt.Placement ??= {});
  const constraints = [...(placement.Constraints ?? []), ...(flags.constraint ?? []), ...(flags.constraintAdd ?? [])].filter((c) => !(flags.constraintRm ?? []).includes(c));
  if (constraints.length > 0 || placement.Constraints !== undefined) placement.Constraints = [...new Set(constraints)];
  const prefsAdd = [...(flags.placementPref ?? []), ...(flags.placementPrefAdd ?? [])];
  if (prefsAdd.length > 0 || (flags.placementPrefRm ?? []).length > 0) {
    const rm = new Set(flags.placementPrefRm ?? []);
    placement.Preferences = [...(placement.Preferences ?? []).filter((p) => !rm.has(p.Spread.SpreadDescriptor)), ...prefsAdd.map((d) => ({ Spread: { SpreadDescriptor: d } }))];
  }
  if (flags.replicasMaxPerNode !== undefined) placement.MaxReplicas = flags.replicasMaxPerNode;

  const healthGiven = [flags.healthCmd, flags.healthInterval, flags.healthTimeout, flags.healthRetries, flags.healthStartPeriod].some((v) => v !== undefined);
  if (flags.healthcheck === false) {
    if (healthGiven) throw new UsageError("--no-healthcheck cannot be combined with --health-* flags");
    cs.Healthcheck = { Test: ["NONE"] };
  } else if (healthGiven) {
    const hc = (cs.Healthcheck = { ...(cs.Healthcheck ?? {}) });
    if (flags.healthCmd !== undefined) hc.Test = ["CMD-SHELL", flags.healthCmd];
    if (flags.healthInterval !== undefined) hc.Interval = flags.healthInterval;
    if (flags.healthTimeout !== undefined) hc.Timeout = flags.healthTimeout;
    if (flags.healthRetries !== undefined) hc.Retries = flags.healthRetries;
    if (flags.healthStartPeriod !== undefined) hc.StartPeriod = flags.healthStartPeriod;
  }
  if (flags.stopGracePeriod !== undefined) cs.StopGracePeriod = flags.stopGracePeriod;
  if (flags.workdir !== undefined) cs.Dir = flags.workdir;
  if (flags.user !== undefined) cs.User = flags.user;
  if (flags.hostname !== undefined) cs.Hostname = flags.hostname;

  const envAdds = [...(flags.env ?? []), ...(flags.envAdd ?? [])];
  if (envAdds.length > 0 || (flags.envRm ?? []).length > 0) {
    const removed = new Set([...(flags.envRm ?? []), ...envAdds.map(envKey)]);
    cs.Env = [...(cs.Env ?? []).filter((e) => !removed.has(envKey(e))), ...envAdds];
  }
  const labels = { ...(out.Labels ?? {}) };
  for (const k of flags.labelRm ?? []) delete labels[k];
  for (const kv of [...(flags.label ?? []), ...(flags.labelAdd ?? [])]) {
    const [k, v] = splitKeyValue(kv);
    labels[k] = v;
  }
  out.Labels = labels;
  const cLabelsAdd = [...(flags.containerLabel ?? []), ...(flags.containerLabelAdd ?? [])];
  if (cLabelsAdd.length > 0 || (flags.containerLabelRm ?? []).length > 0) {
    const cl = { ...(cs.Labels ?? {}) };
    for (const k of flags.containerLabelRm ?? []) delete cl[k];
    cs.Labels = { ...cl, ...Object.fromEntries(cLabelsAdd.map(splitKeyValue)) };
  }
  const adds = [...(flags.publish ?? []), ...(flags.publishAdd ?? [])];
  if (adds.length > 0 || (flags.publishRm ?? []).length > 0) {
    const rm = new Set((flags.publishRm ?? []).map((p) => (p.includes("/") ? p : `${p}/tcp`)));
    const ep = (out.EndpointSpec ??= { Mode: "vip" });
    const addKeys = new Set(adds.map(portKey));
    ep.Ports = [...(ep.Ports ?? []).filter((p) => !rm.has(portKey(p)) && !addKeys.has(portKey(p))), ...adds];
  }
  if (flags.endpointMode !== undefined) (out.EndpointSpec ??= { Mode: "vip" }).Mode = flags.endpointMode;
  const mountsAdd = [...(flags.mount ?? []), ...(flags.mountAdd ?? [])];
  if (mountsAdd.length > 0 || (flags.mountRm ?? []).length > 0) {
    const rm = new Set(flags.mountRm ?? []);
    cs.Mounts = [...(cs.Mounts ?? []).filter((m) => !rm.has(m.Target)), ...mountsAdd];
  }
  // Removals name a secret/config by name (or ID); an added one with the same name replaces it.
  const secretsRm = new Set([...(flags.secretRm ?? []), ...resolved.secrets.map((r) => r.SecretName ?? "")]);
  if (resolved.secrets.length > 0 || (flags.secretRm ?? []).length > 0) {
    cs.Secrets = [...(cs.Secrets ?? []).filter((r) => !secretsRm.has(r.SecretName ?? "") && !secretsRm.has(r.SecretID ?? "")), ...resolved.secrets];
  }
  const configsRm = new Set([...(flags.configRm ?? []), ...resolved.configs.map((r) => r.ConfigName ?? "")]);
  if (resolved.configs.length > 0 || (flags.configRm ?? []).length > 0) {
    cs.Configs = [...(cs.Configs ?? []).filter((r) => !configsRm.has(r.ConfigName ?? "") && !configsRm.has(r.ConfigID ?? "")), ...resolved.configs];
  }
  const networksRm = new Set([...(flags.networkRm ?? []), ...(resolved.networksRm ?? [])]);
  if (resolved.networks.length > 0 || networksRm.size > 0) {
    const kept = (tt.Networks ?? []).filter((n) => !networksRm.has(n.Target) && !resolved.networks.includes(n.Target));
    tt.Networks = [...kept, ...resolved.networks.map((id) => ({ Target: id }))];
  }

  if (out.UpdateConfig !== undefined || Object.keys(flags).some((k) => k.startsWith("update"))) setUpdateConfig((out.UpdateConfig ??= defaultUpdateConfig()), flags, "update");
  if (out.RollbackConfig !== undefined || Object.keys(flags).some((k) => k.startsWith("rollback") && k !== "rollback")) setUpdateConfig((out.RollbackConfig ??= defaultUpdateConfig()), flags, "rollback");
  return out;
}

/** A secret/config flag with its resolved ID → the reference docker sends. */
export function fileReference(kind: "secret" | "config", ref: FileRefFlag, id: string): FileReference {
  const name = ref.target ?? (kind === "secret" ? ref.source : `/${ref.source}`);
  const file = { Name: name, UID: ref.uid, GID: ref.gid, Mode: ref.mode };
  return kind === "secret" ? { File: file, SecretID: id, SecretName: ref.source } : { File: file, ConfigID: id, ConfigName: ref.source };
}
