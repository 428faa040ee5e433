// shoald: the node daemon's entry point. Parses flags, starts the Daemon (resuming the node's swarm
// membership from its state dir) and the REST API on a root-only unix socket, and shuts both down
// in reverse order on SIGTERM/SIGINT.
import { parseArgs } from "node:util";
import { Counter, createLogger, createProcessRegistry, describeError, watchEventLoop } from "@shoal/common";
import { startApiServer } from "@shoal/manager";
import { Daemon, type DaemonOptions } from "./daemon.js";
import { lockStateDir, type StateDirLock } from "./state-lock.js";

const USAGE = `usage: shoald [--state-dir DIR] [--api-socket PATH] [--api-tcp HOST:PORT] [--hostname NAME] [--label k=v]...
              [--force-new-cluster] [--executor simulated] [--tick-ms N] [--election-ticks N] [--heartbeat-ms N]
              [--heartbeat-grace N] [--log-level LEVEL]`;

function fail(message: string): never {
  process.stderr.write(`shoald: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        "state-dir": { type: "string", default: "/var/lib/shoal" },
        "api-socket": { type: "string", default: "/run/shoal/api.sock" },
        "api-tcp": { type: "string" },
        hostname: { type: "string" },
        label: { type: "string", multiple: true },
        "force-new-cluster": { type: "boolean", default: false },
        executor: { type: "string" },
        "tick-ms": { type: "string" },
        "election-ticks": { type: "string" },
        "heartbeat-ms": { type: "string" },
        "heartbeat-grace": { type: "string" },
        "log-level": { type: "string", default: process.env["SHOAL_LOG_LEVEL"] ?? "info" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    fail(describeError(err));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const i = l.indexOf("=");
    if (i <= 0) fail(`--label must be key=value, got "${l}"`);
    labels[l.slice(0, i)] = l.slice(i + 1);
  }
  const logger = createLogger({ level: values["log-level"], name: "shoald" });
  const opts: DaemonOptions = { stateDir: values["state-dir"], labels, forceNewCluster: values["force-new-cluster"] };
  if (values.hostname !== undefined) opts.hostname = values.hostname;
  if (values.executor !== undefined) {
    // Only the simulated executor exists until the runc runtime lands; it is never a default.
    if (values.executor !== "simulated") fail(`--executor must be "simulated" (the runc runtime is not built yet), got "${values.executor}"`);
    opts.executor = "simulated";
  }
  const tickMs = positiveInt("tick-ms", values["tick-ms"]);
  const electionTicks = positiveInt("election-ticks", values["election-ticks"]);
  const heartbeatMs = positiveInt("heartbeat-ms", values["heartbeat-ms"]);
  if (tickMs !== undefined) opts.tickMs = tickMs;
  if (electionTicks !== undefined) opts.electionTicks = electionTicks;
  if (heartbeatMs !== undefined) opts.heartbeatPeriodMs = heartbeatMs;
  // Periods a node may miss before it is DOWN. Agents beat at 75–95 % of the period, so 1 would
  // mark a node down for one late answer.
  const grace = positiveInt("heartbeat-grace", values["heartbeat-grace"]);
  if (grace !== undefined) {
    if (grace < 2) fail(`--heartbeat-grace must be at least 2 (heartbeat periods a node may miss), got "${values["heartbeat-grace"]}"`);
    opts.heartbeatGrace = grace;
  }

  const registry = createProcessRegistry();
  // A manager whose event loop is held longer than raft's election timeout (0.8 s) loses its
  // leadership, and one held longer than the nodes' grace marks them DOWN: say so when it happens.
  const blocks = new Counter({ name: "shoal_event_loop_blocks_total", help: "times the event loop was held for 500 ms or more", registers: [registry] });
  watchEventLoop({
    thresholdMs: 500,
    onBlock: (b) => {
      blocks.inc();
      logger.warn({ blockedMs: b.ms, gcMs: b.gcMs, gcPauses: b.gcPauses, longestGcMs: b.longestGcMs }, `shoald: event loop blocked for ${b.ms} ms (garbage collection ${b.gcMs} ms of it)`);
    },
  });
  // Before anything reads or writes the state dir: a second shoald on it would corrupt it.
  let stateLock: StateDirLock;
  try {
    stateLock = await lockStateDir(opts.stateDir);
  } catch (err) {
    process.stderr.write(`shoald: ${describeError(err)}\n`);
    process.exit(1);
  }
  const daemon = new Daemon(opts, { logger, registry });
  // API servers (the unix socket, then the optional TLS listener), closed before the daemon stops.
  const extraServers: { close(): Promise<void> }[] = [];
  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, "shoald: shutting down");
    void (async () => {
      for (const x of extraServers) await x.close().catch(() => undefined);
      await daemon.stop().catch((err: unknown) => logger.error({ err }, "shoald: stop failed"));
      await stateLock.release();
      process.exit(0);
    })();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // Resume the node before the API answers, so that nobody sees a member of a swarm reported as
  // inactive while it starts (resuming opens local state and binds; it never waits for a quorum).
  try {
    await daemon.start();
  } catch (err) {
    // The API still comes up: /info reports the error, and the operator can fix and retry.
    logger.error({ err }, "shoald: could not resume the node's swarm membership");
  }
  extraServers.push(await startApiServer({ socketPath: values["api-socket"] }, { backend: daemon, logger }));
  logger.info({ socket: values["api-socket"], stateDir: opts.stateDir }, "shoald: API listening");
  const tcp = values["api-tcp"];
  if (tcp !== undefined) {
    // The TCP API serves with the node's certificate and admits only clients with a certificate
    // from the swarm's CA, so it exists only once the node is part of a swarm.
    const m = /^(.+):(\d+)$/.exec(tcp);
    const tls = daemon.tlsMaterial();
    if (m === null) fail(`--api-tcp must be HOST:PORT, got "${tcp}"`);
    if (tls === undefined) {
      logger.error("shoald: --api-tcp needs the node to be part of an unlocked swarm (it serves TLS with the node's certificate); only the unix socket is served");
    } else {
      const server = await startApiServer(
        { tcp: { host: m[1] as string, port: Number(m[2]), tls: { certPem: tls.certPem, keyPem: tls.keyPem, caPem: tls.rootCertPem } } },
        { backend: daemon, logger },
      );
      logger.info({ addresses: server.addresses }, "shoald: TLS API listening (client certificates from the swarm CA required)");
      extraServers.push(server);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`shoald: ${describeError(err)}\n`);
  process.exit(1);
});
