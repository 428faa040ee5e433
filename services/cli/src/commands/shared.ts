// Helpers several command groups share: running one operation per named target (node rm a b c)
// and reporting the failures together without stopping at the first.
import { ApiError, CliError } from "../errors.js";

/**
 * Runs `fn` for each target in order. An API refusal for one target does not stop the others;
 * anything else (the API is unreachable) stops at once. After all targets ran, a single refusal is
 * rethrown as is and several become one CliError with one line each.
 */
export async function forEachTarget(targets: readonly string[], fn: (target: string) => Promise<void>): Promise<void> {
  const failures: ApiError[] = [];
  for (const t of targets) {
    try {
      await fn(t);
    } catch (err) {
      if (err instanceof ApiError) failures.push(err);
      else throw err;
    }
  }
  if (failures.length === 1) throw failures[0]!;
  if (failures.length > 1) throw new CliError("CLI_FAILED", failures.map((f) => f.message).join("\n"), { targets: [...targets] });
}
