// shoal-lab: the command line over the Lab library. Output on stdout, one-line errors on stderr,
// exit codes: 0 ok, 1 operation failed, 2 bad usage; `exec` exits with the command's own code.
import { createLogger, describeError } from "@shoal/common";
import { LabError } from "./errors.js";
import { formatHostTable, Lab, type HostInfo } from "./lab.js";
import { formSwarm, shoaldCommand, type ShoaldOptions } from "./swarm.js";

const USAGE = `usage: shoal-lab [--lab ID] [--root DIR | --dir DIR] COMMAND
  up [--managers N] [--workers M] [--subnet a.b.c.0/24] [--env K=V]... [--swarm yes|no]
     [--tick-ms N] [--heartbeat-ms N] [--executor simulated] [-- CMD ARG...]
        each host runs shoald and the hosts form a swarm (first manager inits, the others
        join); --swarm no leaves them unjoined. With -- CMD, CMD is each host's PID 1 instead
        ({host} {role} {address} {dir} {socket} {lab} {managers} are replaced per host)
  ls                      hosts: name, role, address, pid, state
  env HOST                prints export SHOAL_HOST=… DOCKER_HOST=… for HOST's API socket
  exec HOST -- CMD...     runs CMD inside HOST's namespaces; exits with its code
  kill HOST               SIGKILL HOST's PID 1 (the whole host goes down)
  start HOST              starts a down host again
  partition HOST...       cuts the named hosts off from all others (separate switch bridge)
  heal                    removes every partition
  down                    removes everything the lab made (idempotent)
environment: SHOAL_LAB (lab id, default "default"), SHOAL_LAB_ROOT (default /var/lib/shoal-lab)`;

class UsageError extends Error {}

interface Parsed {
  lab: string;
  root: string | undefined;
  dir: string | undefined;
  command: string;
  args: string[];
  rest: string[];
}

function parse(argv: string[]): Parsed {
  let lab = process.env["SHOAL_LAB"] ?? "default";
  let root = process.env["SHOAL_LAB_ROOT"];
  let dir: string | undefined;
  const args: string[] = [];
  let rest: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest = argv.slice(i + 1);
      break;
    }
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--lab") lab = value();
    else if (a === "--root") root = value();
    else if (a === "--dir") dir = value();
    else if (a === "-h" || a === "--help") command = "help";
    else if (command === undefined && !a.startsWith("-")) command = a;
    else args.push(a);
  }
  if (command === undefined) throw new UsageError("missing command");
  return { lab, root, dir, command, args, rest };
}

function flags(args: string[], known: string[]): { values: Map<string, string[]>; positional: string[] } {
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("--")) {
      if (!known.includes(a)) throw new UsageError(`unknown flag ${a}`);
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      values.set(a, [...(values.get(a) ?? []), v]);
    } else positional.push(a);
  }
  return { values, positional };
}

function count(v: string[] | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const s = v[v.length - 1]!;
  if (!/^\d+$/.test(s)) throw new UsageError(`${name} must be a whole number, got ${JSON.stringify(s)}`);
  return Number(s);
}

function expand(template: string[], h: HostInfo, labId: string): string[] {
  const vars: Record<string, string> = {
    host: h.name,
    role: h.role,
    address: h.address,
    dir: h.dir,
    socket: h.apiSocket,
    lab: labId,
    managers: h.managerAddresses.join(","),
  };
  return template.map((t) => t.replace(/\{(\w+)\}/g, (all, k: string) => vars[k] ?? all));
}

function one(positional: string[], what: string): string {
  if (positional.length !== 1) throw new UsageError(`${what} needs exactly one HOST`);
  return positional[0]!;
}

async function main(argv: string[]): Promise<number> {
  const p = parse(argv);
  if (p.command === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const logger = createLogger({ name: "shoal-lab", level: process.env["SHOAL_LOG_LEVEL"] ?? "error" });
  const lab = new Lab({ labId: p.lab, root: p.root, dir: p.dir }, { logger });
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort(new Error("interrupted")));
  const sig = { signal: ac.signal };
  switch (p.command) {
    case "up": {
      const { values, positional } = flags(p.args, ["--managers", "--workers", "--subnet", "--env", "--swarm", "--tick-ms", "--heartbeat-ms", "--executor"]);
      if (positional.length > 0) throw new UsageError(`unexpected ${positional.join(" ")}`);
      const env: Record<string, string> = {};
      for (const kv of values.get("--env") ?? []) {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new UsageError(`--env wants K=V, got ${JSON.stringify(kv)}`);
        env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      const template = p.rest;
      const swarm = values.get("--swarm")?.at(-1) ?? "yes";
      if (swarm !== "yes" && swarm !== "no") throw new UsageError(`--swarm must be yes or no, got ${JSON.stringify(swarm)}`);
      const shoald: ShoaldOptions = {};
      if (values.has("--tick-ms")) shoald.tickMs = count(values.get("--tick-ms"), "--tick-ms", 100);
      if (values.has("--heartbeat-ms")) shoald.heartbeatMs = count(values.get("--heartbeat-ms"), "--heartbeat-ms", 2000);
      const executor = values.get("--executor")?.at(-1);
      if (executor !== undefined) {
        if (executor !== "simulated") throw new UsageError(`--executor must be simulated (the runc runtime is not built yet), got ${JSON.stringify(executor)}`);
        shoald.extraArgs = ["--executor", executor];
      }
      const rec = await lab.up(
        {
          managers: count(values.get("--managers"), "--managers", 1),
          workers: count(values.get("--workers"), "--workers", 0),
          subnet: values.get("--subnet")?.at(-1),
          env,
          command: template.length > 0 ? (h) => expand(template, h, p.lab) : shoaldCommand(shoald),
        },
        sig,
      );
      if (template.length === 0 && swarm === "yes") {
        try {
          await formSwarm(rec, { logger });
        } catch (err) {
          process.stderr.write(`shoal-lab: the hosts are up but the swarm did not form: ${describeError(err)}\n`);
          process.stdout.write(formatHostTable(await lab.status()));
          return 1;
        }
      }
      process.stdout.write(formatHostTable(await lab.status()));
      return 0;
    }
    case "ls":
      process.stdout.write(formatHostTable(await lab.status()));
      return 0;
    case "env":
      process.stdout.write((await lab.envLine(one(p.args, "env"))) + "\n");
      return 0;
    case "exec": {
      const host = one(p.args, "exec");
      if (p.rest.length === 0) throw new UsageError("exec needs -- CMD...");
      const r = await lab.exec(host, p.rest, { inherit: true, signal: ac.signal });
      return r.signalName !== null ? 128 + signalNumber(r.signalName) : r.code;
    }
    case "kill":
      await lab.kill(one(p.args, "kill"), sig);
      return 0;
    case "start":
      await lab.start(one(p.args, "start"), sig);
      return 0;
    case "partition":
      if (p.args.length === 0) throw new UsageError("partition needs HOST...");
      await lab.partition(p.args, sig);
      return 0;
    case "heal":
      await lab.heal(sig);
      return 0;
    case "down":
      await lab.down(sig);
      return 0;
    default:
      throw new UsageError(`unknown command ${p.command}`);
  }
}

function signalNumber(name: NodeJS.Signals): number {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return table[name] ?? 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`shoal-lab: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      const code = err instanceof LabError ? ` [${err.code}]` : "";
      process.stderr.write(`shoal-lab: ${describeError(err).split("\n")[0]}${code}\n`);
      process.exitCode = 1;
    }
  },
);
