// What a task asks of a node, extracted once per group of alike tasks: reservations, constraints,
// platforms, host-mode ports, max replicas and spread preferences. Owns how a task's spec is read
// for placement (and which tasks are alike); decides nothing.
import { PortProtocol, PublishMode, type PortConfig, type Platform, type Task } from "@shoal/store";
import { parseConstraints, parseSpreadDescriptor, type Constraint, type NodeField } from "./constraints.js";
import { resourcesOf, type ResourceVector } from "./resources.js";

export interface Requirements {
  /** Tasks with equal keys ask for the same things and are placed as one group. */
  readonly key: string;
  readonly serviceId: string;
  readonly reservation: ResourceVector;
  readonly constraints: readonly Constraint[];
  readonly platforms: readonly Platform[];
  /** Host-mode published ports as "8080/tcp". */
  readonly hostPorts: readonly string[];
  /** 0 = unlimited. */
  readonly maxReplicas: number;
  /** Spread levels, outermost first. */
  readonly spread: readonly NodeField[];
  /** Set when the placement spec cannot be parsed: no node is suitable, and this says why. */
  readonly invalid?: string;
}

const PROTOCOLS: Record<number, string> = { [PortProtocol.TCP]: "tcp", [PortProtocol.UDP]: "udp", [PortProtocol.SCTP]: "sctp" };

export function portKey(port: number, protocol: PortProtocol | undefined): string {
  return `${port}/${PROTOCOLS[protocol ?? PortProtocol.TCP] ?? "tcp"}`;
}

/** The ports a task publishes: the allocated ones if any, else its endpoint spec's. */
function portsOf(task: Task): readonly PortConfig[] {
  return task.endpoint?.ports ?? task.endpoint?.spec?.ports ?? [];
}

function isHostPort(p: PortConfig): boolean {
  return p.publishMode === PublishMode.HOST && (p.publishedPort ?? 0) > 0;
}

/** The host-mode ports a task publishes, as "8080/tcp". */
export function hostPortsOf(task: Task): string[] {
  return portsOf(task)
    .filter(isHostPort)
    .map((p) => portKey(p.publishedPort!, p.protocol));
}

/**
 * requirementsOf over one batch of tasks: tasks of a service share their spec object (the store
 * keeps one template per service), so those that publish no host port share one result instead of
 * each building its own. The cache holds its specs: keep one per batch.
 */
export class RequirementsCache {
  private readonly bySpec = new Map<object, Requirements>();

  of(task: Task): Requirements {
    const cached = this.bySpec.get(task.spec);
    if (cached !== undefined && cached.serviceId === task.serviceId && cached.hostPorts.length === 0 && !portsOf(task).some(isHostPort)) return cached;
    const req = requirementsOf(task);
    this.bySpec.set(task.spec, req);
    return req;
  }
}

export function requirementsOf(task: Task): Requirements {
  const placement = task.spec.placement;
  const resources = task.spec.resources?.reservations;
  const hostPorts = hostPortsOf(task);
  const key = JSON.stringify([task.serviceId, resources ?? null, placement ?? null, hostPorts]);
  const base = {
    key,
    serviceId: task.serviceId,
    reservation: resourcesOf(resources),
    platforms: placement?.platforms ?? [],
    hostPorts,
    maxReplicas: placement?.maxReplicas ?? 0,
  };
  try {
    const constraints = parseConstraints(placement?.constraints);
    const spread = (placement?.preferences ?? []).flatMap((p) => (p.spread === undefined ? [] : [parseSpreadDescriptor(p.spread.spreadDescriptor)]));
    return { ...base, constraints, spread };
  } catch (err) {
    return { ...base, constraints: [], spread: [], invalid: (err as Error).message };
  }
}
