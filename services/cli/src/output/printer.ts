// Printer: the CLI's output layer. Every line a command prints goes through here to the io streams
// run() was given; commands never write to process streams themselves.
import type { CliIo } from "../io.js";
import { toJson } from "./format.js";
import { renderFields, type Field } from "./fields.js";
import { renderTable, type Column } from "./table.js";

export class Printer {
  constructor(private readonly io: Pick<CliIo, "stdout" | "stderr">) {}

  line(text = ""): void {
    this.io.stdout.write(`${text}\n`);
  }

  lines(texts: readonly string[]): void {
    for (const t of texts) this.line(t);
  }

  /** Writes without a newline (prompts, live views). */
  raw(text: string): void {
    this.io.stdout.write(text);
  }

  json(value: unknown): void {
    this.line(toJson(value));
  }

  table(columns: readonly (Column | string)[], rows: readonly (readonly string[])[]): void {
    this.lines(renderTable(columns, rows));
  }

  fields(fields: readonly Field[]): void {
    this.lines(renderFields(fields));
  }

  /** One line on stderr (a warning or a per-target error while others still go on). */
  error(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}
