// What a lab may leave behind (tests and drills check it after down), looked up independently of the lab's own record: namespaces and
// mounts by the lab's name prefix, root-namespace links named shl-*, and processes by the
// SHOAL_LAB=<labId> variable every host process carries.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface Leaks {
  netns: string[];
  rootLinks: string[];
  mounts: string[];
  processes: number[];
}

export function leaks(labId: string): Leaks {
  const prefix = `shl-${labId}-`;
  const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(prefix));
  const rootLinks = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n.startsWith("shl-"));
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(prefix));
  const processes: number[] = [];
  const marker = `SHOAL_LAB=${labId}\0`;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, "latin1").split("\0").includes(marker.slice(0, -1))) processes.push(Number(d));
    } catch {
      // The process ended while we looked.
    }
  }
  return { netns, rootLinks, mounts, processes };
}

export const NO_LEAKS: Leaks = { netns: [], rootLinks: [], mounts: [], processes: [] };

export function randomLabId(): string {
  return `t${Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, "0")}`;
}
