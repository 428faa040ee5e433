// What a node reports about itself (NodeDescription): hostname, platform, CPUs and memory, the
// engine version and labels. Read from the OS once per session.
import { arch, cpus, hostname as osHostname, platform, totalmem } from "node:os";
import type { NodeDescription } from "@shoal/store";

export const SHOAL_VERSION = "0.1.0";

export function goArch(a: string = arch()): string {
  return a === "x64" ? "x86_64" : a === "arm64" ? "aarch64" : a;
}

export function describeNode(opts: { hostname?: string; labels?: Record<string, string> } = {}): NodeDescription {
  return {
    hostname: opts.hostname ?? osHostname(),
    platform: { architecture: goArch(), os: platform() },
    resources: { nanoCpus: cpus().length * 1e9, memoryBytes: totalmem() },
    engine: { engineVersion: SHOAL_VERSION, labels: opts.labels ?? {} },
  };
}
