// NodeInfo: what the scheduler knows about one node beyond the Node object: resources still free
// (capacity minus the reservations of tasks placed there and not yet ended), task counts per
// service, host ports in use. Owns these aggregates and keeps them consistent as tasks come and go;
// must not decide placement.
import { NodeAvailability, NodeState, hasTaskRuntime, type GenericResource, type Node } from "@shoal/store";
import { addResources, resourcesOf, subtractResources, type ResourceVector } from "./resources.js";

/** How one task weighs on the node it is placed on. */
export interface TaskUsage {
  readonly taskId: string;
  readonly serviceId: string;
  readonly nodeId: string;
  readonly reservation: ResourceVector;
  readonly hostPorts: readonly string[];
  /** The node's named generic resources (GPU ids…) the task was given. */
  readonly named: readonly GenericResource[];
  /** Still wanted (desired state up to COMPLETE): counts for spreading and max replicas. */
  readonly active: boolean;
  /**
   * The committed task's objects the usage was computed from (none for a decision not yet
   * committed): a later version that shares them (a status report) weighs the same.
   */
  readonly from?: { readonly reservations: unknown; readonly endpoint: unknown; readonly named: unknown };
}

export class NodeInfo {
  private reserved: ResourceVector;
  // Invariant: available = capacity(node) - reserved.
  private availableNow: ResourceVector;
  private readonly byService = new Map<string, number>();
  private readonly ports = new Map<string, number>();
  // kind → name → tasks holding it (normally 1).
  private readonly namedInUse = new Map<string, Map<string, number>>();
  private active = 0;

  constructor(
    private current: Node,
    usages: Iterable<TaskUsage> = [],
  ) {
    this.reserved = resourcesOf(undefined);
    this.availableNow = resourcesOf(current.description?.resources);
    for (const u of usages) this.add(u);
  }

  get id(): string {
    return this.current.id;
  }

  get node(): Node {
    return this.current;
  }

  /** Free resources; may be negative when tasks were placed before capacity shrank. */
  get available(): ResourceVector {
    return this.availableNow;
  }

  /** Tasks still wanted on the node, of every service. */
  get activeTasks(): number {
    return this.active;
  }

  /** READY, ACTIVE and with a task runtime: may be given new tasks. */
  get acceptsTasks(): boolean {
    return this.current.status.state === NodeState.READY && this.current.spec.availability === NodeAvailability.ACTIVE && hasTaskRuntime(this.current);
  }

  tasksOfService(serviceId: string): number {
    return this.byService.get(serviceId) ?? 0;
  }

  hostPortInUse(port: string): boolean {
    return (this.ports.get(port) ?? 0) > 0;
  }

  /**
   * Picks the named resources a task reserving `generic` gets here: for each kind, free names in
   * order, then discrete units for the rest (as swarm claims them). Assumes the reservation fits.
   */
  claimGeneric(generic: ReadonlyMap<string, number>): GenericResource[] {
    const claimed: GenericResource[] = [];
    for (const [kind, units] of generic) {
      let left = units;
      const inUse = this.namedInUse.get(kind);
      const names = (this.current.description?.resources?.generic ?? []).filter((g) => g.kind === kind && g.named !== undefined).map((g) => g.named!);
      for (const name of names.sort()) {
        if (left === 0) break;
        if ((inUse?.get(name) ?? 0) > 0) continue;
        claimed.push({ kind, named: name });
        left--;
      }
      if (left > 0) claimed.push({ kind, discrete: left });
    }
    return claimed;
  }

  setNode(node: Node): void {
    this.current = node;
    this.availableNow = subtractResources(resourcesOf(node.description?.resources), this.reserved);
  }

  add(u: TaskUsage): void {
    this.apply(u, 1);
  }

  remove(u: TaskUsage): void {
    this.apply(u, -1);
  }

  private apply(u: TaskUsage, sign: 1 | -1): void {
    addResources(this.reserved, u.reservation, sign);
    addResources(this.availableNow, u.reservation, sign === 1 ? -1 : 1);
    for (const p of u.hostPorts) bump(this.ports, p, sign);
    for (const g of u.named) {
      if (g.named === undefined) continue;
      let names = this.namedInUse.get(g.kind);
      if (names === undefined) this.namedInUse.set(g.kind, (names = new Map()));
      bump(names, g.named, sign);
      if (names.size === 0) this.namedInUse.delete(g.kind);
    }
    if (u.active) {
      this.active += sign;
      bump(this.byService, u.serviceId, sign);
    }
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const next = (m.get(key) ?? 0) + by;
  if (next === 0) m.delete(key);
  else m.set(key, next);
}
