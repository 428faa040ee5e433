// The task template of a service (TaskSpec) and what it is made of. Mirrors proto/objects.proto.
import type { Driver, DurationNs, Platform, ResourceRequirements } from "./common.js";

export enum MountType {
  BIND = 0,
  VOLUME = 1,
  TMPFS = 2,
  NPIPE = 3,
}

export interface Mount {
  type: MountType;
  source?: string;
  target: string;
  readOnly?: boolean;
  bindOptions?: { propagation?: string };
  volumeOptions?: { noCopy?: boolean; labels?: Record<string, string>; driverConfig?: Driver };
  tmpfsOptions?: { sizeBytes?: number; mode?: number };
}

export interface HealthConfig {
  /** As Docker: ["NONE"] | ["CMD", …] | ["CMD-SHELL", "…"]. */
  test?: string[];
  intervalNs?: DurationNs;
  timeoutNs?: DurationNs;
  retries?: number;
  startPeriodNs?: DurationNs;
  startIntervalNs?: DurationNs;
}

/** Where a secret or config appears inside the container. */
export interface FileTarget {
  name: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface SecretReference {
  secretId: string;
  secretName: string;
  file?: FileTarget;
}

export interface ConfigReference {
  configId: string;
  configName: string;
  file?: FileTarget;
}

export interface ContainerSpec {
  image: string;
  labels?: Record<string, string>;
  command?: string[];
  args?: string[];
  hostname?: string;
  env?: string[];
  dir?: string;
  user?: string;
  groups?: string[];
  tty?: boolean;
  openStdin?: boolean;
  readOnly?: boolean;
  mounts?: Mount[];
  /** 0 or unset = the default, 10 s. */
  stopGracePeriodNs?: DurationNs;
  stopSignal?: string;
  healthcheck?: HealthConfig;
  secrets?: SecretReference[];
  configs?: ConfigReference[];
  hosts?: string[];
  init?: boolean;
  sysctls?: Record<string, string>;
  capabilityAdd?: string[];
  capabilityDrop?: string[];
}

export enum RestartCondition {
  /** swarm's default */
  ANY = 0,
  NONE = 1,
  ON_FAILURE = 2,
}

export interface RestartPolicy {
  condition?: RestartCondition;
  /** 0 or unset = the default, 5 s. */
  delayNs?: DurationNs;
  /** 0 = unlimited. */
  maxAttempts?: number;
  windowNs?: DurationNs;
}

export interface PlacementPreference {
  spread?: { spreadDescriptor: string };
}

export interface Placement {
  constraints?: string[];
  preferences?: PlacementPreference[];
  /** Per node; 0 = unlimited. */
  maxReplicas?: number;
  platforms?: Platform[];
}

export interface NetworkAttachmentConfig {
  /** Network ID: the API resolves names before storing. */
  target: string;
  aliases?: string[];
  addresses?: string[];
  driverAttachmentOpts?: Record<string, string>;
}

export interface TaskSpec {
  container?: ContainerSpec;
  resources?: ResourceRequirements;
  restart?: RestartPolicy;
  placement?: Placement;
  networks?: NetworkAttachmentConfig[];
  logDriver?: Driver;
  /** Bumped to force a redeploy with an otherwise unchanged spec. */
  forceUpdate?: number;
  runtime?: string;
}
