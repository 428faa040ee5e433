import { pino, destination, type Logger as PinoLogger, type LoggerOptions } from "pino";

export type Logger = PinoLogger;

export interface LoggerOpts {
  level?: string;
  name?: string;
  /** Write to this file descriptor (default 2, stderr) so stdout stays free for program output. */
  fd?: number;
}

/** The one pino logger of a process; components take `logger.child({component})`. */
export function createLogger(opts: LoggerOpts = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env["SHOAL_LOG_LEVEL"] ?? "info",
    redact: { paths: ["*.secret", "*.token", "*.key", "*.password", "*.data"], censor: "[redacted]" },
  };
  if (opts.name !== undefined) options.name = opts.name;
  return pino(options, destination({ fd: opts.fd ?? 2, sync: false }));
}

/** A logger that drops everything: for tests and pure-core harnesses. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
