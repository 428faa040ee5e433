// @shoal/cli: the `shoal` command line. Other packages (tests, the lab, the demo) use run() to drive
// it in-process and ApiClient to talk to a node's API the same way it does.
export { run } from "./run.js";
export * from "./io.js";
export * from "./errors.js";
export * from "./host.js";
export * from "./client.js";
export type { CommandContext } from "./context.js";
export { COMMAND_GROUPS, type RegisterCommands } from "./commands/index.js";
export * from "./api/index.js";
export * from "./output/index.js";
export * from "./parse/index.js";
export { CLIENT_VERSION } from "./version.js";
