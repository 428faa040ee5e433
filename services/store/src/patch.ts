// Patches: how the raft log carries an update that leaves most of an object as it was. A task's
// status update is most of a busy cluster's writes, and its object is mostly what the task was
// before (spec, annotations, ids); the log, every replica's decode and every fsync paid for all of
// it. A patch names the version its writer read and the top-level fields that differ from it; a
// replica rebuilds the very object the writer made from its own copy of that version, which every
// replica holds alike (state machine safety), and applies it as the update it stands for.
// Pure functions: no store, no encoding (codec.ts decides when to patch, apply.ts resolves).
import type { StorePatch, StoreAction } from "./actions.js";
import { invalid } from "./errors.js";
import type { Kind, StoreObject } from "./objects/kinds.js";
import { KINDS } from "./objects/kinds.js";

type Fields = Record<string, unknown>;

/** Top-level keys that JSON keeps (a key holding undefined is dropped, as in a full object). */
function presentKeys(o: Fields): string[] {
  const out: string[] = [];
  for (const k of Object.keys(o)) if (o[k] !== undefined) out.push(k);
  return out;
}

/**
 * A patch that rebuilds `next` from `base`, the version it was written over (same id, and
 * next.meta.version.index is base's version), or undefined when most fields changed (the full
 * object is then no larger). Fields compare by reference: the store's writers keep each value
 * they leave alone (internOver), so an unchanged spec costs nothing to find.
 */
export function makePatch(kind: Kind, base: StoreObject, next: StoreObject): StorePatch | undefined {
  const b = base as unknown as Fields;
  const n = next as unknown as Fields;
  const set: Fields = {};
  const unset: string[] = [];
  const order: string[] = [];
  let changed = 0;
  const baseKeys = presentKeys(b);
  for (const k of baseKeys) {
    if (n[k] === undefined) {
      unset.push(k);
      continue;
    }
    order.push(k);
    if (k !== "meta" && n[k] !== b[k]) {
      set[k] = n[k];
      changed++;
    }
  }
  const keys = presentKeys(n);
  for (const k of keys) {
    if (b[k] !== undefined) continue;
    set[k] = n[k];
    order.push(k);
    changed++;
  }
  if (2 * (changed + unset.length) > keys.length) return undefined;
  const p: StorePatch = { action: "patch", kind, id: next.id, read: next.meta.version.index, set };
  if (typeof next.meta.updatedAt === "number") p.updatedAt = next.meta.updatedAt;
  if (unset.length > 0) p.unset = unset;
  if (order.length !== keys.length || order.some((k, i) => k !== keys[i])) p.keys = keys;
  return p;
}

/**
 * The update a patch stands for, rebuilt over `base` (the replica's object at version p.read):
 * the writer's object, keys in the writer's order. Its meta carries what applying an update uses
 * (the version read, and updatedAt); the rest of meta is the stored object's, as for an update.
 */
export function resolvePatch(p: StorePatch, base: StoreObject): StoreAction {
  const b = base as unknown as Fields;
  const meta: Fields = { version: { index: p.read }, createdAt: base.meta.createdAt };
  if (p.updatedAt !== undefined) meta["updatedAt"] = p.updatedAt;
  const value = (k: string): unknown => (k === "meta" ? meta : Object.hasOwn(p.set, k) ? p.set[k] : b[k]);
  const out: Fields = {};
  if (p.keys !== undefined) {
    for (const k of p.keys) out[k] = value(k);
  } else {
    const gone = new Set(p.unset ?? []);
    for (const k of presentKeys(b)) if (!gone.has(k)) out[k] = value(k);
    for (const k of Object.keys(p.set)) if (b[k] === undefined) out[k] = p.set[k];
  }
  return { action: "update", kind: p.kind, object: out as unknown as StoreObject };
}

const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((k) => typeof k === "string" && k !== "__proto__");

/** Checks a decoded patch's shape (a malformed one must be refused before any replica applies it). */
export function checkPatch(x: Partial<StorePatch>): StorePatch {
  const ok =
    KINDS.includes(x.kind!) &&
    typeof x.id === "string" &&
    Number.isSafeInteger(x.read) &&
    (x.updatedAt === undefined || typeof x.updatedAt === "number") &&
    x.set !== null &&
    typeof x.set === "object" &&
    !Array.isArray(x.set) &&
    !Object.hasOwn(x.set, "__proto__") &&
    !Object.hasOwn(x.set, "meta") &&
    (x.unset === undefined || strings(x.unset)) &&
    (x.keys === undefined || strings(x.keys));
  if (!ok) throw invalid("malformed store actions: bad patch");
  return x as StorePatch;
}
