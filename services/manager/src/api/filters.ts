// Docker's `filters` query parameter: a JSON map from filter name to either a set
// (`{"role":{"manager":true}}`, what current clients send) or a list (`{"role":["manager"]}`, older
// clients). Parsed once, checked against the names a route supports, so a typo is an error rather
// than a filter silently ignored.
import { invalidRequest } from "./errors.js";

export type Filters = ReadonlyMap<string, readonly string[]>;

export function parseFilters(raw: string | undefined, allowed: readonly string[]): Filters {
  const out = new Map<string, string[]>();
  if (raw === undefined || raw === "") return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidRequest(`invalid filters: not JSON (${err instanceof Error ? err.message : String(err)}); send e.g. filters={"role":{"manager":true}}`, { field: "filters" });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalidRequest(`invalid filters: must be a JSON object such as {"role":{"manager":true}}`, { field: "filters" });
  }
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(name)) throw invalidRequest(`invalid filter '${name}': this route supports ${allowed.join(", ")}`, { field: "filters" });
    let values: string[];
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) values = value as string[];
    else if (value !== null && typeof value === "object" && !Array.isArray(value)) values = Object.entries(value as Record<string, unknown>).filter(([, on]) => on === true).map(([k]) => k);
    else throw invalidRequest(`invalid filter '${name}': values must be a set such as {"value":true}`, { field: "filters" });
    if (values.length > 0) out.set(name, values);
  }
  return out;
}

/** True when `labels` satisfy every "key" or "key=value" term (all terms must match, as in Docker). */
export function matchLabels(labels: Readonly<Record<string, string>>, terms: readonly string[]): boolean {
  return terms.every((t) => {
    const eq = t.indexOf("=");
    if (eq < 0) return Object.hasOwn(labels, t);
    const key = t.slice(0, eq);
    return Object.hasOwn(labels, key) && labels[key] === t.slice(eq + 1);
  });
}

/** Checks every value of filter `name` is one of `values` (role=manager, membership=accepted…). */
export function checkFilterValues(filters: Filters, name: string, values: readonly string[]): void {
  for (const v of filters.get(name) ?? []) {
    if (!values.includes(v)) throw invalidRequest(`invalid filter '${name}=${v}': must be one of ${values.join(", ")}`, { field: "filters" });
  }
}

/** True when no prefixes are given or `value` starts with one of them (case-insensitive, as names are). */
export function matchPrefixes(value: string, prefixes: readonly string[] | undefined): boolean {
  if (prefixes === undefined) return true;
  const v = value.toLowerCase();
  return prefixes.some((p) => v.startsWith(p.toLowerCase()));
}
