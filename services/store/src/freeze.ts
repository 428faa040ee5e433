// How stored objects are protected from callers: every object in the store is a private deep copy,
// deep-frozen, so reads can hand it out without copying (the scheduler reads tens of thousands of
// tasks per pass). Byte arrays cannot be frozen, so objects that contain any are copied on every
// read instead.

/** A stored object and whether reads must copy it. */
export interface Entry<T = unknown> {
  readonly obj: T;
  /** True when obj contains a Uint8Array (not freezable): reads return a structured clone. */
  readonly hasBytes: boolean;
}

/** Deep-freezes value in place (skipping byte arrays) and reports whether it holds byte arrays. */
export function freezeDeep(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (ArrayBuffer.isView(value)) return true;
  let hasBytes = false;
  for (const key of Object.keys(value)) {
    if (freezeDeep((value as Record<string, unknown>)[key])) hasBytes = true;
  }
  Object.freeze(value);
  return hasBytes;
}

/** Makes the store's private, frozen copy of a caller's object. */
export function intern<T>(value: T): Entry<T> {
  const obj = structuredClone(value);
  const hasBytes = freezeDeep(obj);
  return { obj, hasBytes };
}

/** Wraps an object that is already private to the store (e.g. freshly decoded). */
export function adopt<T>(obj: T): Entry<T> {
  return { obj, hasBytes: freezeDeep(obj) };
}

/** The value a reader gets: the frozen object itself, or a copy when it holds bytes. */
export function expose<T>(entry: Entry<T>): T {
  return entry.hasBytes ? structuredClone(entry.obj) : entry.obj;
}

/** A mutable deep copy of an object read from the store, to edit before update(). */
export function copyObject<T>(obj: T): T {
  return structuredClone(obj);
}
