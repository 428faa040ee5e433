// What a node reports about itself (NodeDescription): hostname, platform, CPUs and memory, the
// engine version and labels, and the task runtime it runs tasks with, if any (an engine plugin of
// type Runtime). Read from the OS once per session.
import { arch, cpus, hostname as osHostname, platform, totalmem } from "node:os";
import { runtimePlugin, type NodeDescription } from "@shoal/store";

export const SHOAL_VERSION = "0.1.0";

export function goArch(a: string = arch()): string {
  return a === "x64" ? "x86_64" : a === "arm64" ? "aarch64" : a;
}

export interface DescribeOptions {
  hostname?: string;
  labels?: Record<string, string>;
  /** What runs this node's tasks (its executor); none: the node runs no tasks and is given none. */
  runtime?: string;
}

export function describeNode(opts: DescribeOptions = {}): NodeDescription {
  const engine: NonNullable<NodeDescription["engine"]> = { engineVersion: SHOAL_VERSION, labels: opts.labels ?? {} };
  if (opts.runtime !== undefined) engine.plugins = [runtimePlugin(opts.runtime)];
  return {
    hostname: opts.hostname ?? osHostname(),
    platform: { architecture: goArch(), os: platform() },
    resources: { nanoCpus: cpus().length * 1e9, memoryBytes: totalmem() },
    engine,
  };
}
