// Process identity through /proc. A PID alone can be reused after its process dies, so the lab
// records (pid, start time) and only ever signals a PID whose start time still matches.
import { readFileSync } from "node:fs";

export interface ProcId {
  pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
  start: string;
}

function stat(pid: number): { state: string; start: string; ppid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses; the fields after the last ')' are fixed.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = rest[0] ?? "?";
  const ppid = Number(rest[1]);
  const start = rest[19] ?? "";
  return { state, start, ppid };
}

export function procId(pid: number): ProcId | undefined {
  const s = stat(pid);
  return s === undefined ? undefined : { pid, start: s.start };
}

/** True while the process exists, is not a zombie, and is the same process that was recorded. */
export function isAlive(id: ProcId | undefined): boolean {
  if (id === undefined) return false;
  const s = stat(id.pid);
  return s !== undefined && s.state !== "Z" && s.state !== "X" && s.start === id.start;
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** SIGKILL a recorded process if it is still that process. Returns whether a signal was sent. */
export function killIfSame(id: ProcId | undefined): boolean {
  if (!isAlive(id) || id === undefined) return false;
  try {
    process.kill(id.pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}
