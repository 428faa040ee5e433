// The command groups, in help order. A new group (service, network, secret, config, stack) is one
// file exporting `register…(program, ctx)` and one line here.
import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { registerClusterCommands } from "./cluster.js";
import { registerNodeCommands } from "./node.js";
import { registerNodePsCommand } from "./node-ps.js";
import { registerServiceCommands } from "./service.js";
import { registerSwarmCommands } from "./swarm.js";
import { registerVersionCommand } from "./version.js";

export type RegisterCommands = (program: Command, ctx: CommandContext) => void;

export const COMMAND_GROUPS: readonly RegisterCommands[] = [registerSwarmCommands, registerNodeCommands, registerNodePsCommand, registerServiceCommands, registerClusterCommands, registerVersionCommand];

export { forEachTarget } from "./shared.js";
