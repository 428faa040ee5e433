// Published ports: who holds which (protocol, port) in ingress mode, the dynamic range picks come
// from, and the conflicts a spec would cause. Ingress ports are cluster-wide (every node listens),
// so two services may not share one; host-mode ports are per node and left to the scheduler,
// except that no node can give a host-mode port that some service publishes through ingress.
// Pure: plain data in, plain data out.
import { PortProtocol, PublishMode, type EndpointSpec, type PortConfig, type Service } from "@shoal/store";

/** swarm's dynamic range for ingress ports published without a number. */
export const DYNAMIC_PORT_START = 30000;
export const DYNAMIC_PORT_END = 32767;

export function portProtocol(p: PortConfig): PortProtocol {
  return p.protocol ?? PortProtocol.TCP;
}

export function isIngress(p: PortConfig): boolean {
  return (p.publishMode ?? PublishMode.INGRESS) === PublishMode.INGRESS;
}

/** "8080/tcp", for keys and messages. */
export function portName(protocol: PortProtocol, port: number): string {
  return `${port}/${PortProtocol[protocol].toLowerCase()}`;
}

/**
 * Ingress ports in use: (protocol, port) → the service holding it. Invariant: one holder per port.
 * Ports are only ever claimed (a table is built afresh for each allocation round), so the lowest
 * free dynamic port only moves up: nextFree resumes from where it last stopped.
 */
export class PortTable {
  private readonly holders = new Map<string, string>();
  private readonly lowestFree = new Map<PortProtocol, number>();

  holder(protocol: PortProtocol, port: number): string | undefined {
    return this.holders.get(portName(protocol, port));
  }

  /** Takes the port for serviceId; false if another service holds it. */
  claim(protocol: PortProtocol, port: number, serviceId: string): boolean {
    const key = portName(protocol, port);
    const cur = this.holders.get(key);
    if (cur !== undefined && cur !== serviceId) return false;
    this.holders.set(key, serviceId);
    return true;
  }

  /** The lowest free port of the dynamic range, or undefined when the range is exhausted. */
  nextFree(protocol: PortProtocol): number | undefined {
    for (let port = this.lowestFree.get(protocol) ?? DYNAMIC_PORT_START; port <= DYNAMIC_PORT_END; port++) {
      if (this.holder(protocol, port) !== undefined) continue;
      this.lowestFree.set(protocol, port);
      return port;
    }
    this.lowestFree.set(protocol, DYNAMIC_PORT_END + 1);
    return undefined;
  }
}

export interface PortConflict {
  protocol: PortProtocol;
  port: number;
  /** in-use: another service holds it; duplicate: the spec publishes it twice; exhausted: no dynamic port left. */
  reason: "in-use" | "duplicate" | "exhausted";
  /** The service that holds the port ("" when unknown or a duplicate). */
  holderId: string;
  holderName: string;
  /** How the holder publishes it. */
  holderMode: PublishMode;
}

function published(ports: readonly PortConfig[] | undefined): PortConfig[] {
  return (ports ?? []).filter((p) => (p.publishedPort ?? 0) > 0);
}

/**
 * The first published port of `spec` that clashes: twice in the spec itself (ingress), or with
 * another service's ingress port (any mode here), or — for an ingress port here — with another
 * service's host-mode port. Other services count with both their spec and their allocated
 * endpoint (an allocation may lag the spec). `serviceId` (an update) is not compared with itself.
 */
export function findPortConflict(spec: EndpointSpec | undefined, serviceId: string | undefined, services: readonly Service[]): PortConflict | undefined {
  const mine = published(spec?.ports);
  const seen = new Set<string>();
  for (const p of mine.filter(isIngress)) {
    const key = portName(portProtocol(p), p.publishedPort!);
    if (seen.has(key)) return { protocol: portProtocol(p), port: p.publishedPort!, reason: "duplicate", holderId: "", holderName: "", holderMode: PublishMode.INGRESS };
    seen.add(key);
  }
  for (const other of services) {
    if (other.id === serviceId) continue;
    for (const theirs of [...published(other.spec.endpoint?.ports), ...published(other.endpoint?.ports)]) {
      const clash = mine.find((p) => portProtocol(p) === portProtocol(theirs) && p.publishedPort === theirs.publishedPort && (isIngress(p) || isIngress(theirs)));
      if (clash === undefined) continue;
      return {
        reason: "in-use",
        protocol: portProtocol(clash),
        port: clash.publishedPort!,
        holderId: other.id,
        holderName: other.spec.annotations.name,
        holderMode: isIngress(theirs) ? PublishMode.INGRESS : PublishMode.HOST,
      };
    }
  }
  return undefined;
}

export function conflictMessage(c: PortConflict): string {
  if (c.reason === "duplicate") return `port ${portName(c.protocol, c.port)} is published more than once`;
  if (c.reason === "exhausted") return `no free port left in the dynamic range ${DYNAMIC_PORT_START}-${DYNAMIC_PORT_END} for ${PortProtocol[c.protocol].toLowerCase()}`;
  const how = c.holderMode === PublishMode.INGRESS ? "an ingress port" : "a host-published port";
  return `port ${portName(c.protocol, c.port)} is already in use by service '${c.holderName}' (${c.holderId}) as ${how}`;
}
