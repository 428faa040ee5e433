// The commander tree: global connection flags, every command group, and commander wired so it
// never exits the process or prints on its own — its errors come back to run() as CommanderExit,
// knowing which command they belong to (for the "See 'shoal node ls --help'" hint).
import { Command, type CommanderError } from "commander";
import { COMMAND_GROUPS } from "./commands/index.js";
import type { CommandContext } from "./context.js";
import { CLIENT_VERSION } from "./version.js";

/** Commander stopped parsing: help or version shown, or a usage error, in `command`. */
export class CommanderExit extends Error {
  constructor(
    readonly command: Command,
    readonly commanderError: CommanderError,
  ) {
    super(commanderError.message);
  }
}

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command("shoal")
    .description("Control a Shoal cluster through a node's API")
    .option("-H, --host <host>", "API to use: unix:///path, /path, tcp://host:port or https://host:port (env SHOAL_HOST, DOCKER_HOST; default unix:///run/shoal/api.sock)")
    .option("--tlscacert <file>", "trust only servers signed by this CA (env SHOAL_TLS_CA)")
    .option("--tlscert <file>", "client certificate (env SHOAL_TLS_CERT)")
    .option("--tlskey <file>", "client key (env SHOAL_TLS_KEY)")
    .version(CLIENT_VERSION, "-v, --version", "print the client version")
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  for (const register of COMMAND_GROUPS) register(program, ctx);
  for (const cmd of walk(program)) {
    cmd.exitOverride((err) => {
      throw new CommanderExit(cmd, err);
    });
    cmd.configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      // Commander writes only error output here (usage errors, help after a missing command);
      // run() prints its own single line instead.
      writeErr: () => {},
      outputError: () => {},
      getOutHelpWidth: () => ctx.io.stdout.columns ?? 100,
      getErrHelpWidth: () => ctx.io.stderr.columns ?? 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
  }
  return program;
}

function* walk(cmd: Command): Generator<Command> {
  yield cmd;
  for (const sub of cmd.commands) yield* walk(sub);
}

/** "shoal node ls" for the ls command. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
