// The lab's memory: one JSON file listing everything the lab made or was about to make. Every
// namespace is written here *before* it is created, so `down` can always undo a half-made lab,
// even one whose `up` process was killed. Written atomically (temp file + rename).
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type HostRole = "manager" | "worker";

export interface HostRecord {
  name: string;
  role: HostRole;
  /** Lab-subnet address without prefix length. */
  address: string;
  prefixLength: number;
  netns: string;
  /** Interface name inside the host namespace. */
  hostIf: string;
  /** The veth end inside the switch namespace, attached to a bridge. */
  switchPort: string;
  dir: string;
  apiSocket: string;
  argv: string[];
  env: Record<string, string>;
  /** 0 = the main bridge; n > 0 = partition group n (its own bridge). */
  group: number;
  pid?: number;
  pidStart?: string;
  launcherPid?: number;
  launcherStart?: string;
}

export interface LabRecord {
  version: 1;
  labId: string;
  dir: string;
  subnet: string;
  switchNs: string;
  bridge: string;
  createdAt: string;
  /** Namespaces this lab made (or was about to make), in creation order. */
  netns: string[];
  hosts: HostRecord[];
}

export function recordPath(dir: string): string {
  return join(dir, "lab.json");
}

export async function readRecord(dir: string): Promise<LabRecord | undefined> {
  let text: string;
  try {
    text = await readFile(recordPath(dir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return JSON.parse(text) as LabRecord;
}

export async function writeRecord(rec: LabRecord): Promise<void> {
  await mkdir(rec.dir, { recursive: true });
  const tmp = `${recordPath(rec.dir)}.tmp`;
  await writeFile(tmp, JSON.stringify(rec, null, 2) + "\n");
  await rename(tmp, recordPath(rec.dir));
}
