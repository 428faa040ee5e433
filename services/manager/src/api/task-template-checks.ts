// Checks of a task template that the schema cannot express, made when a service is created or
// updated: a template the runtime could never start (two mounts on one target, a bind mount with no
// host path, a memory limit no container can run under, a health check of an unknown kind) is
// refused with what to fix instead of stored for every task to fail. swarm makes the mount-target,
// resource-minimum and health-check duration checks too.
// Pure.
import { MountType, type HealthConfig, type Mount, type ResourceRequirements } from "@shoal/store";
import { invalidRequest } from "./errors.js";

/** The smallest CPU and memory a limit or reservation may name (swarm's). */
export const MIN_NANO_CPUS = 1_000_000;
export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkMounts(mounts: readonly Mount[] | undefined): void {
  const field = "TaskTemplate.ContainerSpec.Mounts";
  const seen = new Set<string>();
  for (const m of mounts ?? []) {
    const fail = (why: string): never => {
      throw invalidRequest(`invalid ${field}: ${why}`, { field });
    };
    if (!m.target.startsWith("/")) fail(`mount target "${m.target}" must be an absolute path in the container`);
    const target = m.target.length > 1 ? m.target.replace(/\/+$/, "") : m.target;
    if (seen.has(target)) fail(`${target} is mounted more than once`);
    seen.add(target);
    const source = m.source ?? "";
    if (m.type === MountType.BIND) {
      if (source === "") fail(`the bind mount at ${target} needs a Source: an absolute path on the node`);
      if (!source.startsWith("/")) fail(`the bind mount at ${target} has Source "${source}", which is not an absolute path on the node`);
    } else if (m.type === MountType.VOLUME) {
      if (source !== "" && !VOLUME_NAME.test(source)) fail(`volume name "${source}" (the mount at ${target}) may hold only letters, digits, '_', '.' and '-'; for a path on the node use a bind mount`);
    } else if (m.type === MountType.TMPFS) {
      if (source !== "") fail(`the tmpfs mount at ${target} takes no Source (it is "${source}")`);
    } else {
      fail(`the mount at ${target} is of a type Linux tasks cannot use (npipe is Windows-only)`);
    }
  }
}

export function checkResources(r: ResourceRequirements | undefined): void {
  for (const [kind, res] of [
    ["Limits", r?.limits],
    ["Reservations", r?.reservations],
  ] as const) {
    const cpus = res?.nanoCpus ?? 0;
    if (cpus !== 0 && cpus < MIN_NANO_CPUS) {
      const field = `TaskTemplate.Resources.${kind}.NanoCPUs`;
      throw invalidRequest(`invalid ${field} ${cpus}: at least ${MIN_NANO_CPUS} (0.001 CPU), or 0 for none`, { field });
    }
    const memory = res?.memoryBytes ?? 0;
    if (memory !== 0 && memory < MIN_MEMORY_BYTES) {
      const field = `TaskTemplate.Resources.${kind}.MemoryBytes`;
      throw invalidRequest(`invalid ${field} ${memory}: at least ${MIN_MEMORY_BYTES} (4MiB), or 0 for none`, { field });
    }
  }
}

/** Health check durations other than 0 (the default) must be at least this long (swarm's). */
export const MIN_HEALTHCHECK_DURATION_NS = 1_000_000;

export function checkHealthcheck(h: HealthConfig | undefined): void {
  if (h === undefined) return;
  const field = "TaskTemplate.ContainerSpec.Healthcheck";
  const fail = (why: string): never => {
    throw invalidRequest(`invalid ${field}: ${why}`, { field });
  };
  const test = h.test ?? [];
  // Empty: the image's own check. NONE turns it off; CMD runs a program, CMD-SHELL one shell line.
  if (test.length > 0) {
    const [kind, ...args] = test;
    if (kind === "NONE") {
      if (args.length > 0) fail(`Test ["NONE"] takes nothing after NONE`);
    } else if (kind === "CMD") {
      if (args.length === 0 || args[0] === "") fail(`Test ["CMD", …] needs the program to run`);
    } else if (kind === "CMD-SHELL") {
      if (args.length !== 1 || args[0] === "") fail(`Test ["CMD-SHELL", …] takes exactly one command line`);
    } else {
      fail(`Test must start with "NONE", "CMD" or "CMD-SHELL", not ${JSON.stringify(kind)}`);
    }
  }
  for (const [name, ns] of [
    ["Interval", h.intervalNs],
    ["Timeout", h.timeoutNs],
    ["StartPeriod", h.startPeriodNs],
    ["StartInterval", h.startIntervalNs],
  ] as const) {
    if (ns !== undefined && ns !== 0 && ns < MIN_HEALTHCHECK_DURATION_NS) fail(`${name} ${ns}ns is shorter than 1ms (0 means the default)`);
  }
}

/** Every variable names itself: "=x" would reach the container as a variable without a name. */
export function checkEnv(env: readonly string[] | undefined): void {
  const field = "TaskTemplate.ContainerSpec.Env";
  const bad = (env ?? []).find((e) => e === "" || e.startsWith("="));
  if (bad !== undefined) throw invalidRequest(`invalid ${field}: ${JSON.stringify(bad)} names no variable (NAME=value)`, { field });
}
