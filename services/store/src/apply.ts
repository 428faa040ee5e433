// Applying a committed entry's actions to the tables: the single path for the leader's own writes,
// followers' replicated entries and log replay. Deterministic: no clock, no randomness; the result
// depends only on the current state, the actions and the index. All or nothing: the actions are
// checked against an overlay first, and the tables change only if every one of them holds.
import type { LoggedAction, StoreAction } from "./actions.js";
import { StoreError, idConflict, invalid, notFound, versionConflict } from "./errors.js";
import { adopt, shareField } from "./freeze.js";
import type { Kind, StoreObject } from "./objects/kinds.js";
import type { Service } from "./objects/service.js";
import type { Task } from "./objects/task.js";
import { resolvePatch } from "./patch.js";
import { assertKind, checkId, checkName } from "./tx.js";
import { Layer, type Reader, type StoredEntry, type Tables } from "./tables.js";

/** A change as applied, before it is exposed to watchers. */
export interface AppliedChange {
  kind: Kind;
  action: StoreAction["action"];
  entry: StoredEntry;
  oldEntry?: StoredEntry;
}

export type ApplyOutcome = { ok: true; changes: AppliedChange[] } | { ok: false; error: StoreError };

function withVersion(obj: StoreObject, index: number, createdAt: number): StoreObject {
  const updatedAt = typeof obj.meta?.updatedAt === "number" ? obj.meta.updatedAt : createdAt;
  return { ...obj, meta: { version: { index }, createdAt, updatedAt } } as StoreObject;
}

/**
 * Shares the stored values a new object repeats (next: fresh, not frozen yet): a task created
 * from its service's template shares that spec and those annotations, and an update keeps each
 * field it left as it was. The data is the same; only less of it is held.
 */
export function shareStored(reader: Reader, kind: Kind, next: StoreObject, old: StoreObject | undefined): void {
  const target = next as unknown as Record<string, unknown>;
  if (old !== undefined) {
    const base = old as unknown as Record<string, unknown>;
    for (const key in target) if (key !== "meta") shareField(target, key, base[key]);
    return;
  }
  if (kind === "task") {
    const service = reader.getEntry("service", (next as Task).serviceId)?.obj as Service | undefined;
    if (service === undefined) return;
    shareField(target, "spec", service.spec.task);
    shareField(target, "serviceAnnotations", service.spec.annotations);
  }
}

export function applyActions(tables: Tables, actions: readonly LoggedAction[], index: number): ApplyOutcome {
  const layer = new Layer(tables);
  const changes: AppliedChange[] = [];
  try {
    for (const logged of actions) {
      assertKind(logged?.kind);
      let a: StoreAction;
      if (logged.action === "patch") {
        // The update it stands for, rebuilt over the version it names and no other: not even
        // over an earlier write of this entry, which an update may follow (the codec never
        // patches such an update, so a patch there is not one it made).
        const cur = layer.getEntry(logged.kind, logged.id);
        if (cur === undefined) throw notFound(logged.kind, logged.id);
        const current = cur.obj.meta.version.index;
        if (logged.read !== current) throw versionConflict(logged.kind, logged.id, current, logged.read);
        a = resolvePatch(logged, cur.obj);
      } else a = logged;
      checkId(a.kind, a.object);
      const { kind, object } = a;
      const cur = layer.getEntry(kind, object.id);
      switch (a.action) {
        case "create": {
          if (cur !== undefined) throw idConflict(kind, object.id);
          const createdAt = typeof object.meta?.createdAt === "number" ? object.meta.createdAt : 0;
          const next = withVersion(object, index, createdAt);
          shareStored(layer, kind, next, undefined);
          const entry = adopt(next);
          checkName(layer, kind, entry.obj);
          layer.set(kind, object.id, entry);
          changes.push({ kind, action: "create", entry });
          break;
        }
        case "update": {
          if (cur === undefined) throw notFound(kind, object.id);
          // The writer validated against the state it read; re-check here so that a write that
          // raced with entries it had not seen is refused identically on every replica. An object
          // already written by this very entry carries the version its transaction read.
          const read = object.meta?.version?.index;
          const current = cur.obj.meta.version.index;
          if (read !== current && current !== index) throw versionConflict(kind, object.id, current, read ?? -1);
          const next = withVersion(object, index, cur.obj.meta.createdAt);
          shareStored(layer, kind, next, cur.obj);
          const entry = adopt(next);
          checkName(layer, kind, entry.obj);
          layer.set(kind, object.id, entry);
          changes.push({ kind, action: "update", entry, oldEntry: cur });
          break;
        }
        case "delete": {
          if (cur === undefined) throw notFound(kind, object.id);
          layer.set(kind, object.id, null);
          changes.push({ kind, action: "delete", entry: cur });
          break;
        }
        default:
          throw invalid(`unknown store action ${String((a as { action?: unknown }).action)}`);
      }
    }
  } catch (err) {
    if (err instanceof StoreError) return { ok: false, error: err };
    throw err;
  }
  for (const [kind, byId] of layer.changes) {
    const table = tables.table(kind);
    for (const [id, entry] of byId) {
      if (entry === null) table.remove(id);
      else table.put(entry);
    }
  }
  return { ok: true, changes };
}
