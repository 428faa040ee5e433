// CPU time of processes, read from /proc: what the benchmark divides by puts to compare how much
// work each system's members do per put. A process's line in /proc/<pid>/stat counts all its
// threads (Node's libuv pool and V8's helpers, Go's Ms), which is the fair unit for both.
import { readdirSync, readFileSync } from "node:fs";

/** /proc's clock tick (USER_HZ): fixed at 100 in Linux's user-space ABI. */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU seconds from the text of /proc/<pid>/stat. The command name (field 2) is
 * in parentheses and may hold spaces or parentheses itself, so fields are counted from its last
 * ")": utime and stime are fields 14 and 15.
 */
export function parseProcStatCpuSeconds(stat: string): number {
  const close = stat.lastIndexOf(")");
  if (close < 0) throw new Error("not a /proc/<pid>/stat line: no command name");
  // After ") " come field 3 (state) onwards; utime is field 14, so index 11 here.
  const fields = stat.slice(close + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) throw new Error("not a /proc/<pid>/stat line: bad utime/stime");
  return (utime + stime) / TICKS_PER_SECOND;
}

/** CPU seconds process `pid` has used so far, or undefined if it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return parseProcStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds each thread of process `pid` has used so far, by thread id (from
 * /proc/<pid>/task/<tid>/stat), or undefined if the process is gone. A thread that ends between
 * the listing and its read is left out.
 */
export function threadCpuSeconds(pid: number): Map<number, number> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<number, number>();
  for (const tid of tids) {
    try {
      out.set(Number(tid), parseProcStatCpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")));
    } catch {
      // The thread ended.
    }
  }
  return out;
}

/**
 * The most CPU any one thread used between two readings of threadCpuSeconds (threads born in
 * between count from 0). For a Node.js process this is its main thread, which does nearly all of
 * its work; Go spreads a process's work over threads that can run at once.
 */
export function busiestThreadSeconds(before: Map<number, number>, after: Map<number, number>): number {
  let most = 0;
  for (const [tid, s] of after) most = Math.max(most, s - (before.get(tid) ?? 0));
  return most;
}
