// TaskSpec ⇄ Docker's swarm.TaskSpec JSON (a service's TaskTemplate, a task's Spec). Owns the shape
// (one field map for both directions, see codec.ts) and its schema only: names are resolved
// (networks) and constraints checked by the routes. Durations are nanoseconds on both sides.
import { DEFAULT_RESTART_CONDITION, DEFAULT_RESTART_DELAY_NS, DEFAULT_STOP_GRACE_PERIOD_NS, MountType, RestartCondition, type GenericResource, type TaskSpec } from "@shoal/store";
import { arrayOf, bool, nonNegativeInt, object, oneOfStrings, str, stringMap, type JsonSchema } from "../validation.js";
import { enumCodec, listCodec, objectCodec, withDefaults, type Codec, type Json } from "./codec.js";
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

/** Docker's swarm.TaskSpec as JSON: validated by taskSpecSchema before conversion. */
export type DockerTaskSpec = Json;

const duration: JsonSchema = { type: "integer", minimum: 0, description: "nanoseconds" };
const nullableDuration: JsonSchema = { type: ["integer", "null"], minimum: 0 };
const strings = arrayOf(str);
const int: JsonSchema = { type: "integer" };

const driverSchema = object({ Name: str, Options: stringMap });
const fileTargetSchema = object({ Name: str, UID: str, GID: str, Mode: nonNegativeInt });

const mountSchema = object(
  {
    Type: oneOfStrings(MOUNT_TYPES.names),
    Source: str,
    Target: str,
    ReadOnly: bool,
    BindOptions: object({ Propagation: str }),
    VolumeOptions: object({ NoCopy: bool, Labels: stringMap, DriverConfig: driverSchema }),
    TmpfsOptions: object({ SizeBytes: int, Mode: nonNegativeInt }),
  },
  { required: ["Type", "Target"] },
);

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

const driver = objectCodec([
  ["Name", "name"],
  ["Options", "options"],
]);
const fileTarget = objectCodec([
  ["Name", "name"],
  ["UID", "uid"],
  ["GID", "gid"],
  ["Mode", "mode"],
]);

const mount = objectCodec([
  ["Type", "type", enumCodec(MOUNT_TYPES, "volume")],
  ["Source", "source"],
  ["Target", "target"],
  ["ReadOnly", "readOnly"],
  ["BindOptions", "bindOptions", objectCodec([["Propagation", "propagation"]])],
  [
    "VolumeOptions",
    "volumeOptions",
    objectCodec([
      ["NoCopy", "noCopy"],
      ["Labels", "labels"],
      ["DriverConfig", "driverConfig", driver],
    ]),
  ],
  [
    "TmpfsOptions",
    "tmpfsOptions",
    objectCodec([
      ["SizeBytes", "sizeBytes"],
      ["Mode", "mode"],
    ]),
  ],
]);

const healthcheck = objectCodec([
  ["Test", "test"],
  ["Interval", "intervalNs"],
  ["Timeout", "timeoutNs"],
  ["Retries", "retries"],
  ["StartPeriod", "startPeriodNs"],
  ["StartInterval", "startIntervalNs"],
]);

// DNSConfig is left out on purpose: accepted by the schema, not kept (Shoal has no per-service DNS).
const containerSpec = objectCodec([
  ["Image", "image"],
  ["Labels", "labels"],
  ["Command", "command"],
  ["Args", "args"],
  ["Hostname", "hostname"],
  ["Env", "env"],
  ["Dir", "dir"],
  ["User", "user"],
  ["Groups", "groups"],
  ["TTY", "tty"],
  ["OpenStdin", "openStdin"],
  ["ReadOnly", "readOnly"],
  ["Mounts", "mounts", listCodec(mount)],
  ["StopSignal", "stopSignal"],
  ["StopGracePeriod", "stopGracePeriodNs"],
  ["Healthcheck", "healthcheck", healthcheck],
  ["Hosts", "hosts"],
  [
    "Secrets",
    "secrets",
    listCodec(
      objectCodec([
        ["File", "file", fileTarget],
        ["SecretID", "secretId"],
        ["SecretName", "secretName"],
      ]),
    ),
  ],
  [
    "Configs",
    "configs",
    listCodec(
      objectCodec([
        ["File", "file", fileTarget],
        ["ConfigID", "configId"],
        ["ConfigName", "configName"],
      ]),
    ),
  ],
  ["Init", "init"],
  ["Sysctls", "sysctls"],
  ["CapabilityAdd", "capabilityAdd"],
  ["CapabilityDrop", "capabilityDrop"],
]);

// Docker's GenericResource is a union of two wrappers; the store's is one object with named or discrete.
const genericResource: Codec = {
  decode: (v) => {
    const g = v as Json;
    const named = g["NamedResourceSpec"] as Json | null | undefined;
    if (named != null) return { kind: named["Kind"] ?? "", named: named["Value"] ?? "" } satisfies Json;
    const discrete = (g["DiscreteResourceSpec"] as Json | null | undefined) ?? {};
    return { kind: discrete["Kind"] ?? "", discrete: discrete["Value"] ?? 0 } satisfies Json;
  },
  encode: (v) => {
    const g = v as GenericResource;
    return g.named !== undefined ? { NamedResourceSpec: { Kind: g.kind, Value: g.named } } : { DiscreteResourceSpec: { Kind: g.kind, Value: g.discrete ?? 0 } };
  },
};

/** Limits / Reservations, and a task's assigned generic resources. */
export const genericResources = listCodec(genericResource);
const resources = objectCodec([
  ["NanoCPUs", "nanoCpus"],
  ["MemoryBytes", "memoryBytes"],
  ["GenericResources", "generic", genericResources],
]);

const taskSpec = objectCodec([
  ["ContainerSpec", "container", containerSpec],
  [
    "Resources",
    "resources",
    objectCodec([
      ["Limits", "limits", resources],
      ["Reservations", "reservations", resources],
    ]),
  ],
  [
    "RestartPolicy",
    "restart",
    objectCodec([
      ["Condition", "condition", enumCodec(RESTART_CONDITIONS, "any")],
      ["Delay", "delayNs"],
      ["MaxAttempts", "maxAttempts"],
      ["Window", "windowNs"],
    ]),
  ],
  [
    "Placement",
    "placement",
    objectCodec([
      ["Constraints", "constraints"],
      ["Preferences", "preferences", listCodec(objectCodec([["Spread", "spread", objectCodec([["SpreadDescriptor", "spreadDescriptor"]])]]))],
      ["MaxReplicas", "maxReplicas"],
      [
        "Platforms",
        "platforms",
        listCodec(
          objectCodec([
            ["Architecture", "architecture"],
            ["OS", "os"],
          ]),
        ),
      ],
    ]),
  ],
  [
    "Networks",
    "networks",
    listCodec(
      objectCodec([
        ["Target", "target"],
        ["Aliases", "aliases"],
        ["DriverOpts", "driverAttachmentOpts"],
      ]),
    ),
  ],
  ["LogDriver", "logDriver", driver],
  ["ForceUpdate", "forceUpdate"],
  ["Runtime", "runtime"],
]);

// What Docker shows for a spec that leaves these out (`insertDefaults=true`).
const TASK_SPEC_DEFAULTS: Json = {
  ContainerSpec: { StopGracePeriod: DEFAULT_STOP_GRACE_PERIOD_NS },
  RestartPolicy: { Condition: RESTART_CONDITIONS.name(DEFAULT_RESTART_CONDITION, "any"), Delay: DEFAULT_RESTART_DELAY_NS, MaxAttempts: 0 },
};

/**
 * A TaskSpec from a validated Docker TaskTemplate. Network targets are kept as sent (names
 * included: the route resolves them); a missing Image is left for the route to refuse.
 */
export function taskSpecFromDocker(t: DockerTaskSpec): TaskSpec {
  return taskSpec.decode(t) as TaskSpec;
}

/** Docker's TaskSpec JSON; with `defaults`, the gaps Docker fills for `insertDefaults=true`. */
export function taskSpecToDocker(t: TaskSpec, defaults = false): Json {
  const json = taskSpec.encode(t) as Json;
  return defaults ? withDefaults(json, TASK_SPEC_DEFAULTS) : json;
}
