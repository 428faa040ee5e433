// Bytes for the raft log and snapshots. The only module that knows the encoding: today JSON with
// byte arrays as {"$b64": "…"} inside a versioned envelope; it can become the protobuf messages of
// proto/objects.proto (StoreActions, StoreSnapshot) without touching anything else.
import { nextTurn } from "@shoal/common";
import type { LoggedAction, StoreAction, StorePatch } from "./actions.js";
import { invalid } from "./errors.js";
import { knownByteFree } from "./freeze.js";
import { KINDS, type Kind, type StoreObject } from "./objects/kinds.js";
import { checkPatch, makePatch } from "./patch.js";
import { SNAPSHOT_FIELD, type StoreSnapshot } from "./snapshot.js";

const FORMAT = 1;
/** Entries with patches: a member whose code predates them refuses the entry by its format. */
const FORMAT_PATCHES = 2;
/** Entries staged over an entry in flight (`after`, patches allowed): older members refuse them by format. */
const FORMAT_AFTER = 3;
const ACTIONS = new Set(["create", "update", "delete"]);

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { $b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const b64 = (value as { $b64?: unknown }).$b64;
    if (keys.length === 1 && typeof b64 === "string") return new Uint8Array(Buffer.from(b64, "base64"));
  }
  return value;
}

/**
 * JSON text of a value; the replacer (which turns byte arrays into base64, and makes
 * JSON.stringify about twice as slow) is left out when the value holds no bytes: by default,
 * when the store knows so (`byteFree` lets a caller say it of a wrapper it built).
 */
function stringify(value: unknown, byteFree = knownByteFree(value)): string | undefined {
  return byteFree ? JSON.stringify(value) : JSON.stringify(value, replacer);
}

function encode(body: unknown, byteFree?: boolean): Uint8Array {
  return new TextEncoder().encode(stringify(body, byteFree) ?? "null");
}

function decode(bytes: Uint8Array, what: string, formats: readonly number[] = [FORMAT]): Record<string, unknown> {
  let body: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // The reviver visits every value and makes a parse several times slower: only text that
    // carries a byte array needs it.
    body = text.includes('"$b64"') ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (err) {
    throw invalid(`malformed ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const v = (body as { v?: unknown } | null)?.v;
  if (body === null || typeof body !== "object" || typeof v !== "number") throw invalid(`malformed ${what}: unknown format`);
  if (!formats.includes(v)) {
    // Written by a newer shoald (a member upgraded before this one): say so, not just "malformed".
    const reads = formats.length === 1 ? String(formats[0]) : `${formats.slice(0, -1).join(", ")} and ${formats.at(-1)}`;
    throw invalid(`${what} of format ${v}, which this version of shoald does not read (it reads ${reads}): upgrade this manager to the version the others run`);
  }
  return body as Record<string, unknown>;
}

function checkAction(a: unknown, patches: boolean): LoggedAction {
  if (patches && (a as { action?: unknown } | null)?.action === "patch") return checkPatch(a as Partial<StorePatch>);
  const x = a as Partial<StoreAction> | null;
  if (
    x === null ||
    typeof x !== "object" ||
    !ACTIONS.has(x.action as string) ||
    !KINDS.includes(x.kind!) ||
    x.object === null ||
    typeof x.object !== "object" ||
    typeof (x.object as { id?: unknown }).id !== "string"
  ) {
    throw invalid("malformed store actions: bad action");
  }
  return x as StoreAction;
}

/** The object at the version an update was written over, if known (MemoryStore: its committed objects). */
export type BaseLookup = (kind: Kind, id: string) => StoreObject | undefined;

/** A raft entry's contents: its actions, and the entry of the writer's it was staged over (0: none). */
export interface StoreEntry {
  actions: LoggedAction[];
  after: number;
}

/**
 * The bytes of a raft entry. With `base`, an update whose object `base` holds at the version the
 * writer read goes as a patch (patch.ts), unless an earlier action of the entry touches the same
 * object (its base would then be that action's, not the one every replica holds). `after` (> 0):
 * the entry was staged over that one while it was in flight (MemoryStore's pipelined writes).
 */
export function encodeStoreActions(actions: readonly StoreAction[], base?: BaseLookup, after = 0): Uint8Array {
  const byteFree = actions.every((a) => knownByteFree(a.object));
  if (after > 0) {
    if (!Number.isSafeInteger(after)) throw invalid(`entry staged after index ${after}, which is not one`);
    return encode({ v: FORMAT_AFTER, after, actions: base === undefined ? actions : patched(actions, base) }, byteFree);
  }
  if (base === undefined) return encode({ v: FORMAT, actions }, byteFree);
  const logged = patched(actions, base);
  return logged === actions ? encode({ v: FORMAT, actions }, byteFree) : encode({ v: FORMAT_PATCHES, actions: logged }, byteFree);
}

/** actions with each update that can go as a patch over `base` made one (actions itself if none can). */
function patched(actions: readonly StoreAction[], base: BaseLookup): readonly LoggedAction[] {
  let logged: LoggedAction[] | undefined;
  const touched = new Set<string>();
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    const key = a.kind + "\u0000" + a.object.id;
    const first = !touched.has(key);
    touched.add(key);
    if (a.action !== "update" || !first) continue;
    const b = base(a.kind, a.object.id);
    if (b === undefined || b.meta.version.index !== a.object.meta?.version?.index) continue;
    const p = makePatch(a.kind, b, a.object);
    if (p === undefined) continue;
    logged ??= actions.slice();
    logged[i] = p;
  }
  return logged ?? actions;
}

/** An entry's actions (patches included: applyActions resolves them) and what it was staged after. */
export function decodeStoreEntry(bytes: Uint8Array): StoreEntry {
  const body = decode(bytes, "store actions", [FORMAT, FORMAT_PATCHES, FORMAT_AFTER]);
  if (!Array.isArray(body["actions"])) throw invalid("malformed store actions: no actions");
  const v = body["v"];
  let after = 0;
  if (v === FORMAT_AFTER) {
    after = body["after"] as number;
    if (!Number.isSafeInteger(after) || after <= 0) throw invalid("malformed store actions: bad after");
  }
  const patches = v !== FORMAT;
  return { actions: body["actions"].map((a) => checkAction(a, patches)), after };
}

/** An entry's actions, patches included (applyActions resolves them). */
export function decodeStoreActions(bytes: Uint8Array): LoggedAction[] {
  return decodeStoreEntry(bytes).actions;
}

export function encodeSnapshot(snapshot: StoreSnapshot): Uint8Array {
  return encode({ v: FORMAT, ...snapshot });
}

/**
 * encodeSnapshot's bytes as the parts that make them when joined (a part per slice of
 * `objectsPerSlice` objects), built with `pause()` awaited between slices, so that encoding a store
 * of a hundred thousand objects (seconds of CPU) does not block the event loop: heartbeats and raft
 * keep running. The snapshot must not change meanwhile (the store's snapshot is a list of its
 * frozen objects, so it does not). Parts, not one buffer: the consumer copies them somewhere anyway
 * (raft's snapshot envelope), and joining a 150 MiB snapshot first would double its peak memory.
 */
export async function encodeSnapshotParts(snapshot: StoreSnapshot, pause: () => Promise<void> = nextTurn, objectsPerSlice = 1000): Promise<Uint8Array[]> {
  // Each slice's text becomes bytes at once, and the caller joins the bytes a slice at a time:
  // one string of the whole snapshot, encoded in one go, held the event loop for seconds.
  const chunks: Uint8Array[] = [];
  let parts: string[] = [];
  const cut = (): void => {
    chunks.push(Buffer.from(parts.join(""), "utf8"));
    parts = [];
  };
  let sinceYield = 0;
  const body: Record<string, unknown> = { v: FORMAT, ...snapshot };
  let first = true;
  parts.push("{");
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    parts.push(`${first ? "" : ","}${JSON.stringify(key)}:`);
    first = false;
    if (!Array.isArray(value)) {
      parts.push(stringify(value) ?? "null");
      continue;
    }
    parts.push("[");
    for (let i = 0; i < value.length; i++) {
      // An element JSON cannot represent becomes null inside an array, as JSON.stringify does.
      parts.push((i > 0 ? "," : "") + (stringify(value[i]) ?? "null"));
      if (++sinceYield >= objectsPerSlice) {
        sinceYield = 0;
        cut();
        await pause();
      }
    }
    parts.push("]");
  }
  parts.push("}");
  cut();
  return chunks;
}

export function decodeSnapshot(bytes: Uint8Array): StoreSnapshot {
  const body = decode(bytes, "store snapshot");
  if (typeof body["index"] !== "number") throw invalid("malformed store snapshot: no index");
  const out: Record<string, unknown> = { index: body["index"] };
  for (const kind of KINDS) {
    const field = SNAPSHOT_FIELD[kind];
    const list = body[field] ?? [];
    if (!Array.isArray(list) || list.some((o) => o === null || typeof o !== "object" || typeof o.id !== "string")) {
      throw invalid(`malformed store snapshot: bad ${field}`);
    }
    out[field] = list;
  }
  const refused = body["refused"];
  if (refused !== undefined) {
    if (!Array.isArray(refused) || refused.some((i) => !Number.isSafeInteger(i) || (i as number) <= 0)) throw invalid("malformed store snapshot: bad refused");
    out["refused"] = refused;
  }
  return out as unknown as StoreSnapshot;
}
