// Resource arithmetic for placement: CPU, memory and generic (countable) resources as one vector.
// Owns how node capacity and task reservations are counted; decides nothing.
import type { GenericResource, Resources } from "@shoal/store";

export interface ResourceVector {
  nanoCpus: number;
  memoryBytes: number;
  /** Units per generic kind; a node's named resources (GPU ids…) count one unit each. */
  generic: Map<string, number>;
}

/** The dimension a vector lacks, for messages: "CPU", "memory" or "generic resource <kind>". */
export type ResourceShortage = string;

export function emptyResources(): ResourceVector {
  return { nanoCpus: 0, memoryBytes: 0, generic: new Map() };
}

function addGeneric(into: Map<string, number>, list: readonly GenericResource[] | undefined, sign: 1 | -1): void {
  for (const g of list ?? []) {
    const units = g.named !== undefined ? 1 : (g.discrete ?? 0);
    if (units === 0) continue;
    into.set(g.kind, (into.get(g.kind) ?? 0) + sign * units);
  }
}

export function resourcesOf(r: Resources | undefined): ResourceVector {
  const v = emptyResources();
  v.nanoCpus = r?.nanoCpus ?? 0;
  v.memoryBytes = r?.memoryBytes ?? 0;
  addGeneric(v.generic, r?.generic, 1);
  return v;
}

export function sameResources(a: ResourceVector, b: ResourceVector): boolean {
  if (a === b) return true;
  if (a.nanoCpus !== b.nanoCpus || a.memoryBytes !== b.memoryBytes || a.generic.size !== b.generic.size) return false;
  for (const [kind, units] of a.generic) if (b.generic.get(kind) !== units) return false;
  return true;
}

export function isZero(v: ResourceVector): boolean {
  return v.nanoCpus === 0 && v.memoryBytes === 0 && v.generic.size === 0;
}

/** into += v (sign 1) or into -= v (sign -1). */
export function addResources(into: ResourceVector, v: ResourceVector, sign: 1 | -1 = 1): void {
  into.nanoCpus += sign * v.nanoCpus;
  into.memoryBytes += sign * v.memoryBytes;
  for (const [kind, units] of v.generic) {
    const next = (into.generic.get(kind) ?? 0) + sign * units;
    if (next === 0) into.generic.delete(kind);
    else into.generic.set(kind, next);
  }
}

export function subtractResources(a: ResourceVector, b: ResourceVector): ResourceVector {
  const v: ResourceVector = { nanoCpus: a.nanoCpus, memoryBytes: a.memoryBytes, generic: new Map(a.generic) };
  addResources(v, b, -1);
  return v;
}

/** The first dimension where `need` exceeds `available`, or undefined when it fits. */
export function shortage(need: ResourceVector, available: ResourceVector): ResourceShortage | undefined {
  if (need.nanoCpus > available.nanoCpus) return "CPU";
  if (need.memoryBytes > available.memoryBytes) return "memory";
  for (const [kind, units] of need.generic) if (units > (available.generic.get(kind) ?? 0)) return `generic resource ${kind}`;
  return undefined;
}
