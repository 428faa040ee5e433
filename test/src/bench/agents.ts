// A process hosting many simulated nodes for the orchestration benchmark: each is a real shoald
// Daemon (its own state dir, certificate from the swarm's CA, heartbeats and assignments over
// mTLS gRPC) whose tasks run on the simulated executor. Usage:
//   node agents.js --count N --root DIR --remote HOST:PORT --token SHTKN-… [--prefix sim] [--concurrency 4]
// Prints "joined N" once every node joined, then runs until SIGTERM/SIGINT.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger, describeError, sleep, watchEventLoop } from "@shoal/common";
import { Daemon } from "@shoal/node";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: "string" },
      root: { type: "string" },
      remote: { type: "string" },
      token: { type: "string" },
      prefix: { type: "string", default: "sim" },
      concurrency: { type: "string", default: "4" },
    },
  });
  const count = Number(values.count);
  const root = values.root ?? "";
  const remote = values.remote ?? "";
  const token = values.token ?? "";
  if (!Number.isInteger(count) || count <= 0 || root === "" || remote === "" || token === "") throw new Error("usage: agents --count N --root DIR --remote HOST:PORT --token T");
  const logger = createLogger({ name: "agents", level: process.env["SHOAL_LOG_LEVEL"] ?? "warn" });
  // This process's blocks are its simulated nodes' missed heartbeats: logged as shoald logs its own.
  watchEventLoop({ onBlock: (b) => logger.warn({ blockedMs: b.ms, gcMs: b.gcMs }, `agents: event loop blocked for ${b.ms} ms (garbage collection ${b.gcMs} ms of it)`) });
  mkdirSync(root, { recursive: true });
  const daemons: Daemon[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const name = `${values.prefix}-${i}`;
      const d = new Daemon({ stateDir: join(root, name), hostname: name, executor: "simulated" }, { logger: logger.child({ node: name }) });
      await d.start();
      // A loaded manager may time a join out: retry a few times before giving up on the run.
      for (let attempt = 1; ; attempt++) {
        try {
          await d.join({ listenAddr: "127.0.0.1:0", advertiseAddr: "127.0.0.1", remoteAddrs: [remote], joinToken: token });
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await sleep(500 * attempt);
        }
      }
      daemons.push(d);
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  process.stdout.write(`joined ${daemons.length}\n`);
  const stop = (): void => {
    void Promise.all(daemons.map((d) => d.stop().catch(() => undefined))).then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`agents: ${describeError(err)}\n`);
  process.exit(1);
});
