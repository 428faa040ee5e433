// Process entry point of the Raft KV harness: one Raft member with an in-memory KV state machine,
// serving "shoal.kv.KV" on its client address.
//
//   node test/dist/src/kv/kv-server.js --id 1 --data-dir D --raft-listen 127.0.0.1:P
//     --client-listen 127.0.0.1:Q --peers 1=127.0.0.1:P1,2=...,3=...
//     [--client-peers 1=127.0.0.1:Q1,2=...,3=...] [--join] [--tick-ms 100] [--snapshot-entries N]
//
// --client-peers maps member ids to client addresses so that followers can forward Puts to the
// leader (without it, a follower answers UNAVAILABLE). Prints exactly one line "ready <clientAddr>"
// on stdout once serving; logs (pino) go to stderr; SIGTERM/SIGINT stop it cleanly (exit 0).
import * as grpc from "@grpc/grpc-js";
import { createLogger, describeError } from "@shoal/common";
import { RaftNode } from "@shoal/raft";
import { KvService } from "./kv-service.js";
import { KvStateMachine } from "./kv-state-machine.js";

interface KvServerArgs {
  id: number;
  dataDir: string;
  raftListen: string;
  clientListen: string;
  peers: Record<number, string>;
  clientPeers: Map<number, string>;
  join: boolean;
  tickMs: number;
  snapshotEntries: number | undefined;
}

function parseArgs(argv: string[]): KvServerArgs {
  const flags = new Map<string, string>();
  let join = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--join") join = true;
    else if (a.startsWith("--") && i + 1 < argv.length) flags.set(a.slice(2), argv[++i]!);
    else throw new Error(`unexpected argument ${a}`);
  }
  const need = (name: string): string => {
    const v = flags.get(name);
    if (v === undefined) throw new Error(`--${name} is required`);
    return v;
  };
  const id = Number(need("id"));
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`--id must be a positive integer`);
  const peers = parseIdMap(need("peers"), "--peers");
  const snap = flags.get("snapshot-entries");
  return {
    id,
    dataDir: need("data-dir"),
    raftListen: need("raft-listen"),
    clientListen: need("client-listen"),
    peers: Object.fromEntries(peers),
    clientPeers: flags.has("client-peers") ? parseIdMap(flags.get("client-peers")!, "--client-peers") : new Map(),
    join,
    tickMs: Number(flags.get("tick-ms") ?? 100),
    snapshotEntries: snap === undefined ? undefined : Number(snap),
  };
}

function parseIdMap(s: string, what: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const part of s.split(",")) {
    const eq = part.indexOf("=");
    const id = Number(part.slice(0, eq));
    if (eq <= 0 || !Number.isSafeInteger(id) || id <= 0) throw new Error(`${what}: bad entry ${JSON.stringify(part)}`);
    m.set(id, part.slice(eq + 1));
  }
  return m;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const logger = createLogger({ name: `kv-${args.id}` });
  const sm = new KvStateMachine();
  const opts: Parameters<typeof RaftNode.start>[0] = {
    id: args.id,
    dataDir: args.dataDir,
    listen: args.raftListen,
    peers: args.peers,
    join: args.join,
    tickMs: args.tickMs,
  };
  if (args.snapshotEntries !== undefined) opts.snapshotEntries = args.snapshotEntries;
  const node = await RaftNode.start(opts, { stateMachine: sm, logger });
  const service = new KvService({ id: args.id, clientPeers: args.clientPeers }, node, sm, logger);
  const server = new grpc.Server();
  service.addTo(server);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(args.clientListen, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  process.stdout.write(`ready ${args.clientListen}\n`);
  logger.info({ id: args.id, client: args.clientListen, raft: args.raftListen }, "kv server ready");

  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, "kv server stopping");
    // A stuck shutdown must not outlive its supervisor's patience silently.
    setTimeout(() => process.exit(1), 5000).unref();
    server.forceShutdown();
    service.close();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: describeError(err) }, "raft stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`kv-server: ${describeError(err)}\n`);
  process.exit(1);
});
