// Aligned text tables the way docker prints them: every column but the last is padded to its widest
// cell plus 3 spaces and is at least 10 wide; no borders; trailing spaces trimmed. Truncation is
// per column (long IDs, error messages) so tables stay readable; --no-trunc style callers pass none.
// Pure: returns lines, prints nothing.

export interface Column {
  header: string;
  /** Cells longer than this are cut to it, ending in "…". */
  maxWidth?: number;
}

const MIN_WIDTH = 10;
const PADDING = 3;

/** Docker's short form of a 25-char object ID. */
export const SHORT_ID_LENGTH = 12;

export function renderTable(columns: readonly (Column | string)[], rows: readonly (readonly string[])[]): string[] {
  const cols = columns.map((c) => (typeof c === "string" ? { header: c } : c));
  const cells = rows.map((row) => cols.map((c, i) => truncate(row[i] ?? "", c.maxWidth)));
  const widths = cols.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]!))));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat(Math.max(MIN_WIDTH, widths[i]! + PADDING) - width(cell))))
      .join("")
      .trimEnd();
  return [line(cols.map((c) => c.header)), ...cells.map(line)];
}

/** `s` cut to `max` characters ending in "…" when longer. */
export function truncate(s: string, max: number | undefined): string {
  if (max === undefined) return s;
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  return max <= 1 ? chars.slice(0, max).join("") : `${chars.slice(0, max - 1).join("")}…`;
}

/** An object ID as tables show it: 12 characters unless the user asked for no truncation. */
export function shortId(id: string, noTrunc = false): string {
  return noTrunc ? id : id.slice(0, SHORT_ID_LENGTH);
}

/** Docker's enum words in tables: "ready" → "Ready". */
export function capitalize(s: string | undefined): string {
  if (s === undefined || s === "") return "";
  return s[0]!.toUpperCase() + s.slice(1);
}

function width(s: string): number {
  return Array.from(s).length;
}
