// JSON-schema building blocks for request validation, and the formatter that turns the first
// schema violation into a message naming the field. Bodies are validated strictly (no type
// coercion, unknown fields refused, nothing removed); query strings arrive as strings and are
// checked with patterns, then parsed by the routes. Go marshals nil maps, slices and pointers as
// null, so every optional object or array also accepts null.
import { invalidRequest } from "./errors.js";

export type JsonSchema = Record<string, unknown>;

/** A strict object: unknown fields are refused; optional members may be null (Go's nil). */
export function object(properties: Record<string, JsonSchema>, opts: { required?: string[]; nullable?: boolean; description?: string } = {}): JsonSchema {
  const s: JsonSchema = { type: opts.nullable === false ? "object" : ["object", "null"], properties, additionalProperties: false };
  if (opts.required !== undefined) s["required"] = opts.required;
  if (opts.description !== undefined) s["description"] = opts.description;
  return s;
}

/** A map of string to string (labels, options). */
/** Labels, options and the like: string values under non-empty keys. */
export const stringMap: JsonSchema = { type: ["object", "null"], propertyNames: { minLength: 1 }, additionalProperties: { type: "string" } };

export function arrayOf(items: JsonSchema): JsonSchema {
  return { type: ["array", "null"], items };
}

export const str: JsonSchema = { type: "string" };
export const bool: JsonSchema = { type: "boolean" };
export const nonNegativeInt: JsonSchema = { type: "integer", minimum: 0 };

export function oneOfStrings(values: readonly string[]): JsonSchema {
  return { type: "string", enum: [...values] };
}

/** A query parameter: arrives as a string; `description` is the hint shown when it is malformed. */
export function queryParam(pattern: string, description: string): JsonSchema {
  return { type: "string", pattern, description };
}

/** Docker's query booleans: 1/0, true/false. */
export const queryBool = queryParam("^(1|0|true|false|True|False)$", "a boolean: 1, 0, true or false");
/** An object version (the Version.Index read before an update). */
export const queryVersion = queryParam("^[0-9]{1,15}$", "the object's Version.Index as read before the update (a non-negative integer)");

export function parseQueryBool(v: string | undefined): boolean {
  return v === "1" || v?.toLowerCase() === "true";
}

/** A required version query parameter, already checked by queryVersion's pattern. */
export function parseVersion(v: string | undefined): number {
  if (v === undefined) throw invalidRequest("missing query parameter version: send the object's Version.Index as read before the update", { field: "version" });
  return Number(v);
}

interface SchemaViolation {
  keyword: string;
  instancePath: string;
  /** Set on the violations of a propertyNames rule: the offending key. */
  propertyName?: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
  parentSchema?: JsonSchema;
}

const PART_NAMES: Readonly<Record<string, string>> = { body: "request body", querystring: "query", params: "path", headers: "headers" };

function fieldOf(instancePath: string, extra?: string): string {
  const parts = instancePath.split("/").filter((p) => p !== "");
  if (extra !== undefined) parts.push(extra);
  return parts.join(".");
}

/** A schema violation: a plain Error with statusCode 400 (fastify annotates it with its own code). */
export type ValidationError = Error & { statusCode: number; field?: string };

function violation(message: string, meta: { field?: string } = {}): ValidationError {
  const err = new Error(message) as ValidationError;
  err.statusCode = 400;
  if (meta.field !== undefined) err.field = meta.field;
  return err;
}

/** Fastify's schemaErrorFormatter: one clear sentence about the first violation. */
export function formatSchemaErrors(errors: readonly SchemaViolation[], dataVar: string): ValidationError {
  const e = errors[0];
  const where = PART_NAMES[dataVar] ?? dataVar;
  if (e === undefined) return violation(`invalid ${where}`);
  const field = fieldOf(e.instancePath);
  const named = field === "" ? where : `${dataVar === "querystring" ? "query parameter " : ""}${field}`;
  if (field === "" && dataVar === "body" && (e.data === null || e.data === undefined)) {
    return violation("missing request body: send a JSON object with Content-Type: application/json");
  }
  const value = e.data === undefined ? "" : ` ${JSON.stringify(e.data)}`;
  // A map's keys (stringMap: labels, options): the only rule is that none is empty.
  if (e.propertyName !== undefined || e.keyword === "propertyNames") {
    return violation(`invalid ${named}: a key may not be empty (got ${JSON.stringify(e.propertyName ?? e.params["propertyName"] ?? "")})`, { field });
  }
  switch (e.keyword) {
    case "additionalProperties": {
      const unknown = fieldOf(e.instancePath, String(e.params["additionalProperty"]));
      return violation(`unknown field ${unknown} in the ${where}: remove it (GET /openapi.json lists the accepted fields)`, { field: unknown });
    }
    case "required": {
      const missing = fieldOf(e.instancePath, String(e.params["missingProperty"]));
      return violation(`missing ${dataVar === "querystring" ? "query parameter" : "field"} ${missing} in the ${where}`, { field: missing });
    }
    case "enum": {
      const allowed = (e.params["allowedValues"] as unknown[] | undefined)?.map((v) => JSON.stringify(v)).join(", ") ?? "";
      return violation(`invalid ${named}${value}: must be one of ${allowed}`, { field });
    }
    case "pattern": {
      const hint = typeof e.parentSchema?.["description"] === "string" ? e.parentSchema["description"] : `a value matching ${String(e.params["pattern"])}`;
      return violation(`invalid ${named}${value}: must be ${hint}`, { field });
    }
    case "type":
      return violation(`invalid ${named}${value}: must be ${String(e.params["type"]).replace(",", " or ")}`, { field });
    case "minimum":
      return violation(`invalid ${named}${value}: must be >= ${String(e.params["limit"])}`, { field });
    default:
      return violation(`invalid ${named}${value}: ${e.message ?? e.keyword}`, { field });
  }
}
