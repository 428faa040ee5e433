// `shoal version`: this CLI's version and the API version it speaks, then the server's (GET
// /version). The client half prints even when the server cannot be reached.
import { Option, type Command } from "commander";
import { getServerVersion, type DockerServerVersion } from "../api/index.js";
import { API_VERSION } from "../client.js";
import type { CommandContext } from "../context.js";
import { nonEmpty, type Field } from "../output/index.js";
import { CLIENT_VERSION } from "../version.js";

export function registerVersionCommand(program: Command, ctx: CommandContext): void {
  program
    .command("version")
    .description("Show the shoal CLI and server versions")
    .addOption(new Option("--format <format>", "output format").choices(["json"]))
    .action(async (opts: { format?: "json" }) => {
      const client = { Version: CLIENT_VERSION, ApiVersion: API_VERSION, NodeVersion: process.version, Os: process.platform, Arch: process.arch };
      if (opts.format === "json") {
        ctx.out.json({ Client: client, Server: await getServerVersion(ctx.client()) });
        return;
      }
      ctx.out.fields([
        [
          "Client",
          [
            ["Version", client.Version],
            ["API version", client.ApiVersion],
            ["Node.js", client.NodeVersion],
            ["OS/Arch", `${client.Os}/${client.Arch}`],
          ],
        ],
      ]);
      ctx.out.line();
      const server = await getServerVersion(ctx.client());
      ctx.out.fields([[`Server${serverName(server)}`, serverFields(server)]]);
    });
}

function serverName(v: DockerServerVersion): string {
  const main = v.Components?.[0]?.Name;
  return main === undefined ? "" : ` ${main}`;
}

function serverFields(v: DockerServerVersion): Field[] {
  const api = v.ApiVersion === undefined ? undefined : `${v.ApiVersion}${v.MinAPIVersion === undefined ? "" : ` (minimum version ${v.MinAPIVersion})`}`;
  return [
    ["Version", v.Version ?? ""],
    ["API version", api],
    ["Git commit", nonEmpty(v.GitCommit)],
    ["Kernel", nonEmpty(v.KernelVersion)],
    ["OS/Arch", v.Os === undefined ? undefined : `${v.Os}/${v.Arch ?? ""}`],
  ];
}
