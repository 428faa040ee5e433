// Bytes for the raft log and snapshots. The only module that knows the encoding: today JSON with
// byte arrays as {"$b64": "…"} inside a versioned envelope; it can become the protobuf messages of
// proto/objects.proto (StoreActions, StoreSnapshot) without touching anything else.
import { nextTurn } from "@shoal/common";
import type { StoreAction } from "./actions.js";
import { invalid } from "./errors.js";
import { knownByteFree } from "./freeze.js";
import { KINDS } from "./objects/kinds.js";
import { SNAPSHOT_FIELD, type StoreSnapshot } from "./snapshot.js";

const FORMAT = 1;
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

function decode(bytes: Uint8Array, what: string): Record<string, unknown> {
  let body: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // The reviver visits every value and makes a parse several times slower: only text that
    // carries a byte array needs it.
    body = text.includes('"$b64"') ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (err) {
    throw invalid(`malformed ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (body === null || typeof body !== "object" || (body as { v?: unknown }).v !== FORMAT) {
    throw invalid(`malformed ${what}: unknown format`);
  }
  return body as Record<string, unknown>;
}

function checkAction(a: unknown): StoreAction {
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

export function encodeStoreActions(actions: readonly StoreAction[]): Uint8Array {
  return encode({ v: FORMAT, actions }, actions.every((a) => knownByteFree(a.object)));
}

export function decodeStoreActions(bytes: Uint8Array): StoreAction[] {
  const body = decode(bytes, "store actions");
  if (!Array.isArray(body["actions"])) throw invalid("malformed store actions: no actions");
  return body["actions"].map(checkAction);
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
  return out as unknown as StoreSnapshot;
}
