// The CLI's whole contact with its process: the streams it writes and reads and the environment.
// run() receives one of these, so every command is testable in-process; nothing else in the CLI
// touches process.stdout, process.stdin or process.env.

/** Where output goes. `isTTY`/`columns` let a live view (service progress) redraw in place. */
export interface CliOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where secrets (the unlock key) are read from. A TTY gets a prompt and no echo. */
export type CliInput = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
};

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  stdin: CliInput;
  env: Record<string, string | undefined>;
}

/** An environment variable, with "" treated as unset (so `SHOAL_HOST= shoal …` falls through). */
export function envValue(env: CliIo["env"], name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}
