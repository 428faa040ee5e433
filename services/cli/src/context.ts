// What every command receives: the io streams, the printer, and the API client for the global
// connection flags. Commands get nothing else from run(), so a new command group needs no plumbing.
import type { ApiClient } from "./client.js";
import type { CliIo } from "./io.js";
import type { Printer } from "./output/index.js";

export interface CommandContext {
  readonly io: CliIo;
  readonly out: Printer;
  /** The client for -H / --tls* (or SHOAL_HOST …), made on first use; run() closes it. */
  client(): ApiClient;
}
