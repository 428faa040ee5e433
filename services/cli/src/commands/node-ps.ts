// `shoal node ps [NODE...]`: the tasks on nodes (default this node), in service ps's table. It is
// added to the `node` group registered by node.ts, so that file stays about node objects.
import type { Command } from "commander";
import { getNode, listNodes, listServices, listTasks, type DockerNode, type DockerTask } from "../api/index.js";
import type { CommandContext } from "../context.js";
import { hostnameMap, TASK_COLUMNS, TASK_FILTERS, taskFilterMap, taskRows } from "./service.js";
import { filterArg } from "../parse/index.js";
import { forEachTarget } from "./shared.js";

/** `node ps` filters: the task filters except `node`, which the arguments name. */
const NODE_PS_FILTERS = TASK_FILTERS.filter((f) => f !== "node");

export function registerNodePsCommand(program: Command, ctx: CommandContext): void {
  const node = program.commands.find((c) => c.name() === "node") ?? program.command("node").description("Manage swarm nodes");
  node
    .command("ps")
    .description("List the tasks on nodes (default: this node)")
    .argument("[node...]")
    .option("--no-trunc", "do not truncate IDs, images and errors")
    .option("-q, --quiet", "print task IDs only")
    .option("-f, --filter <key=value>", `filter (${NODE_PS_FILTERS.join(", ")}); repeatable`, filterArg(NODE_PS_FILTERS), [])
    .action(async (refs: string[], opts: { trunc: boolean; quiet?: boolean; filter: string[] }) => {
      const client = ctx.client();
      const nodes: DockerNode[] = [];
      await forEachTarget(refs.length === 0 ? ["self"] : refs, async (ref) => {
        nodes.push(await getNode(client, ref));
      });
      const tasks: DockerTask[] = await listTasks(client, taskFilterMap(opts.filter, { node: nodes.map((n) => n.ID) }));
      if (opts.quiet === true) return ctx.out.lines(tasks.map((t) => t.ID));
      const serviceNames = new Map((await listServices(client)).map((s) => [s.ID, s.Spec.Name ?? s.ID]));
      ctx.out.table(TASK_COLUMNS, taskRows(tasks, { noTrunc: !opts.trunc, nowMs: Date.now(), serviceNames, hostnames: hostnameMap(await listNodes(client)) }));
    });
}
