// `shoal node …`: ls, inspect, update, promote, demote, rm. Every change reads the node first and
// sends back its whole Spec with the version read, so a concurrent change is refused by the API
// ("update out of sequence") rather than overwritten; a change of the node's status alone (its Spec
// as read) is read again and the edit made on it (editNode).
import { Option, type Command } from "commander";
import { editNode, getInfo, getNode, listNodes, removeNode, type DockerNode, type NodeSpec } from "../api/index.js";
import type { CommandContext } from "../context.js";
import { ApiError, CliError, UsageError } from "../errors.js";
import { capitalize, listMode, nonEmpty, OUTPUT_FORMATS, type Field, type OutputFormat } from "../output/index.js";
import { filterArg, filtersQuery, keyValueArg, repeatedArg, splitKeyValue } from "../parse/index.js";
import { forEachTarget } from "./shared.js";

/** The filters GET /nodes understands. */
export const NODE_FILTERS = ["id", "label", "membership", "name", "node.label", "role"] as const;

export function registerNodeCommands(program: Command, ctx: CommandContext): void {
  const node = program.command("node").description("Manage swarm nodes");
  registerLs(node, ctx);
  registerInspect(node, ctx);
  registerUpdate(node, ctx);
  registerRoleChange(node, ctx, "promote");
  registerRoleChange(node, ctx, "demote");
  registerRm(node, ctx);
}

/** One node ls row: also the --format json element. */
export interface NodeRow {
  ID: string;
  Self: boolean;
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
  EngineVersion: string;
}

function registerLs(node: Command, ctx: CommandContext): void {
  node
    .command("ls")
    .description("List nodes in the swarm")
    .option("-q, --quiet", "print IDs only")
    .option("-f, --filter <key=value>", `filter (${NODE_FILTERS.join(", ")}); repeatable`, filterArg(NODE_FILTERS), [])
    .addOption(new Option("--format <format>", "output format").choices(OUTPUT_FORMATS))
    .action(async (opts: { quiet?: boolean; filter: string[]; format?: OutputFormat }) => {
      const mode = listMode(opts);
      const client = ctx.client();
      const nodes = sortNodes(await listNodes(client, filtersQuery(opts.filter)));
      if (mode === "quiet") {
        ctx.out.lines(nodes.map((n) => n.ID));
        return;
      }
      const selfId = (await getInfo(client)).Swarm?.NodeID ?? "";
      const rows = nodes.map((n) => nodeRow(n, selfId));
      if (mode === "json") {
        ctx.out.json(rows);
        return;
      }
      ctx.out.table(
        ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"],
        rows.map((r) => [r.Self ? `${r.ID} *` : r.ID, r.Hostname, r.Status, r.Availability, r.ManagerStatus, r.EngineVersion]),
      );
    });
}

/** By hostname (numbers in names compare as numbers: node2 before node10), then ID. */
function sortNodes(nodes: DockerNode[]): DockerNode[] {
  const host = (n: DockerNode): string => n.Description?.Hostname ?? "";
  return [...nodes].sort((a, b) => host(a).localeCompare(host(b), "en", { numeric: true }) || a.ID.localeCompare(b.ID));
}

export function nodeRow(n: DockerNode, selfId: string): NodeRow {
  return {
    ID: n.ID,
    Self: n.ID === selfId,
    Hostname: n.Description?.Hostname ?? "",
    Status: capitalize(n.Status?.State),
    Availability: capitalize(n.Spec.Availability),
    ManagerStatus: managerStatus(n),
    EngineVersion: n.Description?.Engine?.EngineVersion ?? "",
  };
}

function managerStatus(n: DockerNode): string {
  if (n.ManagerStatus === undefined) return "";
  if (n.ManagerStatus.Leader === true) return "Leader";
  return capitalize(n.ManagerStatus.Reachability);
}

function registerInspect(node: Command, ctx: CommandContext): void {
  node
    .command("inspect")
    .description("Show nodes in detail (JSON unless --pretty); NODE may be an ID, a prefix, a hostname or self")
    .argument("<node...>")
    .option("--pretty", "human-readable form")
    .addOption(new Option("--format <format>", "output format").choices(["json"]))
    .action(async (refs: string[], opts: { pretty?: boolean; format?: "json" }) => {
      if (opts.pretty === true && opts.format !== undefined) throw new UsageError("--pretty and --format cannot be combined");
      const client = ctx.client();
      const found: DockerNode[] = [];
      let failure: unknown;
      try {
        await forEachTarget(refs, async (ref) => {
          found.push(await getNode(client, ref));
        });
      } catch (err) {
        // Print what was found, as docker does, then report the ones that were not.
        if (!(err instanceof ApiError) && !(err instanceof CliError && err.code === "CLI_FAILED")) throw err;
        failure = err;
      }
      if (opts.pretty === true) {
        found.forEach((n, i) => {
          if (i > 0) ctx.out.line();
          ctx.out.fields(prettyNode(n));
        });
      } else {
        ctx.out.json(found);
      }
      if (failure !== undefined) throw failure;
    });
}

export function prettyNode(n: DockerNode): Field[] {
  const d = n.Description ?? {};
  const labels = Object.entries(n.Spec.Labels ?? {});
  const engineLabels = Object.entries(d.Engine?.Labels ?? {});
  // As docker prints them: one line per type, its plugins' names (a node runs tasks only with a
  // Runtime, its executor).
  const pluginsByType = new Map<string, string[]>();
  for (const p of d.Engine?.Plugins ?? []) pluginsByType.set(p.Type, [...(pluginsByType.get(p.Type) ?? []), p.Name]);
  const ms = n.ManagerStatus;
  return [
    ["ID", n.ID],
    ["Name", nonEmpty(n.Spec.Name)],
    ["Hostname", d.Hostname ?? ""],
    ["Joined at", n.CreatedAt],
    ["Role", n.Spec.Role],
    [
      "Status",
      [
        ["State", capitalize(n.Status?.State)],
        ["Message", nonEmpty(n.Status?.Message)],
        ["Availability", capitalize(n.Spec.Availability)],
        ["Address", n.Status?.Addr],
      ],
    ],
    [
      "Manager Status",
      ms === undefined
        ? undefined
        : [
            ["Address", ms.Addr],
            ["Raft Status", capitalize(ms.Reachability)],
            ["Leader", ms.Leader === true ? "Yes" : "No"],
          ],
    ],
    ["Labels", labels.length === 0 ? undefined : labels.map(([k, v]): Field => [k, v])],
    [
      "Platform",
      [
        ["Operating System", d.Platform?.OS],
        ["Architecture", d.Platform?.Architecture],
      ],
    ],
    [
      "Resources",
      [
        ["CPUs", d.Resources?.NanoCPUs === undefined ? undefined : d.Resources.NanoCPUs / 1e9],
        ["Memory", d.Resources?.MemoryBytes === undefined ? undefined : formatBytes(d.Resources.MemoryBytes)],
      ],
    ],
    ["Plugins", pluginsByType.size === 0 ? undefined : [...pluginsByType].map(([type, names]): Field => [type, names.join(", ")])],
    ["Engine Version", nonEmpty(d.Engine?.EngineVersion)],
    ["Engine Labels", engineLabels.length === 0 ? undefined : engineLabels.map(([k, v]): Field => [k, v])],
    [
      "TLS Info",
      nonEmpty(d.TLSInfo?.CertIssuerSubject) === undefined
        ? undefined
        : [
            ["Issuer Subject", d.TLSInfo?.CertIssuerSubject],
            ["Issuer Public Key", nonEmpty(d.TLSInfo?.CertIssuerPublicKey)],
          ],
    ],
  ];
}

/** Binary units as docker prints memory: 8589934592 → "8GiB", 1536 → "1.5KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : Number(v.toFixed(3))}${units[i]}`;
}

interface NodeUpdateOpts {
  availability?: NonNullable<NodeSpec["Availability"]>;
  role?: NonNullable<NodeSpec["Role"]>;
  labelAdd: string[];
  labelRm: string[];
}

function registerUpdate(node: Command, ctx: CommandContext): void {
  node
    .command("update")
    .description("Change a node's availability, role or labels")
    .argument("<node>")
    .addOption(new Option("--availability <state>", "active, pause or drain").choices(["active", "pause", "drain"]))
    .addOption(new Option("--role <role>", "worker or manager").choices(["worker", "manager"]))
    .option("--label-add <key=value>", "add or change a label; repeatable", keyValueArg, [])
    .option("--label-rm <key>", "remove a label; repeatable", repeatedArg, [])
    .action(async (ref: string, opts: NodeUpdateOpts) => {
      if (opts.availability === undefined && opts.role === undefined && opts.labelAdd.length === 0 && opts.labelRm.length === 0) {
        throw new UsageError("nothing to update: give --availability, --role, --label-add or --label-rm");
      }
      await editNode(ctx.client(), ref, (spec) => applyNodeUpdate(spec, ref, opts));
      ctx.out.line(ref);
    });
}

/** The node's Spec with the flags applied; fields the CLI does not know go back as read. */
export function applyNodeUpdate(read: NodeSpec, ref: string, opts: NodeUpdateOpts): NodeSpec {
  const labels: Record<string, string> = { ...(read.Labels ?? {}) };
  for (const key of opts.labelRm) {
    if (!(key in labels)) throw new CliError("CLI_FAILED", `node ${ref} has no label ${JSON.stringify(key)} to remove`);
    delete labels[key];
  }
  for (const kv of opts.labelAdd) {
    const [k, v] = splitKeyValue(kv);
    labels[k] = v;
  }
  const spec: NodeSpec = { ...read, Labels: labels };
  if (opts.availability !== undefined) spec.Availability = opts.availability;
  if (opts.role !== undefined) spec.Role = opts.role;
  return spec;
}

function registerRoleChange(node: Command, ctx: CommandContext, verb: "promote" | "demote"): void {
  const role = verb === "promote" ? "manager" : "worker";
  node
    .command(verb)
    .description(verb === "promote" ? "Make nodes managers" : "Make managers workers")
    .argument("<node...>")
    .action(async (refs: string[]) => {
      const client = ctx.client();
      await forEachTarget(refs, async (ref) => {
        const { posted } = await editNode(client, ref, (spec) => (spec.Role === role ? undefined : { ...spec, Role: role }));
        if (!posted) {
          ctx.out.line(`Node ${ref} is already a ${role}.`);
          return;
        }
        ctx.out.line(verb === "promote" ? `Node ${ref} promoted to a manager in the swarm.` : `Manager ${ref} demoted in the swarm.`);
      });
    });
}

function registerRm(node: Command, ctx: CommandContext): void {
  node
    .command("rm")
    .description("Remove nodes from the swarm (a node that is not down needs --force; demote managers first)")
    .argument("<node...>")
    .option("-f, --force", "remove even a node that is not down")
    .action(async (refs: string[], opts: { force?: boolean }) => {
      const client = ctx.client();
      await forEachTarget(refs, async (ref) => {
        await removeNode(client, ref, opts.force === true);
        ctx.out.line(ref);
      });
    });
}
