// Service endpoints: the published ports each service gets (DESIGN §2). Explicit ingress ports are
// taken as asked, ingress ports asked as 0 get one from the dynamic range (and keep it across spec
// updates and leader changes: it is in service.endpoint, and a port still wanted is never moved),
// host-mode ports pass through untouched. A port another service already holds is left out of the
// endpoint — its absence is the mark that the API's check (findPortConflict) lost a race — and is
// retried on every pass, so it is granted once the holder lets go. Ports a service no longer asks
// for, or of a deleted service, are simply not claimed again: that frees them. VIPs are left as
// they are (the network allocator's). Pure.
import { copyObject, PublishMode, type Endpoint, type PortConfig, type Service } from "@shoal/store";
import { sameData } from "../../orchestrator/core/new-task.js";
import { DYNAMIC_PORT_END, DYNAMIC_PORT_START, PortTable, isIngress, portProtocol, type PortConflict } from "./ports.js";

export interface EndpointChange {
  serviceId: string;
  /** The service version it was decided from. */
  version: number;
  /** undefined: the service publishes nothing and needs no endpoint. */
  endpoint: Endpoint | undefined;
  /** Ingress ports left out because another service holds them. */
  conflicts: PortConflict[];
}

function sameSlot(a: PortConfig, b: PortConfig): boolean {
  return a.targetPort === b.targetPort && portProtocol(a) === portProtocol(b) && (a.name ?? "") === (b.name ?? "") && isIngress(a) === isIngress(b);
}

/** The port already allocated to the spec's port p, if the service still asks for it as before. */
function keptPort(p: PortConfig, current: Endpoint | undefined): number | undefined {
  if (!isIngress(p)) return undefined;
  const wanted = p.publishedPort ?? 0;
  const prev = (current?.ports ?? []).find((c) => sameSlot(c, p) && (wanted === 0 ? inDynamicRange(c.publishedPort) : c.publishedPort === wanted));
  return prev?.publishedPort;
}

function inDynamicRange(port: number | undefined): boolean {
  return port !== undefined && port >= DYNAMIC_PORT_START && port <= DYNAMIC_PORT_END;
}

/** Oldest first: an older service keeps a port a younger one also wants. */
function byAge(a: Service, b: Service): number {
  return a.meta.createdAt - b.meta.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The endpoint changes that bring every service's endpoint in line with its spec. Claims go in
 * three rounds so that a port already granted is never taken away, and an explicit port wins over
 * a dynamic pick: (1) ports still allocated and still wanted, (2) explicit ports, (3) dynamic picks.
 */
export function allocateEndpoints(services: readonly Service[]): EndpointChange[] {
  const ordered = [...services].sort(byAge);
  const table = new PortTable();
  const granted = new Map<string, Map<PortConfig, number>>();
  const grant = (s: Service, p: PortConfig, port: number): void => {
    if (!table.claim(portProtocol(p), port, s.id)) return;
    let m = granted.get(s.id);
    if (m === undefined) granted.set(s.id, (m = new Map()));
    m.set(p, port);
  };
  const specPorts = (s: Service): PortConfig[] => (s.spec.endpoint?.ports ?? []).filter(isIngress);
  // A deleted service's tasks are still stopping: it keeps what it has, asks for nothing new.
  const live = ordered.filter((s) => s.pendingDelete !== true);
  for (const s of ordered) {
    for (const p of specPorts(s)) {
      const kept = keptPort(p, s.endpoint);
      if (kept !== undefined) grant(s, p, kept);
    }
  }
  for (const s of live) for (const p of specPorts(s)) if ((p.publishedPort ?? 0) > 0 && granted.get(s.id)?.get(p) === undefined) grant(s, p, p.publishedPort!);
  for (const s of live) {
    for (const p of specPorts(s)) {
      if ((p.publishedPort ?? 0) > 0 || granted.get(s.id)?.get(p) !== undefined) continue;
      const port = table.nextFree(portProtocol(p));
      if (port !== undefined) grant(s, p, port);
    }
  }

  const changes: EndpointChange[] = [];
  for (const s of live) {
    const conflicts: PortConflict[] = [];
    const endpoint = buildEndpoint(s, granted.get(s.id), table, conflicts);
    for (const c of conflicts) c.holderName = ordered.find((o) => o.id === c.holderId)?.spec.annotations.name ?? "";
    if (!sameData(endpoint, s.endpoint)) changes.push({ serviceId: s.id, version: s.meta.version.index, endpoint, conflicts });
  }
  return changes;
}

function buildEndpoint(s: Service, granted: Map<PortConfig, number> | undefined, table: PortTable, conflicts: PortConflict[]): Endpoint | undefined {
  const spec = s.spec.endpoint;
  if (spec === undefined) return s.endpoint?.virtualIps === undefined ? undefined : { virtualIps: copyObject(s.endpoint.virtualIps) };
  const ports: PortConfig[] = [];
  for (const p of spec.ports ?? []) {
    const port = isIngress(p) ? granted?.get(p) : p.publishedPort;
    if (isIngress(p) && port === undefined) {
      const wanted = p.publishedPort ?? 0;
      const holderId = wanted > 0 ? (table.holder(portProtocol(p), wanted) ?? "") : "";
      conflicts.push({ reason: wanted > 0 ? "in-use" : "exhausted", protocol: portProtocol(p), port: wanted, holderId, holderName: "", holderMode: PublishMode.INGRESS });
      continue;
    }
    const out: PortConfig = { ...copyObject(p), protocol: portProtocol(p), publishMode: p.publishMode ?? PublishMode.INGRESS };
    if (port !== undefined) out.publishedPort = port;
    ports.push(out);
  }
  const endpoint: Endpoint = { spec: copyObject(spec), ports };
  if (s.endpoint?.virtualIps !== undefined) endpoint.virtualIps = copyObject(s.endpoint.virtualIps);
  return endpoint;
}

/** The service's endpoint matches its spec: its tasks may take it (and move on to PENDING). */
export function isEndpointAllocated(s: Service): boolean {
  return s.spec.endpoint === undefined || sameData(s.endpoint?.spec, s.spec.endpoint);
}

/**
 * The endpoint allocateEndpoints would give a service whose endpoint spec claims nothing other
 * services could hold (no ingress port: a resolution mode and host-mode ports only), whatever the
 * other services are; undefined when it has its endpoint already, is being deleted, or asks for
 * ingress ports (those need every service's claims: the allocator's loop decides them). The
 * orchestrators' commit applies it when it creates the service's first tasks, so that they are
 * born PENDING: `shoal service create` and `docker service create` always send an endpoint spec
 * (mode vip), and tasks created before the allocator had written it were born NEW, one more
 * write each. When VIPs are allocated (overlay networks), a service that needs one must not be
 * standalone either.
 */
export function standaloneEndpoint(s: Service): Endpoint | undefined {
  const spec = s.spec.endpoint;
  if (spec === undefined || s.pendingDelete === true || isEndpointAllocated(s)) return undefined;
  if ((spec.ports ?? []).some(isIngress)) return undefined;
  return buildEndpoint(s, undefined, new PortTable(), []);
}
