// Docker's lowercase enum names ⇄ the store's numeric enums. Each enum's mapping is declared once
// (in the converter of the kind that owns it) through this helper, so both directions and the
// schema's list of accepted names agree.

export class EnumNames<E extends number, N extends string> {
  readonly names: readonly N[];
  private readonly byName: ReadonlyMap<string, E>;

  constructor(private readonly byValue: Readonly<Record<E, N>>) {
    const entries = Object.entries(byValue) as [string, N][];
    this.names = entries.map(([, n]) => n);
    this.byName = new Map(entries.map(([v, n]) => [n, Number(v) as E]));
  }

  /** Docker's name for a value; `fallback` for a value the API does not know (a newer store). */
  name(value: E, fallback: N): N {
    return this.byValue[value] ?? fallback;
  }

  /** The value of a name the schema has already accepted. */
  value(name: N): E {
    const v = this.byName.get(name);
    if (v === undefined) throw new Error(`unknown enum name ${name}`);
    return v;
  }

  /** The value of a name, or undefined for one this enum does not have. */
  tryValue(name: string): E | undefined {
    return this.byName.get(name);
  }
}
