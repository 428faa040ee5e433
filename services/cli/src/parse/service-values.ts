// Flag-value parsers for `service create/update`: sizes (64MiB, 1g), CPUs (0.5 → NanoCPUs), ratios,
// published ports, mounts, placement preferences and secret/config references. Each throws
// commander's InvalidArgumentError, so a bad value is exit 2 naming the flag. Pure.
import { InvalidArgumentError } from "commander";
import type { PortConfig } from "../api/index.js";
import { splitKeyValue } from "./values.js";

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4, p: 1024 ** 5, pb: 1024 ** 5, pib: 1024 ** 5 };

/** Bytes from docker's size forms: "64MiB", "64m", "1g", "512k", "1048576" (binary units, as docker's RAMInBytes). */
export function sizeArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = m === null ? undefined : SIZE_UNITS[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) throw new InvalidArgumentError("expected a size such as 64MiB, 512m or 1g");
  return Math.round(Number(m[1]) * unit);
}

/** CPUs as a decimal ("0.5", "2") → NanoCPUs. */
export function cpuArg(value: string): number {
  if (!/^\d+(\.\d{1,9})?$/.test(value.trim())) throw new InvalidArgumentError("expected a number of CPUs such as 0.5 or 2");
  return Math.round(Number(value.trim()) * 1e9);
}

/** A fraction from 0 to 1 (--update-max-failure-ratio). */
export function ratioArg(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("expected a number from 0 to 1");
  return n;
}

function port(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < 1 || n > 65535) throw new InvalidArgumentError(`${what} must be a port from 1 to 65535`);
  return n;
}

function protocol(text: string | undefined): string {
  const p = (text ?? "tcp").toLowerCase();
  if (!["tcp", "udp", "sctp"].includes(p)) throw new InvalidArgumentError(`unknown protocol ${JSON.stringify(text)}: use tcp, udp or sctp`);
  return p;
}

/** `8080:80[/udp]`, `80` (published port chosen by the cluster) or `mode=host,target=80,published=8080,protocol=tcp`. */
export function parsePublish(value: string): PortConfig {
  if (value.includes("=")) {
    const kv = Object.fromEntries(value.split(",").map((p) => splitKeyValue(p.trim())));
    for (const k of Object.keys(kv)) {
      if (!["mode", "target", "published", "protocol"].includes(k)) throw new InvalidArgumentError(`unknown field ${JSON.stringify(k)}: use mode, target, published, protocol`);
    }
    const mode = kv["mode"] ?? "ingress";
    if (mode !== "ingress" && mode !== "host") throw new InvalidArgumentError("mode must be ingress or host");
    const out: PortConfig = { Protocol: protocol(kv["protocol"]), TargetPort: port(kv["target"], "target"), PublishMode: mode };
    if (kv["published"] !== undefined) out.PublishedPort = port(kv["published"], "published");
    return out;
  }
  const [ports, proto] = value.split("/", 2) as [string, string | undefined];
  const parts = ports.split(":");
  if (parts.length > 2) throw new InvalidArgumentError("expected published:target[/protocol]");
  const out: PortConfig = { Protocol: protocol(proto), TargetPort: port(parts[parts.length - 1], "target"), PublishMode: "ingress" };
  if (parts.length === 2) out.PublishedPort = port(parts[0], "published");
  return out;
}

export function publishArg(value: string, previous: PortConfig[] = []): PortConfig[] {
  return [...previous, parsePublish(value)];
}

export interface MountFlag {
  Type: "bind" | "volume" | "tmpfs";
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
}

/** `type=bind|volume|tmpfs,source=…,target=…[,readonly]` (src/dst/destination/ro aliases as docker). */
export function mountArg(value: string, previous: MountFlag[] = []): MountFlag[] {
  let type = "volume";
  let source: string | undefined;
  let target: string | undefined;
  let readOnly = false;
  for (const part of value.split(",")) {
    const [k, v] = splitKeyValue(part.trim());
    const key = k.toLowerCase();
    if (key === "type") type = v;
    else if (key === "source" || key === "src") source = v;
    else if (key === "target" || key === "dst" || key === "destination") target = v;
    else if (key === "readonly" || key === "ro") readOnly = !part.includes("=") || ["true", "1"].includes(v.toLowerCase());
    else throw new InvalidArgumentError(`unknown mount field ${JSON.stringify(k)}`);
  }
  if (type !== "bind" && type !== "volume" && type !== "tmpfs") throw new InvalidArgumentError("type must be bind, volume or tmpfs");
  if (target === undefined || target === "") throw new InvalidArgumentError("a mount needs target=");
  if (type === "bind" && (source === undefined || source === "")) throw new InvalidArgumentError("a bind mount needs source=");
  const m: MountFlag = { Type: type, Target: target };
  if (source !== undefined && source !== "") m.Source = source;
  if (readOnly) m.ReadOnly = true;
  return [...previous, m];
}

/** `spread=node.labels.zone` (the only strategy docker has). */
export function placementPrefArg(value: string, previous: string[] = []): string[] {
  const [k, v] = splitKeyValue(value);
  if (k !== "spread" || v === "") throw new InvalidArgumentError("expected spread=<descriptor>, e.g. spread=node.labels.zone");
  return [...previous, v];
}

export interface FileRefFlag {
  source: string;
  target?: string;
  uid: string;
  gid: string;
  mode: number;
}

/** `--secret name` or `source=,target=,uid=,gid=,mode=` (mode octal, as docker). */
export function fileRefArg(value: string, previous: FileRefFlag[] = []): FileRefFlag[] {
  if (!value.includes("=")) {
    if (value.trim() === "") throw new InvalidArgumentError("expected a name");
    return [...previous, { source: value, uid: "0", gid: "0", mode: 0o444 }];
  }
  const ref: FileRefFlag = { source: "", uid: "0", gid: "0", mode: 0o444 };
  for (const part of value.split(",")) {
    const [k, v] = splitKeyValue(part.trim());
    if (k === "source" || k === "src") ref.source = v;
    else if (k === "target") ref.target = v;
    else if (k === "uid") ref.uid = v;
    else if (k === "gid") ref.gid = v;
    else if (k === "mode") {
      if (!/^[0-7]{1,4}$/.test(v)) throw new InvalidArgumentError("mode must be octal, e.g. 0444");
      ref.mode = parseInt(v, 8);
    } else throw new InvalidArgumentError(`unknown field ${JSON.stringify(k)}: use source, target, uid, gid, mode`);
  }
  if (ref.source === "") throw new InvalidArgumentError("expected source=<name>");
  return [...previous, ref];
}
