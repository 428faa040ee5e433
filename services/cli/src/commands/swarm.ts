// `shoal swarm …`: init, join, join-token, leave, inspect, update, unlock, unlock-key. Request bodies follow
// what the docker CLI sends (the API accepts exactly those fields); output follows docker's wording
// with `shoal` in the commands it suggests.
import { Argument, Option, type Command } from "commander";
import { getInfo, getNode, getSwarm, getUnlockKey, updateSwarm, expectString, type DockerSwarm, type SwarmSpec } from "../api/index.js";
import type { ApiClient } from "../client.js";
import type { CommandContext } from "../context.js";
import { ApiError, CliError, UsageError } from "../errors.js";
import { readSecret } from "../input.js";
import type { Field, Printer } from "../output/index.js";
import { boolArg, countArg, durationArg, formatDurationNs } from "../parse/index.js";

const AVAILABILITIES = ["active", "pause", "drain"] as const;
const ROLES = ["worker", "manager"] as const;
type Role = (typeof ROLES)[number];

const DEFAULT_LISTEN_ADDR = "0.0.0.0:2377";

export function registerSwarmCommands(program: Command, ctx: CommandContext): void {
  const swarm = program.command("swarm").description("Manage the swarm");
  registerInit(swarm, ctx);
  registerJoin(swarm, ctx);
  registerJoinToken(swarm, ctx);
  registerLeave(swarm, ctx);
  registerInspect(swarm, ctx);
  registerUpdate(swarm, ctx);
  registerUnlock(swarm, ctx);
  registerUnlockKey(swarm, ctx);
}

interface InitOpts {
  advertiseAddr?: string;
  listenAddr?: string;
  autolock?: boolean;
  availability?: string;
  forceNewCluster?: boolean;
  certExpiry?: number;
  taskHistoryLimit?: number;
}

function registerInit(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("init")
    .description("Initialize a swarm with this node as its first manager")
    .option("--advertise-addr <addr>", "address other nodes reach this node at (ip[:port] or interface)")
    .option("--listen-addr <addr>", `address the node listens on for cluster traffic (default ${DEFAULT_LISTEN_ADDR})`)
    .option("--autolock", "lock managers at rest: they need the unlock key to restart")
    .addOption(new Option("--availability <state>", "availability of this node").choices(AVAILABILITIES))
    .option("--force-new-cluster", "restart this manager as a one-member cluster keeping its state (lost quorum)")
    .option("--cert-expiry <duration>", "validity of node certificates (e.g. 90d, 2160h)", durationArg({ positive: true }))
    .option("--task-history-limit <n>", "task history kept per slot", countArg)
    .action(async (opts: InitOpts) => {
      const client = ctx.client();
      const autolock = opts.autolock === true;
      const nodeId = expectString(
        await client.post("/swarm/init", {
          body: {
            ListenAddr: opts.listenAddr ?? DEFAULT_LISTEN_ADDR,
            AdvertiseAddr: opts.advertiseAddr ?? "",
            DataPathAddr: "",
            DataPathPort: 0,
            ForceNewCluster: opts.forceNewCluster === true,
            Spec: {
              Labels: null,
              Orchestration: opts.taskHistoryLimit === undefined ? {} : { TaskHistoryRetentionLimit: opts.taskHistoryLimit },
              Raft: { ElectionTick: 0, HeartbeatTick: 0 },
              Dispatcher: {},
              CAConfig: opts.certExpiry === undefined ? {} : { NodeCertExpiry: opts.certExpiry },
              TaskDefaults: {},
              EncryptionConfig: { AutoLockManagers: autolock },
            },
            AutoLockManagers: autolock,
            Availability: opts.availability ?? "",
            DefaultAddrPool: [],
            SubnetSize: 24,
          },
        }),
        "POST /swarm/init",
      );
      ctx.out.line(`Swarm initialized: current node (${nodeId}) is now a manager.`);
      ctx.out.line();
      try {
        const addr = (await getNode(client, nodeId)).ManagerStatus?.Addr;
        printJoinCommand(ctx.out, "worker", joinToken(await getSwarm(client), "worker"), addr);
      } catch (err) {
        // The swarm exists now; a new manager that cannot answer yet is no reason to fail init.
        if (!(err instanceof ApiError)) throw err;
        ctx.out.line("To add a worker to this swarm, run 'shoal swarm join-token worker' and follow the instructions.");
      }
      ctx.out.line();
      ctx.out.line("To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.");
      if (autolock) {
        ctx.out.line();
        printUnlockKey(ctx.out, await getUnlockKey(client));
      }
    });
}

interface JoinOpts {
  token: string;
  advertiseAddr?: string;
  listenAddr?: string;
  availability?: string;
}

function registerJoin(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("join")
    .description("Join a swarm as a worker or manager (the token decides)")
    .argument("<host:port>", "a manager of the swarm")
    .requiredOption("--token <token>", "join token (shoal swarm join-token worker|manager)")
    .option("--advertise-addr <addr>", "address other nodes reach this node at")
    .option("--listen-addr <addr>", `address the node listens on for cluster traffic (default ${DEFAULT_LISTEN_ADDR})`)
    .addOption(new Option("--availability <state>", "availability of this node").choices(AVAILABILITIES))
    .action(async (remote: string, opts: JoinOpts) => {
      if (!/^\S+:\d+$/.test(remote)) throw new UsageError(`invalid manager address ${JSON.stringify(remote)}: expected host:port`);
      const client = ctx.client();
      await client.post("/swarm/join", {
        body: {
          ListenAddr: opts.listenAddr ?? DEFAULT_LISTEN_ADDR,
          AdvertiseAddr: opts.advertiseAddr ?? "",
          DataPathAddr: "",
          RemoteAddrs: [remote],
          JoinToken: opts.token,
          Availability: opts.availability ?? "",
        },
      });
      const swarmInfo = (await getInfo(client)).Swarm;
      if (swarmInfo?.ControlAvailable === true) ctx.out.line("This node joined a swarm as a manager.");
      else if (swarmInfo?.LocalNodeState === "pending") ctx.out.line("This node is attempting to join a swarm.");
      else ctx.out.line("This node joined a swarm as a worker.");
    });
}

function registerJoinToken(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("join-token")
    .description("Show or rotate the join token for workers or managers")
    .addArgument(new Argument("<role>", "which token").choices(ROLES))
    .option("--rotate", "replace the token (the old one stops working; joined nodes are unaffected)")
    .option("-q, --quiet", "print the token only")
    .action(async (role: Role, opts: { rotate?: boolean; quiet?: boolean }) => {
      const client = ctx.client();
      if (opts.rotate === true) {
        const read = await getSwarm(client);
        await updateSwarm(client, read, read.Spec, { rotateWorkerToken: role === "worker", rotateManagerToken: role === "manager" });
        if (opts.quiet !== true) {
          ctx.out.line(`Successfully rotated ${role} join token.`);
          ctx.out.line();
        }
      }
      const token = joinToken(await getSwarm(client), role);
      if (opts.quiet === true) {
        ctx.out.line(token);
        return;
      }
      printJoinCommand(ctx.out, role, token, await selfManagerAddr(client));
    });
}

function registerLeave(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("leave")
    .description("Leave the swarm")
    .option("-f, --force", "leave even as a manager (the cluster may lose quorum)")
    .action(async (opts: { force?: boolean }) => {
      await ctx.client().post("/swarm/leave", { query: { force: opts.force === true ? 1 : undefined } });
      ctx.out.line("Node left the swarm.");
    });
}

function registerInspect(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("inspect")
    .description("Show the swarm's settings, those left unset at the values the managers apply (JSON unless --pretty; no join tokens)")
    .option("--pretty", "human-readable form")
    .action(async (opts: { pretty?: boolean }) => {
      const { JoinTokens: _tokens, ...shown } = await getSwarm(ctx.client());
      if (opts.pretty === true) ctx.out.fields(prettySwarm(shown));
      else ctx.out.json(shown);
    });
}

/** `shoal swarm inspect --pretty`, in `docker info`'s words for the same settings. */
export function prettySwarm(s: DockerSwarm): Field[] {
  const spec = s.Spec;
  const dur = (ns: number | undefined): string | undefined => (ns === undefined ? undefined : formatDurationNs(ns));
  const pool = s.DefaultAddrPool ?? [];
  // A block whose settings the server did not send is left out, not shown as an empty heading.
  const block = (fields: Field[]): Field[] | undefined => (fields.some(([, v]) => v !== undefined && v !== null) ? fields : undefined);
  return [
    ["ID", s.ID],
    ["Created at", s.CreatedAt],
    ["Updated at", s.UpdatedAt],
    ["Orchestration", block([["Task History Retention Limit", spec.Orchestration?.TaskHistoryRetentionLimit]])],
    [
      "Raft",
      block([
        ["Snapshot Interval", spec.Raft?.SnapshotInterval],
        ["Number of Old Snapshots to Retain", spec.Raft?.KeepOldSnapshots],
        ["Log Entries for Slow Followers", spec.Raft?.LogEntriesForSlowFollowers],
        ["Heartbeat Tick", spec.Raft?.HeartbeatTick],
        ["Election Tick", spec.Raft?.ElectionTick],
      ]),
    ],
    ["Dispatcher", block([["Heartbeat Period", dur(spec.Dispatcher?.HeartbeatPeriod)]])],
    ["CA Configuration", block([["Expiry Duration", dur(spec.CAConfig?.NodeCertExpiry)]])],
    ["Autolock Managers", String(spec.EncryptionConfig?.AutoLockManagers === true)],
    ["Root Rotation In Progress", s.RootRotationInProgress === undefined ? undefined : String(s.RootRotationInProgress)],
    ["Default Address Pool", pool.length === 0 ? undefined : pool.join(", ")],
    ["Subnet Size", s.SubnetSize],
    ["Data Path Port", s.DataPathPort],
  ];
}

interface UpdateOpts {
  autolock?: boolean;
  certExpiry?: number;
  taskHistoryLimit?: number;
  dispatcherHeartbeat?: number;
  snapshotInterval?: number;
}

function registerUpdate(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("update")
    .description("Update the swarm's settings")
    .option("--autolock [bool]", "lock managers at rest (--autolock=false turns it off)", boolArg)
    .option("--cert-expiry <duration>", "validity of node certificates (e.g. 90d, 2160h)", durationArg({ positive: true }))
    .option("--task-history-limit <n>", "task history kept per slot", countArg)
    .option("--dispatcher-heartbeat <duration>", "how often agents heartbeat (e.g. 5s)", durationArg({ positive: true }))
    .option("--snapshot-interval <n>", "raft entries between snapshots", countArg)
    .action(async (opts: UpdateOpts) => {
      if (Object.values(opts).every((v) => v === undefined)) {
        throw new UsageError("nothing to update: give --autolock, --cert-expiry, --task-history-limit, --dispatcher-heartbeat or --snapshot-interval");
      }
      const client = ctx.client();
      const read = await getSwarm(client);
      const spec = applySwarmUpdate(read.Spec, opts);
      await updateSwarm(client, read, spec);
      ctx.out.line("Swarm updated.");
      const wasLocked = read.Spec.EncryptionConfig?.AutoLockManagers === true;
      if (opts.autolock === true && !wasLocked) printUnlockKey(ctx.out, await getUnlockKey(client));
    });
}

/** The Spec with the flags applied; every other field goes back exactly as read. */
export function applySwarmUpdate(read: SwarmSpec, opts: UpdateOpts): SwarmSpec {
  const spec = structuredClone(read);
  if (opts.autolock !== undefined) spec.EncryptionConfig = { ...spec.EncryptionConfig, AutoLockManagers: opts.autolock };
  if (opts.certExpiry !== undefined) spec.CAConfig = { ...spec.CAConfig, NodeCertExpiry: opts.certExpiry };
  if (opts.taskHistoryLimit !== undefined) spec.Orchestration = { ...spec.Orchestration, TaskHistoryRetentionLimit: opts.taskHistoryLimit };
  if (opts.dispatcherHeartbeat !== undefined) spec.Dispatcher = { ...spec.Dispatcher, HeartbeatPeriod: opts.dispatcherHeartbeat };
  if (opts.snapshotInterval !== undefined) spec.Raft = { ...spec.Raft, SnapshotInterval: opts.snapshotInterval };
  return spec;
}

function registerUnlock(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("unlock")
    .description("Unlock a locked manager (reads the unlock key from stdin)")
    .option("--key <key>", "the unlock key (for scripts; prefer stdin, which keeps it out of ps)")
    .action(async (opts: { key?: string }) => {
      const client = ctx.client();
      // Asking first means nobody types a key into a node that has nothing to unlock.
      const state = (await getInfo(client)).Swarm?.LocalNodeState ?? "inactive";
      if (state === "inactive") throw new CliError("CLI_FAILED", "this node is not part of a swarm");
      if (state !== "locked") throw new CliError("CLI_FAILED", "swarm is not locked");
      const key = opts.key ?? (await readSecret(ctx.io, "Please enter unlock key: "));
      if (key === "") throw new CliError("CLI_FAILED", "no unlock key given");
      await client.post("/swarm/unlock", { body: { UnlockKey: key } });
    });
}

function registerUnlockKey(swarm: Command, ctx: CommandContext): void {
  swarm
    .command("unlock-key")
    .description("Show or rotate the unlock key of locked managers")
    .option("--rotate", "replace the unlock key")
    .option("-q, --quiet", "print the key only")
    .action(async (opts: { rotate?: boolean; quiet?: boolean }) => {
      const client = ctx.client();
      if (opts.rotate === true) {
        const read = await getSwarm(client);
        if (read.Spec.EncryptionConfig?.AutoLockManagers !== true) {
          throw new CliError("CLI_FAILED", "cannot rotate the unlock key: autolock is off (shoal swarm update --autolock=true)");
        }
        await updateSwarm(client, read, read.Spec, { rotateManagerUnlockKey: true });
        if (opts.quiet !== true) {
          ctx.out.line("Successfully rotated manager unlock key.");
          ctx.out.line();
        }
      }
      const key = await getUnlockKey(client);
      if (key === "") throw new CliError("CLI_FAILED", "no unlock key is set: autolock is off");
      if (opts.quiet === true) ctx.out.line(key);
      else printUnlockKey(ctx.out, key);
    });
}

function joinToken(sw: DockerSwarm, role: Role): string {
  const token = role === "worker" ? sw.JoinTokens?.Worker : sw.JoinTokens?.Manager;
  if (token === undefined || token === "") throw new CliError("CLI_BAD_RESPONSE", `GET /swarm answered no ${role} join token`);
  return token;
}

/** This node's manager address (from its node object), which joining nodes dial. */
async function selfManagerAddr(client: ApiClient): Promise<string | undefined> {
  const id = (await getInfo(client)).Swarm?.NodeID ?? "";
  if (id === "") throw new CliError("CLI_FAILED", "this node is not part of a swarm");
  return (await getNode(client, id)).ManagerStatus?.Addr;
}

function printJoinCommand(out: Printer, role: Role, token: string, addr: string | undefined): void {
  out.line(`To add a ${role} to this swarm, run the following command:`);
  out.line();
  // Without an address (the API did not report one yet) the command is still right but for it.
  out.line(`    shoal swarm join --token ${token} ${addr === undefined || addr === "" ? "<manager-ip>:2377" : addr}`);
}

function printUnlockKey(out: Printer, key: string): void {
  if (key === "") {
    // Autolock was just turned on but the API has no key to show (yet): never print a blank key.
    out.line("Autolock is on, but the API reported no unlock key: run 'shoal swarm unlock-key' to see it.");
    return;
  }
  out.lines([
    "To unlock a swarm manager after it restarts, run the `shoal swarm unlock`",
    "command and provide the following key:",
    "",
    `    ${key}`,
    "",
    "Remember to store this key in a password manager, since without it you",
    "will not be able to restart the manager.",
  ]);
}
