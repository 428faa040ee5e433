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

/**
 * True only for a value known to hold no byte arrays: a primitive, or an object the store froze
 * and found none in. Anything else (a caller's unfrozen object) may hold some.
 */
export function knownByteFree(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  return !ArrayBuffer.isView(value) && Object.isFrozen(value) && !HOLDS_BYTES.has(value);
}

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
  return copyPlain(value, false);
}

/**
 * The copy behind cloneDeep, and behind intern's (`keepShareable`: a value nothing can change is
 * kept, not copied).
 */
function copyPlain<T>(value: T, keepShareable: boolean): T {
  if (value === null || typeof value !== "object") return value;
  if (keepShareable && shareable(value)) return value;
  if (ArrayBuffer.isView(value)) {
    if (!(value instanceof Uint8Array)) throw invalid("store objects may hold only Uint8Array byte arrays");
    return new Uint8Array(value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => copyPlain(v, keepShareable)) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw invalid("store objects must be plain data");
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = copyPlain((value as Record<string, unknown>)[key], keepShareable);
  return out as T;
}

// Values found to be deeply frozen plain data without byte arrays. Nothing can change such a value
// or anything below it, so once found, the answer holds for good.
const SHAREABLE = new WeakSet<object>();

/**
 * True when nothing can ever change value: a primitive, or plain data frozen all the way down with
 * no byte array anywhere (byte arrays cannot be frozen). The store's own objects are; a caller's
 * usually are not.
 */
export function shareable(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  if (SHAREABLE.has(value)) return true;
  if (ArrayBuffer.isView(value) || !Object.isFrozen(value)) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (!shareable(v)) return false;
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    for (const key in value) if (!shareable((value as Record<string, unknown>)[key])) return false;
  }
  SHAREABLE.add(value);
  return true;
}

/**
 * Makes the store's private, frozen copy of a caller's object. Parts of it that nothing can change
 * (a new task's spec that is its service's stored, frozen template) are kept rather than copied:
 * a hundred thousand new tasks then cost one copy of their template, not one each.
 */
export function intern<T>(value: T): Entry<T> {
  return adopt(copyPlain(value, true));
}

/**
 * intern() for a new version of a stored object: a field that still holds the very value of the
 * stored version (`{ ...cur, status }` keeps `spec`) is the store's own frozen data and is kept,
 * not copied; every other field is copied unless nothing can change it (shareable).
 */
export function internOver<T extends object>(value: T, stored: T): Entry<T> {
  const out: Record<string, unknown> = {};
  const base = stored as Record<string, unknown>;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    out[key] = v === base[key] ? v : copyPlain(v, true);
  }
  return adopt(out as T);
}

/**
 * Whether a and b hold the same plain data with their keys in the same order, so that either
 * encodes to the same bytes.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * Points `target[key]` (target: a new object, not frozen yet) at `stored`, a frozen value the
 * store already holds, when the two hold the same data. A hundred thousand tasks then share their
 * service's spec instead of each keeping a copy, and an update keeps the fields it did not change.
 */
export function shareField(target: Record<string, unknown>, key: string, stored: unknown): void {
  const v = target[key];
  if (v === stored || stored === null || typeof stored !== "object" || !Object.isFrozen(stored)) return;
  if (sameData(v, stored)) target[key] = stored;
}

/** Wraps an object that is already private to the store (freshly copied or decoded). */
export function adopt<T>(obj: T): Entry<T> {
  return { obj, hasBytes: freezeDeep(obj) };
}

/**
 * A stored object (frozen) with meta.version.index set to `index`, everything else shared: the
 * object a staged write becomes once its entry, at `index`, applies.
 */
export function withVersionIndex<T extends { meta: { version: { index: number } } }>(entry: Entry<T>, index: number): Entry<T> {
  const meta = Object.freeze({ ...entry.obj.meta, version: Object.freeze({ index }) });
  const obj = Object.freeze({ ...entry.obj, meta });
  if (entry.hasBytes) HOLDS_BYTES.add(obj);
  return { obj, hasBytes: entry.hasBytes };
}

/** The value a reader gets: the frozen object itself, or a copy when it holds bytes. */
export function expose<T>(entry: Entry<T>): T {
  return entry.hasBytes ? cloneDeep(entry.obj) : entry.obj;
}

/** A mutable deep copy of an object read from the store, to edit before update(). */
export function copyObject<T>(obj: T): T {
  return cloneDeep(obj);
}
