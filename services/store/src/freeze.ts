// How stored objects are protected from callers: every object in the store is a private deep copy,
// deep-frozen, so reads can hand it out without copying (the scheduler reads tens of thousands of
// tasks per pass). Byte arrays cannot be frozen, so objects that contain any are copied on every
// read instead. Store objects are plain data (objects, arrays, primitives, Uint8Array); the hand
// written copy below is several times faster than structuredClone for them.
import { invalid } from "./errors.js";

/** A stored object and whether reads must copy it. */
export interface Entry<T = unknown> {
  readonly obj: T;
  /** True when obj contains a Uint8Array (not freezable): reads return a copy. */
  readonly hasBytes: boolean;
}

// Frozen objects that contain byte arrays somewhere below, so that re-freezing an already frozen
// tree (an object staged by a transaction, then applied) need not walk it again.
const HOLDS_BYTES = new WeakSet<object>();

/** Deep-freezes value in place (skipping byte arrays) and reports whether it holds byte arrays. */
export function freezeDeep(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (ArrayBuffer.isView(value)) return true;
  if (Object.isFrozen(value)) return HOLDS_BYTES.has(value);
  let hasBytes = false;
  if (Array.isArray(value)) {
    for (const v of value) if (freezeDeep(v)) hasBytes = true;
  } else {
    for (const key in value) if (freezeDeep((value as Record<string, unknown>)[key])) hasBytes = true;
  }
  if (hasBytes) HOLDS_BYTES.add(value);
  Object.freeze(value);
  return hasBytes;
}

/** A deep copy of plain data; the copy is never frozen. */
export function cloneDeep<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value)) {
    if (!(value instanceof Uint8Array)) throw invalid("store objects may hold only Uint8Array byte arrays");
    return new Uint8Array(value) as T;
  }
  if (Array.isArray(value)) return value.map(cloneDeep) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw invalid("store objects must be plain data");
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = cloneDeep((value as Record<string, unknown>)[key]);
  return out as T;
}

/** Makes the store's private, frozen copy of a caller's object. */
export function intern<T>(value: T): Entry<T> {
  return adopt(cloneDeep(value));
}

/** Wraps an object that is already private to the store (freshly copied or decoded). */
export function adopt<T>(obj: T): Entry<T> {
  return { obj, hasBytes: freezeDeep(obj) };
}

/** The value a reader gets: the frozen object itself, or a copy when it holds bytes. */
export function expose<T>(entry: Entry<T>): T {
  return entry.hasBytes ? cloneDeep(entry.obj) : entry.obj;
}

/** A mutable deep copy of an object read from the store, to edit before update(). */
export function copyObject<T>(obj: T): T {
  return cloneDeep(obj);
}
