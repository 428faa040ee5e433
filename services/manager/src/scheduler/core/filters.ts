// The feasibility pipeline: filters a node must pass to take a task, each with a name and an
// explanation of why a node fails it, and the aggregated "no suitable node (…)" message. Owns
// eligibility; must not rank nodes (scoring does) or change any state.
import { NodeAvailability, NodeState, hasTaskRuntime, type Platform } from "@shoal/store";
import { unmetConstraint, type Constraint } from "./constraints.js";
import type { NodeInfo } from "./node-info.js";
import type { Requirements } from "./requirements.js";
import { shortage } from "./resources.js";

export type FilterName = "ready" | "resources" | "constraints" | "platforms" | "host-ports" | "max-replicas";

/** Why a node fails a filter, phrased after a node count: "1 node lacks memory", "3 nodes lack memory". */
export interface Rejection {
  readonly filter: FilterName;
  readonly one: string;
  readonly many: string;
}

export interface Filter {
  readonly name: FilterName;
  /**
   * True when placing a task of a group on a node can make the node fail this filter for the next
   * task of the same group; the others are checked once per group.
   */
  readonly capacity: boolean;
  check(req: Requirements, node: NodeInfo): Rejection | undefined;
}

function rejection(filter: FilterName, one: string, many = one): Rejection {
  return { filter, one, many };
}

// Rejections are shared objects: aggregating them costs no string building per node. Object keys
// (constraints, platform lists) are held weakly: they live as long as the task group that made them.
function memo<K extends string | number, V>(make: (k: K) => V): (k: K) => V {
  const cache = new Map<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = make(k)));
    return v;
  };
}

function weakMemo<K extends object, V>(make: (k: K) => V): (k: K) => V {
  const cache = new WeakMap<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = make(k)));
    return v;
  };
}

const NOT_READY: Record<number, Rejection> = {
  [NodeState.DOWN]: rejection("ready", "down"),
  [NodeState.DISCONNECTED]: rejection("ready", "disconnected"),
  [NodeState.UNKNOWN]: rejection("ready", "not ready"),
};
const UNAVAILABLE: Record<number, Rejection> = {
  [NodeAvailability.PAUSE]: rejection("ready", "paused"),
  [NodeAvailability.DRAIN]: rejection("ready", "drained"),
};
const lacks = memo((what: string) => rejection("resources", `lacks ${what}`, `lack ${what}`));
const failsConstraint = weakMemo((c: Constraint) => rejection("constraints", `fails constraint ${c.text}`, `fail constraint ${c.text}`));
const portInUse = memo((port: string) => rejection("host-ports", `has host port ${port} in use`, `have host port ${port} in use`));
const atMaxReplicas = memo((max: number) =>
  rejection("max-replicas", `already runs the service's max replicas per node (${max})`, `already run the service's max replicas per node (${max})`),
);
const platformMismatch = weakMemo((platforms: readonly Platform[]) => {
  const wanted = platforms.map((p) => `${p.os || "*"}/${p.architecture || "*"}`).join(" or ");
  return rejection("platforms", `does not support platform ${wanted}`, `do not support platform ${wanted}`);
});

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

function normalArch(arch: string | undefined): string {
  const a = (arch ?? "").toLowerCase();
  return ARCH_ALIASES[a] ?? a;
}

function platformMatches(want: Platform, have: Platform): boolean {
  const arch = normalArch(want.architecture);
  const os = (want.os ?? "").toLowerCase();
  return (arch === "" || arch === normalArch(have.architecture)) && (os === "" || os === (have.os ?? "").toLowerCase());
}

const NO_RUNTIME = rejection("ready", "has no task runtime (shoald runs without --executor)", "have no task runtime (shoald runs without --executor)");

/** READY, ACTIVE and with a task runtime: a node that fails it takes no part in the spread either. */
export const readyFilter: Filter = {
  name: "ready",
  capacity: false,
  check(_req, info) {
    const n = info.node;
    if (n.status.state !== NodeState.READY) return NOT_READY[n.status.state] ?? NOT_READY[NodeState.UNKNOWN];
    return UNAVAILABLE[n.spec.availability] ?? (hasTaskRuntime(n) ? undefined : NO_RUNTIME);
  },
};

export const resourcesFilter: Filter = {
  name: "resources",
  capacity: true,
  check(req, info) {
    const missing = shortage(req.reservation, info.available);
    return missing === undefined ? undefined : lacks(missing);
  },
};

export const constraintsFilter: Filter = {
  name: "constraints",
  capacity: false,
  check(req, info) {
    if (req.constraints.length === 0) return undefined;
    const c = unmetConstraint(info.node, req.constraints);
    return c === undefined ? undefined : failsConstraint(c);
  },
};

export const platformsFilter: Filter = {
  name: "platforms",
  capacity: false,
  check(req, info) {
    if (req.platforms.length === 0) return undefined;
    const have = info.node.description?.platform;
    if (have !== undefined && req.platforms.some((p) => platformMatches(p, have))) return undefined;
    return platformMismatch(req.platforms);
  },
};

export const hostPortsFilter: Filter = {
  name: "host-ports",
  capacity: true,
  check(req, info) {
    for (const p of req.hostPorts) if (info.hostPortInUse(p)) return portInUse(p);
    return undefined;
  },
};

export const maxReplicasFilter: Filter = {
  name: "max-replicas",
  capacity: true,
  check(req, info) {
    if (req.maxReplicas <= 0 || info.tasksOfService(req.serviceId) < req.maxReplicas) return undefined;
    return atMaxReplicas(req.maxReplicas);
  },
};

/** Every filter, in the order they run (and the order their reasons tie-break in messages). */
export const PIPELINE: readonly Filter[] = [readyFilter, resourcesFilter, constraintsFilter, platformsFilter, hostPortsFilter, maxReplicasFilter];
const CAPACITY_FILTERS = PIPELINE.filter((f) => f.capacity);

/** The first filter the node fails, or undefined when it can take the task. */
export function rejectionOf(req: Requirements, info: NodeInfo, filters: readonly Filter[] = PIPELINE): Rejection | undefined {
  for (const f of filters) {
    const r = f.check(req, info);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** Only the filters a placement of the same group can change (after a node took one task). */
export function capacityRejectionOf(req: Requirements, info: NodeInfo): Rejection | undefined {
  return rejectionOf(req, info, CAPACITY_FILTERS);
}

/** Counts rejections per reason, for the message of tasks no node can take. */
export class RejectionTally {
  private readonly counts = new Map<Rejection, number>();

  add(r: Rejection): void {
    this.counts.set(r, (this.counts.get(r) ?? 0) + 1);
  }

  /** `no suitable node (3 nodes lack memory; 1 node down)`: most common reasons first. */
  message(): string {
    if (this.counts.size === 0) return "no suitable node (no nodes in the cluster)";
    const order = (r: Rejection): number => PIPELINE.findIndex((f) => f.name === r.filter);
    const parts = [...this.counts]
      .sort(([a, na], [b, nb]) => nb - na || order(a) - order(b) || (a.many < b.many ? -1 : a.many > b.many ? 1 : 0))
      .map(([r, n]) => (n === 1 ? `1 node ${r.one}` : `${n} nodes ${r.many}`));
    return `no suitable node (${parts.join("; ")})`;
  }
}
