// Durations as operators type them ("90d", "2160h", "1h30m", "5s", "500ms") → nanoseconds, the unit
// of every Docker API duration. Pure; refuses anything it cannot read exactly.

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

const PART = /^(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h|d)/;

/**
 * Nanoseconds for a duration string, or a reason it is not one. Units may be combined ("1h30m") and
 * carry fractions ("1.5h"); a bare number other than "0" has no unit and is refused, so is anything
 * beyond Number.MAX_SAFE_INTEGER ns (≈104 days is far below it: 90d = 7.8e15).
 */
export function parseDurationNs(text: string): { ok: true; ns: number } | { ok: false; reason: string } {
  const s = text.trim();
  if (s === "") return { ok: false, reason: "empty duration" };
  if (s === "0") return { ok: true, ns: 0 };
  if (/^\d+(\.\d+)?$/.test(s)) return { ok: false, reason: `missing unit in ${JSON.stringify(text)} (e.g. 90d, 2160h, 5s, 500ms)` };
  let rest = s;
  let total = 0n;
  while (rest !== "") {
    const m = PART.exec(rest);
    if (m === null) return { ok: false, reason: `cannot read ${JSON.stringify(text)} as a duration (e.g. 90d, 2160h, 1h30m, 5s, 500ms)` };
    const unit = UNIT_NS[m[3]!]!;
    const frac = m[2] ?? "";
    const scale = 10n ** BigInt(frac.length);
    const fracNs = (BigInt(frac === "" ? "0" : frac) * unit) / scale;
    total += BigInt(m[1]!) * unit + fracNs;
    rest = rest.slice(m[0].length);
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: `${JSON.stringify(text)} is too long a duration` };
  return { ok: true, ns: Number(total) };
}

/** A short human form of nanoseconds for output ("2160h0m0s" style is unreadable): "90d", "5s", "500ms". */
export function formatDurationNs(ns: number): string {
  if (ns === 0) return "0s";
  const units: [string, number][] = [["d", 86_400e9], ["h", 3_600e9], ["m", 60e9], ["s", 1e9], ["ms", 1e6], ["us", 1e3], ["ns", 1]];
  let rest = ns;
  let out = "";
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${name}`;
      rest -= n * size;
    }
  }
  return out;
}
