// run(): one CLI invocation, in-process — parse argv, run the command, and turn whatever stopped
// it into one stderr line per problem and an exit code (0 ok, 1 failed, 2 bad usage). This is the
// only place errors become text; stack traces only with SHOAL_DEBUG=1.
import { describeError } from "@shoal/common";
import { ApiClient, oneLine } from "./client.js";
import type { CommandContext } from "./context.js";
import { CliError } from "./errors.js";
import { resolveEndpoint, type HostFlags } from "./host.js";
import { envValue, type CliIo } from "./io.js";
import { Printer } from "./output/index.js";
import { buildProgram, CommanderExit, commandPath } from "./program.js";

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = envValue(io.env, "SHOAL_DEBUG") === "1";
  let client: ApiClient | undefined;
  const ctx: CommandContext = {
    io,
    out: new Printer(io),
    client: () => {
      client ??= new ApiClient(
        { endpoint: resolveEndpoint(program.opts<HostFlags>(), io.env) },
        debug ? { onExchange: (line) => io.stderr.write(`debug: ${line}\n`) } : {},
      );
      return client;
    },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    return report(err, io, debug);
  } finally {
    client?.close();
  }
}

function report(err: unknown, io: CliIo, debug: boolean): number {
  const say = (line: string): void => {
    io.stderr.write(`Error: ${line}\n`);
  };
  if (err instanceof CommanderExit) return reportCommander(err, say);
  if (err instanceof CliError) {
    for (const line of err.message.split("\n")) say(line);
    if (debug && err.cause instanceof Error) io.stderr.write(`${err.cause.stack ?? ""}\n`);
    return err.exitCode;
  }
  say(oneLine(describeError(err)));
  if (debug && err instanceof Error) io.stderr.write(`${err.stack ?? ""}\n`);
  return 1;
}

function reportCommander(exit: CommanderExit, say: (line: string) => void): number {
  const { command, commanderError: ce } = exit;
  if (ce.code === "commander.helpDisplayed" || ce.code === "commander.version") return 0;
  const hint = `See '${commandPath(command)} --help'.`;
  if (ce.code === "commander.help") {
    // A group named without its subcommand ("shoal swarm").
    say(`missing command: use one of ${command.commands.map((c) => c.name()).join(", ")}. ${hint}`);
  } else {
    say(`${oneLine(ce.message.replace(/^error: /, "")).replace(/\.$/, "")}. ${hint}`);
  }
  return 2;
}
