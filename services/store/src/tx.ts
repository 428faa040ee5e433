// Read and write transactions. A transaction is a synchronous callback over a consistent state
// (nothing is applied while synchronous code runs). A write transaction stages its changes in a
// Layer, validates each one as it is made (so the caller gets the error at the line that caused
// it), and records the StoreActions that the store proposes when the callback returns.
import type { Clock } from "@shoal/common";
import type { StoreAction } from "./actions.js";
import { StoreError, idConflict, invalid, nameConflict, notFound, versionConflict } from "./errors.js";
import { expose, intern, internOver } from "./freeze.js";
import type { Kind, NewObject, ObjectOf, StoreObject } from "./objects/kinds.js";
import { KINDS, UNIQUE_NAME_KINDS, objectName } from "./objects/kinds.js";
import type { Selector } from "./selectors.js";
import { compileSelector } from "./selectors.js";
import type { Layer, Reader, StoredEntry } from "./tables.js";

export interface ReadTx {
  get<K extends Kind>(kind: K, id: string): ObjectOf<K> | undefined;
  /** Objects matching `by` (all of the kind when omitted). */
  find<K extends Kind>(kind: K, by?: Selector): ObjectOf<K>[];
  /**
   * Resolves what a user typed, as the Docker API does: an exact ID, else an exact name
   * (case-insensitive), else an unambiguous ID prefix. Throws STORE_NOT_FOUND or STORE_AMBIGUOUS
   * (with the candidates' ids in meta.candidates).
   */
  lookup<K extends Kind>(kind: K, ref: string): ObjectOf<K>;
}

/**
 * Objects returned inside a write transaction are staged, not committed: they carry the version
 * they were read at (0 for creates) until the store applies them; re-read after update() resolves
 * to see the committed version and timestamps.
 */
export interface WriteTx extends ReadTx {
  /** Creates an object; meta is filled in. Throws STORE_ID_CONFLICT, STORE_NAME_CONFLICT, STORE_INVALID. */
  create<K extends Kind>(kind: K, obj: NewObject<K>): ObjectOf<K>;
  /**
   * Replaces an object. obj.meta.version.index must be the version read (optimistic concurrency):
   * otherwise STORE_VERSION_CONFLICT "update out of sequence". createdAt cannot be changed.
   */
  update<K extends Kind>(kind: K, obj: ObjectOf<K>): ObjectOf<K>;
  delete(kind: Kind, id: string): void;
}

export function assertKind(kind: unknown): asserts kind is Kind {
  if (!KINDS.includes(kind as Kind)) throw invalid(`unknown object kind ${String(kind)}`, { kind });
}

/** Refuses a name that another object of a unique-name kind already has. */
export function checkName(reader: Reader, kind: Kind, obj: StoreObject): void {
  if (!UNIQUE_NAME_KINDS.has(kind)) return;
  const name = objectName(kind, obj);
  if (name === "") throw invalid(`${kind} ${obj.id} has no name`, { kind, id: obj.id });
  const taken = reader.findEntries(kind, compileSelector(kind, { name })).find((e) => e.obj.id !== obj.id);
  if (taken !== undefined) throw nameConflict(kind, name, taken.obj.id);
}

export function checkId(kind: Kind, obj: { id?: unknown }): void {
  if (typeof obj?.id !== "string" || obj.id === "") throw invalid(`${kind} without an id`, { kind });
}

export class ReadTxImpl implements ReadTx {
  private open = true;

  constructor(protected readonly reader: Reader) {}

  close(): void {
    this.open = false;
  }

  protected checkOpen(): void {
    // A transaction used after its callback returned would read a state that moved on.
    if (!this.open) throw invalid("transaction used after its callback returned");
  }

  get<K extends Kind>(kind: K, id: string): ObjectOf<K> | undefined {
    this.checkOpen();
    const e = this.reader.getEntry(kind, id);
    return e === undefined ? undefined : (expose(e) as ObjectOf<K>);
  }

  find<K extends Kind>(kind: K, by?: Selector): ObjectOf<K>[] {
    this.checkOpen();
    assertKind(kind);
    return this.reader.findEntries(kind, compileSelector(kind, by)).map((e) => expose(e) as ObjectOf<K>);
  }

  lookup<K extends Kind>(kind: K, ref: string): ObjectOf<K> {
    this.checkOpen();
    assertKind(kind);
    const exact = this.reader.getEntry(kind, ref);
    if (exact !== undefined) return expose(exact) as ObjectOf<K>;
    if (ref === "") throw notFound(kind, ref);
    const byName = this.reader.findEntries(kind, compileSelector(kind, { name: ref }));
    if (byName.length === 1) return expose(byName[0]!) as ObjectOf<K>;
    const candidates = byName.length > 1 ? byName : this.reader.findEntries(kind, compileSelector(kind, { idPrefix: ref }));
    if (candidates.length === 1) return expose(candidates[0]!) as ObjectOf<K>;
    if (candidates.length === 0) throw notFound(kind, ref);
    const ids = candidates.map((e) => e.obj.id).sort();
    throw new StoreError(
      { code: "STORE_AMBIGUOUS", kind, ref, candidates: ids },
      `${kind} ${ref} is ambiguous (${ids.length} matches found: ${ids.join(", ")})`,
    );
  }
}

export class WriteTxImpl extends ReadTxImpl implements WriteTx {
  readonly actions: StoreAction[] = [];

  constructor(
    private readonly layer: Layer,
    private readonly clock: Clock,
  ) {
    super(layer);
  }

  create<K extends Kind>(kind: K, input: NewObject<K>): ObjectOf<K> {
    this.checkOpen();
    assertKind(kind);
    checkId(kind, input);
    if (this.layer.getEntry(kind, input.id) !== undefined) throw idConflict(kind, input.id);
    const now = this.clock.now();
    const entry = intern({ ...input, meta: { version: { index: 0 }, createdAt: now, updatedAt: now } }) as StoredEntry;
    checkName(this.layer, kind, entry.obj);
    return this.stage("create", kind, entry) as ObjectOf<K>;
  }

  update<K extends Kind>(kind: K, obj: ObjectOf<K>): ObjectOf<K> {
    this.checkOpen();
    assertKind(kind);
    checkId(kind, obj);
    const cur = this.layer.getEntry(kind, obj.id);
    if (cur === undefined) throw notFound(kind, obj.id);
    const read = obj.meta?.version?.index;
    const current = cur.obj.meta.version.index;
    if (read !== current) throw versionConflict(kind, obj.id, current, typeof read === "number" ? read : -1);
    const meta = { version: { index: current }, createdAt: cur.obj.meta.createdAt, updatedAt: this.clock.now() };
    const entry = internOver({ ...obj, meta }, cur.obj) as StoredEntry;
    checkName(this.layer, kind, entry.obj);
    return this.stage("update", kind, entry) as ObjectOf<K>;
  }

  delete(kind: Kind, id: string): void {
    this.checkOpen();
    assertKind(kind);
    const cur = this.layer.getEntry(kind, id);
    if (cur === undefined) throw notFound(kind, id);
    this.layer.set(kind, id, null);
    this.actions.push({ action: "delete", kind, object: cur.obj });
  }

  private stage(action: "create" | "update", kind: Kind, entry: StoredEntry): StoreObject {
    this.layer.set(kind, entry.obj.id, entry);
    this.actions.push({ action, kind, object: entry.obj });
    return expose(entry);
  }
}
