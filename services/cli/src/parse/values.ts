// Commander argument parsers for flag values. Each throws commander's InvalidArgumentError, which
// commander reports naming the flag ("option '--cert-expiry <duration>' argument '5x' is invalid.
// …") and run() turns into a usage error (exit 2). Pure.
import { InvalidArgumentError } from "commander";
import { parseDurationNs } from "./duration.js";

/** A duration flag → nanoseconds; `positive` refuses 0. */
export function durationArg(opts: { positive?: boolean } = {}): (value: string) => number {
  return (value) => {
    const r = parseDurationNs(value);
    if (!r.ok) throw new InvalidArgumentError(r.reason);
    if (opts.positive === true && r.ns === 0) throw new InvalidArgumentError("it must be longer than 0");
    return r.ns;
  };
}

/** A whole number ≥ 0. */
export function countArg(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number ≥ 0");
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError("the number is too large");
  return n;
}

/** true/false (also 1/0, yes/no), for flags that take an optional boolean: --autolock=false. */
export function boolArg(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["true", "1", "yes"].includes(v)) return true;
  if (["false", "0", "no"].includes(v)) return false;
  throw new InvalidArgumentError("expected true or false");
}

/** A repeatable `key=value` flag (value may be empty; "key" alone means "key="). */
export function keyValueArg(value: string, previous: string[] = []): string[] {
  const eq = value.indexOf("=");
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key.trim() === "") throw new InvalidArgumentError("expected key=value with a non-empty key");
  return [...previous, value];
}

/** A repeatable flag that is a plain non-empty string (label keys to remove). */
export function repeatedArg(value: string, previous: string[] = []): string[] {
  if (value.trim() === "") throw new InvalidArgumentError("expected a non-empty value");
  return [...previous, value];
}

/** Splits `key=value` (validated by keyValueArg) into its parts. */
export function splitKeyValue(kv: string): [string, string] {
  const eq = kv.indexOf("=");
  return eq < 0 ? [kv, ""] : [kv.slice(0, eq), kv.slice(eq + 1)];
}

/**
 * A repeatable `--filter key=value`. Keys outside `allowed` are refused here, so a typo never
 * reaches the API as "no filter".
 */
export function filterArg(allowed: readonly string[]): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => {
    const [key, v] = splitKeyValue(value);
    if (!value.includes("=") || v === "") throw new InvalidArgumentError("expected key=value");
    if (!allowed.includes(key)) throw new InvalidArgumentError(`unknown filter ${JSON.stringify(key)}: use one of ${allowed.join(", ")}`);
    return [...previous, value];
  };
}

/** Docker's filters query value from validated `key=value` filters: `{"role":{"manager":true}}`. */
export function filtersQuery(filters: readonly string[]): string | undefined {
  if (filters.length === 0) return undefined;
  const map: Record<string, Record<string, boolean>> = {};
  for (const f of filters) {
    const [key, value] = splitKeyValue(f);
    (map[key] ??= {})[value] = true;
  }
  return JSON.stringify(map);
}
