// The machine-readable side of output: which form a list command prints (-q IDs, a table, or JSON)
// and how JSON is laid out (4-space indent, like docker inspect). Pure.
import { UsageError } from "../errors.js";

export type OutputFormat = "table" | "json";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json"];

/** How a list command prints, from its -q and --format flags (both at once is a usage error). */
export function listMode(opts: { quiet?: boolean; format?: OutputFormat }): "quiet" | OutputFormat {
  if (opts.quiet === true) {
    if (opts.format !== undefined && opts.format !== "table") throw new UsageError("-q and --format json cannot be combined");
    return "quiet";
  }
  return opts.format ?? "table";
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 4);
}
