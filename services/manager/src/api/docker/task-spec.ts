// TaskSpec ⇄ Docker's swarm.TaskSpec JSON (a service's TaskTemplate, a task's Spec). Owns the shape
// and its schema only: names are resolved (networks) and constraints checked by the routes. A field
// is stored only when the request sent it (null is Go's nil: absent), and written back only when
// stored, so a spec comes back as it was sent. Durations are nanoseconds on both sides.
import {
  DEFAULT_RESTART_CONDITION,
  DEFAULT_RESTART_DELAY_NS,
  DEFAULT_STOP_GRACE_PERIOD_NS,
  MountType,
  RestartCondition,
  type ConfigReference,
  type ContainerSpec,
  type Driver,
  type FileTarget,
  type GenericResource,
  type HealthConfig,
  type Mount,
  type NetworkAttachmentConfig,
  type Placement,
  type Platform,
  type ResourceRequirements,
  type Resources,
  type RestartPolicy,
  type SecretReference,
  type TaskSpec,
} from "@shoal/store";
import { arrayOf, bool, nonNegativeInt, object, oneOfStrings, str, stringMap, type JsonSchema } from "../validation.js";
import { EnumNames } from "./enum-names.js";

export const RESTART_CONDITIONS = new EnumNames<RestartCondition, "any" | "none" | "on-failure">({
  [RestartCondition.ANY]: "any",
  [RestartCondition.NONE]: "none",
  [RestartCondition.ON_FAILURE]: "on-failure",
});

export const MOUNT_TYPES = new EnumNames<MountType, "bind" | "volume" | "tmpfs" | "npipe">({
  [MountType.BIND]: "bind",
  [MountType.VOLUME]: "volume",
  [MountType.TMPFS]: "tmpfs",
  [MountType.NPIPE]: "npipe",
});

type Json = Record<string, unknown>;

/** Docker's swarm.TaskSpec as JSON: validated by taskSpecSchema before conversion. */
export type DockerTaskSpec = Json;

const duration: JsonSchema = { type: "integer", minimum: 0, description: "nanoseconds" };
const nullableDuration: JsonSchema = { type: ["integer", "null"], minimum: 0 };
const strings = arrayOf(str);
const int: JsonSchema = { type: "integer" };

const driverSchema = object({ Name: str, Options: stringMap });
const fileTargetSchema = object({ Name: str, UID: str, GID: str, Mode: nonNegativeInt });

const mountSchema = object({
  Type: oneOfStrings(MOUNT_TYPES.names),
  Source: str,
  Target: str,
  ReadOnly: bool,
  BindOptions: object({ Propagation: str }),
  VolumeOptions: object({ NoCopy: bool, Labels: stringMap, DriverConfig: driverSchema }),
  TmpfsOptions: object({ SizeBytes: int, Mode: nonNegativeInt }),
});

const containerSpecSchema = object({
  Image: str,
  Labels: stringMap,
  Command: strings,
  Args: strings,
  Hostname: str,
  Env: strings,
  Dir: str,
  User: str,
  Groups: strings,
  TTY: bool,
  OpenStdin: bool,
  ReadOnly: bool,
  Mounts: arrayOf(mountSchema),
  StopSignal: str,
  StopGracePeriod: nullableDuration,
  Healthcheck: object({ Test: strings, Interval: duration, Timeout: duration, Retries: nonNegativeInt, StartPeriod: duration, StartInterval: duration }),
  Hosts: strings,
  // The CLI always sends DNSConfig (usually {}); Shoal has no per-service DNS settings yet: accepted
  // and not kept (see the report of the API).
  DNSConfig: object({ Nameservers: strings, Search: strings, Options: strings }),
  Secrets: arrayOf(object({ File: fileTargetSchema, SecretID: str, SecretName: str })),
  Configs: arrayOf(object({ File: fileTargetSchema, ConfigID: str, ConfigName: str })),
  Init: { type: ["boolean", "null"] },
  Sysctls: stringMap,
  CapabilityAdd: strings,
  CapabilityDrop: strings,
});

const genericResourceSchema = object({
  NamedResourceSpec: object({ Kind: str, Value: str }),
  DiscreteResourceSpec: object({ Kind: str, Value: int }),
});
const resourcesSchema = object({ NanoCPUs: nonNegativeInt, MemoryBytes: nonNegativeInt, GenericResources: arrayOf(genericResourceSchema) });

export const taskSpecSchema: JsonSchema = object({
  ContainerSpec: containerSpecSchema,
  Resources: object({ Limits: resourcesSchema, Reservations: resourcesSchema }),
  RestartPolicy: object({ Condition: oneOfStrings(RESTART_CONDITIONS.names), Delay: nullableDuration, MaxAttempts: { type: ["integer", "null"], minimum: 0 }, Window: nullableDuration }),
  Placement: object({
    Constraints: strings,
    Preferences: arrayOf(object({ Spread: object({ SpreadDescriptor: str }) })),
    MaxReplicas: nonNegativeInt,
    Platforms: arrayOf(object({ Architecture: str, OS: str })),
  }),
  Networks: arrayOf(object({ Target: str, Aliases: strings, DriverOpts: stringMap }, { required: ["Target"] })),
  LogDriver: driverSchema,
  ForceUpdate: nonNegativeInt,
  Runtime: str,
});

// ---- Docker → store ----

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Copies `from[key]` to `to[as]` when it was sent (not null), through `conv`. */
function put<T extends object>(to: T, as: keyof T, from: Json, key: string, conv: (v: never) => unknown = (v) => v): void {
  const v = from[key];
  if (present(v)) (to as Json)[as as string] = conv(v as never);
}

const copyList = (v: string[]): string[] => [...v];
const copyMap = (v: Record<string, string>): Record<string, string> => ({ ...v });

function driverFromDocker(d: Json): Driver {
  const out: Driver = { name: (d["Name"] as string | undefined) ?? "" };
  put(out, "options", d, "Options", copyMap);
  return out;
}

function fileFromDocker(f: Json): FileTarget {
  const out: FileTarget = { name: (f["Name"] as string | undefined) ?? "" };
  put(out, "uid", f, "UID");
  put(out, "gid", f, "GID");
  put(out, "mode", f, "Mode");
  return out;
}

function mountFromDocker(m: Json): Mount {
  const out: Mount = { type: MOUNT_TYPES.value((m["Type"] as "bind" | undefined) ?? "volume"), target: (m["Target"] as string | undefined) ?? "" };
  put(out, "source", m, "Source");
  put(out, "readOnly", m, "ReadOnly");
  put(out, "bindOptions", m, "BindOptions", (b: Json) => {
    const o: NonNullable<Mount["bindOptions"]> = {};
    put(o, "propagation", b, "Propagation");
    return o;
  });
  put(out, "volumeOptions", m, "VolumeOptions", (v: Json) => {
    const o: NonNullable<Mount["volumeOptions"]> = {};
    put(o, "noCopy", v, "NoCopy");
    put(o, "labels", v, "Labels", copyMap);
    put(o, "driverConfig", v, "DriverConfig", driverFromDocker);
    return o;
  });
  put(out, "tmpfsOptions", m, "TmpfsOptions", (t: Json) => {
    const o: NonNullable<Mount["tmpfsOptions"]> = {};
    put(o, "sizeBytes", t, "SizeBytes");
    put(o, "mode", t, "Mode");
    return o;
  });
  return out;
}

function healthFromDocker(h: Json): HealthConfig {
  const out: HealthConfig = {};
  put(out, "test", h, "Test", copyList);
  put(out, "intervalNs", h, "Interval");
  put(out, "timeoutNs", h, "Timeout");
  put(out, "retries", h, "Retries");
  put(out, "startPeriodNs", h, "StartPeriod");
  put(out, "startIntervalNs", h, "StartInterval");
  return out;
}

function containerFromDocker(c: Json): ContainerSpec {
  const out: ContainerSpec = { image: (c["Image"] as string | undefined) ?? "" };
  put(out, "labels", c, "Labels", copyMap);
  put(out, "command", c, "Command", copyList);
  put(out, "args", c, "Args", copyList);
  put(out, "hostname", c, "Hostname");
  put(out, "env", c, "Env", copyList);
  put(out, "dir", c, "Dir");
  put(out, "user", c, "User");
  put(out, "groups", c, "Groups", copyList);
  put(out, "tty", c, "TTY");
  put(out, "openStdin", c, "OpenStdin");
  put(out, "readOnly", c, "ReadOnly");
  put(out, "mounts", c, "Mounts", (ms: Json[]) => ms.map(mountFromDocker));
  put(out, "stopSignal", c, "StopSignal");
  put(out, "stopGracePeriodNs", c, "StopGracePeriod");
  put(out, "healthcheck", c, "Healthcheck", healthFromDocker);
  put(out, "hosts", c, "Hosts", copyList);
  put(out, "secrets", c, "Secrets", (refs: Json[]) =>
    refs.map((r): SecretReference => {
      const s: SecretReference = { secretId: (r["SecretID"] as string | undefined) ?? "", secretName: (r["SecretName"] as string | undefined) ?? "" };
      put(s, "file", r, "File", fileFromDocker);
      return s;
    }),
  );
  put(out, "configs", c, "Configs", (refs: Json[]) =>
    refs.map((r): ConfigReference => {
      const s: ConfigReference = { configId: (r["ConfigID"] as string | undefined) ?? "", configName: (r["ConfigName"] as string | undefined) ?? "" };
      put(s, "file", r, "File", fileFromDocker);
      return s;
    }),
  );
  put(out, "init", c, "Init");
  put(out, "sysctls", c, "Sysctls", copyMap);
  put(out, "capabilityAdd", c, "CapabilityAdd", copyList);
  put(out, "capabilityDrop", c, "CapabilityDrop", copyList);
  return out;
}

function genericFromDocker(g: Json): GenericResource {
  const named = g["NamedResourceSpec"] as Json | null | undefined;
  if (present(named)) return { kind: (named!["Kind"] as string | undefined) ?? "", named: (named!["Value"] as string | undefined) ?? "" };
  const discrete = (g["DiscreteResourceSpec"] as Json | null | undefined) ?? {};
  return { kind: (discrete["Kind"] as string | undefined) ?? "", discrete: (discrete["Value"] as number | undefined) ?? 0 };
}

function resourcesFromDocker(r: Json): Resources {
  const out: Resources = {};
  put(out, "nanoCpus", r, "NanoCPUs");
  put(out, "memoryBytes", r, "MemoryBytes");
  put(out, "generic", r, "GenericResources", (gs: Json[]) => gs.map(genericFromDocker));
  return out;
}

function placementFromDocker(p: Json): Placement {
  const out: Placement = {};
  put(out, "constraints", p, "Constraints", copyList);
  put(out, "preferences", p, "Preferences", (prefs: Json[]) =>
    prefs.map((pref) => {
      const spread = pref["Spread"] as Json | null | undefined;
      return present(spread) ? { spread: { spreadDescriptor: (spread!["SpreadDescriptor"] as string | undefined) ?? "" } } : {};
    }),
  );
  put(out, "maxReplicas", p, "MaxReplicas");
  put(out, "platforms", p, "Platforms", (ps: Json[]) =>
    ps.map((pl): Platform => {
      const o: Platform = {};
      put(o, "architecture", pl, "Architecture");
      put(o, "os", pl, "OS");
      return o;
    }),
  );
  return out;
}

function restartFromDocker(r: Json): RestartPolicy {
  const out: RestartPolicy = {};
  put(out, "condition", r, "Condition", (c: "any") => RESTART_CONDITIONS.value(c));
  put(out, "delayNs", r, "Delay");
  put(out, "maxAttempts", r, "MaxAttempts");
  put(out, "windowNs", r, "Window");
  return out;
}

/** A TaskSpec from a validated Docker TaskTemplate. Network targets are kept as sent (names included). */
export function taskSpecFromDocker(t: DockerTaskSpec): TaskSpec {
  const out: TaskSpec = {};
  put(out, "container", t, "ContainerSpec", containerFromDocker);
  put(out, "resources", t, "Resources", (r: Json): ResourceRequirements => {
    const o: ResourceRequirements = {};
    put(o, "limits", r, "Limits", resourcesFromDocker);
    put(o, "reservations", r, "Reservations", resourcesFromDocker);
    return o;
  });
  put(out, "restart", t, "RestartPolicy", restartFromDocker);
  put(out, "placement", t, "Placement", placementFromDocker);
  put(out, "networks", t, "Networks", (ns: Json[]) =>
    ns.map((n): NetworkAttachmentConfig => {
      const o: NetworkAttachmentConfig = { target: n["Target"] as string };
      put(o, "aliases", n, "Aliases", copyList);
      put(o, "driverAttachmentOpts", n, "DriverOpts", copyMap);
      return o;
    }),
  );
  put(out, "logDriver", t, "LogDriver", driverFromDocker);
  put(out, "forceUpdate", t, "ForceUpdate");
  put(out, "runtime", t, "Runtime");
  return out;
}

// ---- store → Docker ----

/** Copies `from[key]` to `to[as]` when it is stored, through `conv`. */
function out<T extends object>(to: Json, as: string, from: T, key: keyof T, conv: (v: never) => unknown = (v) => v): void {
  const v = from[key];
  if (v !== undefined) to[as] = conv(v as never);
}

const listOut = (v: string[]): string[] => [...v];
const mapOut = (v: Record<string, string>): Record<string, string> => ({ ...v });

function driverToDocker(d: Driver): Json {
  const o: Json = { Name: d.name };
  out(o, "Options", d, "options", mapOut);
  return o;
}

function fileToDocker(f: FileTarget): Json {
  const o: Json = { Name: f.name };
  out(o, "UID", f, "uid");
  out(o, "GID", f, "gid");
  out(o, "Mode", f, "mode");
  return o;
}

function mountToDocker(m: Mount): Json {
  const o: Json = { Type: MOUNT_TYPES.name(m.type, "volume") };
  out(o, "Source", m, "source");
  o["Target"] = m.target;
  out(o, "ReadOnly", m, "readOnly");
  out(o, "BindOptions", m, "bindOptions", (b: NonNullable<Mount["bindOptions"]>) => {
    const x: Json = {};
    out(x, "Propagation", b, "propagation");
    return x;
  });
  out(o, "VolumeOptions", m, "volumeOptions", (v: NonNullable<Mount["volumeOptions"]>) => {
    const x: Json = {};
    out(x, "NoCopy", v, "noCopy");
    out(x, "Labels", v, "labels", mapOut);
    out(x, "DriverConfig", v, "driverConfig", driverToDocker);
    return x;
  });
  out(o, "TmpfsOptions", m, "tmpfsOptions", (t: NonNullable<Mount["tmpfsOptions"]>) => {
    const x: Json = {};
    out(x, "SizeBytes", t, "sizeBytes");
    out(x, "Mode", t, "mode");
    return x;
  });
  return o;
}

function containerToDocker(c: ContainerSpec, defaults: boolean): Json {
  const o: Json = { Image: c.image };
  out(o, "Labels", c, "labels", mapOut);
  out(o, "Command", c, "command", listOut);
  out(o, "Args", c, "args", listOut);
  out(o, "Hostname", c, "hostname");
  out(o, "Env", c, "env", listOut);
  out(o, "Dir", c, "dir");
  out(o, "User", c, "user");
  out(o, "Groups", c, "groups", listOut);
  out(o, "TTY", c, "tty");
  out(o, "OpenStdin", c, "openStdin");
  out(o, "ReadOnly", c, "readOnly");
  out(o, "Mounts", c, "mounts", (ms: Mount[]) => ms.map(mountToDocker));
  out(o, "StopSignal", c, "stopSignal");
  out(o, "StopGracePeriod", c, "stopGracePeriodNs");
  if (defaults && !c.stopGracePeriodNs) o["StopGracePeriod"] = DEFAULT_STOP_GRACE_PERIOD_NS;
  out(o, "Healthcheck", c, "healthcheck", (h: HealthConfig) => {
    const x: Json = {};
    out(x, "Test", h, "test", listOut);
    out(x, "Interval", h, "intervalNs");
    out(x, "Timeout", h, "timeoutNs");
    out(x, "Retries", h, "retries");
    out(x, "StartPeriod", h, "startPeriodNs");
    out(x, "StartInterval", h, "startIntervalNs");
    return x;
  });
  out(o, "Hosts", c, "hosts", listOut);
  out(o, "Secrets", c, "secrets", (refs: SecretReference[]) =>
    refs.map((r) => {
      const x: Json = {};
      out(x, "File", r, "file", fileToDocker);
      x["SecretID"] = r.secretId;
      x["SecretName"] = r.secretName;
      return x;
    }),
  );
  out(o, "Configs", c, "configs", (refs: ConfigReference[]) =>
    refs.map((r) => {
      const x: Json = {};
      out(x, "File", r, "file", fileToDocker);
      x["ConfigID"] = r.configId;
      x["ConfigName"] = r.configName;
      return x;
    }),
  );
  out(o, "Init", c, "init");
  out(o, "Sysctls", c, "sysctls", mapOut);
  out(o, "CapabilityAdd", c, "capabilityAdd", listOut);
  out(o, "CapabilityDrop", c, "capabilityDrop", listOut);
  return o;
}

function resourcesToDocker(r: Resources): Json {
  const o: Json = {};
  out(o, "NanoCPUs", r, "nanoCpus");
  out(o, "MemoryBytes", r, "memoryBytes");
  out(o, "GenericResources", r, "generic", (gs: GenericResource[]) =>
    gs.map((g) => (g.named !== undefined ? { NamedResourceSpec: { Kind: g.kind, Value: g.named } } : { DiscreteResourceSpec: { Kind: g.kind, Value: g.discrete ?? 0 } })),
  );
  return o;
}

function placementToDocker(p: Placement): Json {
  const o: Json = {};
  out(o, "Constraints", p, "constraints", listOut);
  out(o, "Preferences", p, "preferences", (prefs: NonNullable<Placement["preferences"]>) =>
    prefs.map((pref) => (pref.spread !== undefined ? { Spread: { SpreadDescriptor: pref.spread.spreadDescriptor } } : {})),
  );
  out(o, "MaxReplicas", p, "maxReplicas");
  out(o, "Platforms", p, "platforms", (ps: Platform[]) =>
    ps.map((pl) => {
      const x: Json = {};
      out(x, "Architecture", pl, "architecture");
      out(x, "OS", pl, "os");
      return x;
    }),
  );
  return o;
}

function restartToDocker(r: RestartPolicy | undefined, defaults: boolean): Json {
  const o: Json = {};
  const cond = r?.condition ?? (defaults ? DEFAULT_RESTART_CONDITION : undefined);
  if (cond !== undefined) o["Condition"] = RESTART_CONDITIONS.name(cond, "any");
  const delay = r?.delayNs ?? (defaults ? DEFAULT_RESTART_DELAY_NS : undefined);
  if (delay !== undefined) o["Delay"] = delay;
  const attempts = r?.maxAttempts ?? (defaults ? 0 : undefined);
  if (attempts !== undefined) o["MaxAttempts"] = attempts;
  if (r?.windowNs !== undefined) o["Window"] = r.windowNs;
  return o;
}

/** Docker's TaskSpec JSON; with `defaults`, the gaps Docker fills for `insertDefaults=true`. */
export function taskSpecToDocker(t: TaskSpec, defaults = false): Json {
  const o: Json = {};
  if (t.container !== undefined) o["ContainerSpec"] = containerToDocker(t.container, defaults);
  else if (defaults) o["ContainerSpec"] = { Image: "", StopGracePeriod: DEFAULT_STOP_GRACE_PERIOD_NS };
  out(o, "Resources", t, "resources", (r: ResourceRequirements) => {
    const x: Json = {};
    out(x, "Limits", r, "limits", resourcesToDocker);
    out(x, "Reservations", r, "reservations", resourcesToDocker);
    return x;
  });
  if (t.restart !== undefined || defaults) o["RestartPolicy"] = restartToDocker(t.restart, defaults);
  out(o, "Placement", t, "placement", placementToDocker);
  out(o, "Networks", t, "networks", (ns: NetworkAttachmentConfig[]) =>
    ns.map((n) => {
      const x: Json = { Target: n.target };
      out(x, "Aliases", n, "aliases", listOut);
      out(x, "DriverOpts", n, "driverAttachmentOpts", mapOut);
      return x;
    }),
  );
  out(o, "LogDriver", t, "logDriver", driverToDocker);
  out(o, "ForceUpdate", t, "forceUpdate");
  out(o, "Runtime", t, "runtime");
  return o;
}
