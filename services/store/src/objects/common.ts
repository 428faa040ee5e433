// Shared pieces of the object model. Every type in objects/ mirrors a message of
// proto/objects.proto field for field (camelCase names, enums with the same numbers); the store
// works on these plain objects and only the codec turns them into bytes.

/** Milliseconds since the Unix epoch; 0 means unset. */
export type TimestampMs = number;
/** A duration in nanoseconds, as the Docker API carries durations. */
export type DurationNs = number;

export interface Version {
  /** Raft index of the last write of the object. */
  index: number;
}

export interface Meta {
  version: Version;
  createdAt: TimestampMs;
  updatedAt: TimestampMs;
}

export interface Annotations {
  name: string;
  labels?: Record<string, string>;
}

export interface Platform {
  architecture?: string;
  os?: string;
}

/** A named, countable resource (GPUs…): exactly one of `named` and `discrete` is set. */
export interface GenericResource {
  kind: string;
  named?: string;
  discrete?: number;
}

export interface Resources {
  nanoCpus?: number;
  memoryBytes?: number;
  generic?: GenericResource[];
}

export interface ResourceRequirements {
  limits?: Resources;
  reservations?: Resources;
}

export interface Driver {
  name: string;
  options?: Record<string, string>;
}
