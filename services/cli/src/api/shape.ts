// Guards at the edge where JSON from the API becomes typed data: a wrong shape (an object where a
// list belongs) is a one-line CLI_BAD_RESPONSE naming the route, never a TypeError deep in a command.
import { CliError } from "../errors.js";

export function expectObject<T>(value: unknown, route: string, requiredKeys: readonly string[] = []): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError("CLI_BAD_RESPONSE", `${route} answered ${kind(value)}, expected an object`, { route });
  }
  for (const k of requiredKeys) {
    if (!(k in value)) throw new CliError("CLI_BAD_RESPONSE", `${route} answered an object without ${k}`, { route });
  }
  return value as T;
}

export function expectArray<T>(value: unknown, route: string, requiredKeys: readonly string[] = []): T[] {
  if (!Array.isArray(value)) {
    throw new CliError("CLI_BAD_RESPONSE", `${route} answered ${kind(value)}, expected a list`, { route });
  }
  for (const item of value) expectObject(item, route, requiredKeys);
  return value as T[];
}

export function expectString(value: unknown, route: string): string {
  if (typeof value !== "string") throw new CliError("CLI_BAD_RESPONSE", `${route} answered ${kind(value)}, expected a string`, { route });
  return value;
}

function kind(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
