// "Label:  value" blocks for human views (node inspect --pretty, cluster status header): values in
// a block start in one column; nested entries are indented by one space per level. Pure.

/** [label, value] or [label, nested entries]; a null or undefined value leaves the entry out. */
export type Field = [label: string, value: string | number | null | undefined | Field[]];

export function renderFields(fields: readonly Field[], level = 0): string[] {
  const shown = fields.filter(([, v]) => v !== null && v !== undefined);
  const labelWidth = Math.max(0, ...shown.filter(([, v]) => !Array.isArray(v)).map(([l]) => l.length + 1));
  const indent = " ".repeat(level);
  const out: string[] = [];
  for (const [label, value] of shown) {
    if (Array.isArray(value)) {
      out.push(`${indent}${label}:`);
      out.push(...renderFields(value, level + 1));
    } else {
      out.push(`${indent}${`${label}:`.padEnd(labelWidth)}  ${String(value)}`.trimEnd());
    }
  }
  return out;
}

/** undefined for "" (an API field that is present but empty), so the entry is left out. */
export function nonEmpty(s: string | undefined): string | undefined {
  return s === "" ? undefined : s;
}
