// Time in Docker's JSON: timestamps are RFC 3339 strings with nanoseconds (Go's RFC3339Nano, which
// drops trailing zeros of the fraction); durations are integers in nanoseconds, as our DurationNs.
import type { DurationNs, TimestampMs } from "@shoal/store";

/** "2026-11-28T04:15:41.919Z" for a millisecond timestamp; Go's zero time for 0 (unset). */
export function toRfc3339Nano(ms: TimestampMs): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0001-01-01T00:00:00Z";
  // toISOString always prints three fraction digits; RFC3339Nano trims trailing zeros.
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z").replace(/\.Z$/, "Z");
}

/** A Docker duration (ns) as stored; absent stays absent. */
export function durationFromDocker(ns: number | undefined | null): DurationNs | undefined {
  return ns === undefined || ns === null ? undefined : ns;
}
