// Field maps between Docker's JSON (PascalCase) and store objects (camelCase): one declaration per
// shape serves both directions, so a field cannot be read and then forgotten on the way out. A
// field is decoded only when sent (null is Go's nil: absent) and encoded only when stored, which
// is what lets a spec come back exactly as it was sent. Docker's defaults (`insertDefaults=true`)
// are filled on the JSON side by withDefaults.
import type { EnumNames } from "./enum-names.js";

export type Json = Record<string, unknown>;

export interface Codec {
  /** Docker JSON → store value. */
  decode(v: unknown): unknown;
  /** Store value → Docker JSON. */
  encode(v: unknown): unknown;
}

/** [Docker field, store field, codec of the value (plain when omitted)]. */
export type FieldMap = readonly (readonly [docker: string, store: string, codec?: Codec])[];

/** Scalars, string lists and string maps: copied as they are. */
export const plain: Codec = {
  decode: (v) => (Array.isArray(v) ? [...(v as unknown[])] : typeof v === "object" && v !== null ? { ...(v as Json) } : v),
  encode: (v) => (Array.isArray(v) ? [...(v as unknown[])] : typeof v === "object" && v !== null ? { ...(v as Json) } : v),
};

export function decodeFields(fields: FieldMap, json: Json): Json {
  const out: Json = {};
  for (const [docker, store, codec = plain] of fields) {
    const v = json[docker];
    if (v !== undefined && v !== null) out[store] = codec.decode(v);
  }
  return out;
}

export function encodeFields(fields: FieldMap, obj: Json): Json {
  const out: Json = {};
  for (const [docker, store, codec = plain] of fields) {
    const v = obj[store];
    if (v !== undefined) out[docker] = codec.encode(v);
  }
  return out;
}

/** A nested object. */
export function objectCodec(fields: FieldMap): Codec {
  return { decode: (v) => decodeFields(fields, v as Json), encode: (v) => encodeFields(fields, v as Json) };
}

/** A list of `item`. */
export function listCodec(item: Codec): Codec {
  return { decode: (v) => (v as unknown[]).map((x) => item.decode(x)), encode: (v) => (v as unknown[]).map((x) => item.encode(x)) };
}

/** A Docker enum name ⇄ the store's number (the schema has already checked the name). */
export function enumCodec<E extends number, N extends string>(names: EnumNames<E, N>, fallback: N): Codec {
  return { decode: (v) => names.value(v as N), encode: (v) => names.name(v as E, fallback) };
}

/** `json` with every field of `defaults` it lacks, recursively (Docker's insertDefaults). */
export function withDefaults(json: Json, defaults: Json): Json {
  const out: Json = { ...json };
  for (const [k, d] of Object.entries(defaults)) {
    const v = out[k];
    if (v === undefined || v === null) out[k] = structuredClone(d);
    else if (typeof d === "object" && d !== null && !Array.isArray(d) && typeof v === "object" && !Array.isArray(v)) out[k] = withDefaults(v as Json, d as Json);
  }
  return out;
}
