// Which API the CLI talks to: the -H flag, else SHOAL_HOST, else DOCKER_HOST, else the local
// node's root-only socket; and with which TLS files. Owns parsing host strings; does no IO except
// reading the TLS files it is pointed at.
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { describeError } from "@shoal/common";
import { CliError, UsageError } from "./errors.js";
import { envValue, type CliIo } from "./io.js";

export const DEFAULT_HOST = "unix:///run/shoal/api.sock";

/** PEM contents (not paths) for a TLS connection. */
export interface TlsMaterial {
  caPem?: string;
  certPem?: string;
  keyPem?: string;
}

export type Endpoint =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number; tls: TlsMaterial | undefined };

export interface HostFlags {
  host?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** How an endpoint is named in messages: the same form the user would pass to -H. */
export function describeEndpoint(ep: Endpoint): string {
  if (ep.kind === "unix") return `unix://${ep.socketPath}`;
  const host = ep.host.includes(":") ? `[${ep.host}]` : ep.host;
  return `${ep.tls === undefined ? "tcp" : "https"}://${host}:${ep.port}`;
}

interface TlsPaths {
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

/**
 * Parses a host string. `tcp://` is plain HTTP unless TLS files are given; `https://` is always TLS.
 * `readFile` is a seam for tests.
 */
export function parseHost(
  raw: string,
  tlsPaths: TlsPaths = { ca: undefined, cert: undefined, key: undefined },
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): Endpoint {
  if (raw.startsWith("unix://")) return unixEndpoint(raw.slice("unix://".length), raw);
  if (isAbsolute(raw)) return unixEndpoint(raw, raw);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== "tcp" && scheme !== "https" && scheme !== "http") {
    throw new UsageError(`invalid host ${JSON.stringify(raw)}: use unix:///path, /path, tcp://host:port or https://host:port`);
  }
  let url: URL;
  try {
    url = new URL(raw.replace(/^[a-z]+:/i, "http:"));
  } catch {
    throw new UsageError(`invalid host ${JSON.stringify(raw)}: not a host:port address`);
  }
  if (url.port === "") throw new UsageError(`invalid host ${JSON.stringify(raw)}: the port is missing (e.g. ${scheme}://10.0.0.1:2376)`);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.username !== "") {
    throw new UsageError(`invalid host ${JSON.stringify(raw)}: give only ${scheme}://host:port`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const wantsTls = scheme === "https" || tlsPaths.ca !== undefined || tlsPaths.cert !== undefined || tlsPaths.key !== undefined;
  if (scheme === "http" && wantsTls) throw new UsageError(`host ${raw} is plain http: use https:// with TLS files`);
  return { kind: "tcp", host, port: Number(url.port), tls: wantsTls ? readTls(tlsPaths, readFile) : undefined };
}

function unixEndpoint(path: string, raw: string): Endpoint {
  if (!isAbsolute(path)) throw new UsageError(`invalid host ${JSON.stringify(raw)}: a unix socket path must be absolute`);
  return { kind: "unix", socketPath: path };
}

function readTls(paths: TlsPaths, readFile: (path: string) => string): TlsMaterial {
  if ((paths.cert === undefined) !== (paths.key === undefined)) {
    throw new UsageError("--tlscert and --tlskey go together: give both or neither");
  }
  const read = (flag: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFile(path);
    } catch (err) {
      throw new CliError("CLI_FAILED", `cannot read ${flag} ${path}: ${describeError(err)}`, { path }, err);
    }
  };
  const out: TlsMaterial = {};
  const ca = read("--tlscacert", paths.ca);
  const cert = read("--tlscert", paths.cert);
  const key = read("--tlskey", paths.key);
  if (ca !== undefined) out.caPem = ca;
  if (cert !== undefined) out.certPem = cert;
  if (key !== undefined) out.keyPem = key;
  return out;
}

/** The endpoint for these global flags and environment (flags win over env; SHOAL_* over DOCKER_*). */
export function resolveEndpoint(flags: HostFlags, env: CliIo["env"], readFile?: (path: string) => string): Endpoint {
  const raw = flags.host ?? envValue(env, "SHOAL_HOST") ?? envValue(env, "DOCKER_HOST") ?? DEFAULT_HOST;
  const tls: TlsPaths = {
    ca: flags.tlscacert ?? envValue(env, "SHOAL_TLS_CA"),
    cert: flags.tlscert ?? envValue(env, "SHOAL_TLS_CERT"),
    key: flags.tlskey ?? envValue(env, "SHOAL_TLS_KEY"),
  };
  return parseHost(raw, tls, readFile);
}
