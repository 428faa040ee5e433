import assert from "node:assert/strict";
import { busiestThreadSeconds, parseProcStatCpuSeconds, processCpuSeconds, threadCpuSeconds } from "../../src/bench/proc-cpu.js";

describe("bench: process CPU from /proc", () => {
  it("reads utime + stime (fields 14 and 15) in seconds, counting fields after the command name", () => {
    // A command name with a space and a parenthesis must not shift the fields.
    const line = "4242 (node (kv) x) S 1 4242 4242 0 -1 4194304 2000 0 0 0 250 75 0 0 20 0 11 0 100 0 0";
    assert.equal(parseProcStatCpuSeconds(line), 3.25);
  });

  it("refuses text that is not a stat line", () => {
    assert.throws(() => parseProcStatCpuSeconds("no parentheses here"), /no command name/);
    assert.throws(() => parseProcStatCpuSeconds("1 (x) S 1 2"), /bad utime\/stime/);
  });

  it("reads this process's own CPU, which only grows", () => {
    const a = processCpuSeconds(process.pid);
    assert.ok(a !== undefined && a >= 0);
    const end = Date.now() + 30;
    while (Date.now() < end) {
      // burn a little CPU
    }
    const b = processCpuSeconds(process.pid)!;
    assert.ok(b >= a);
    assert.equal(processCpuSeconds(2 ** 30), undefined);
  });

  it("reads each thread's CPU, the main thread's id being the process id", () => {
    const threads = threadCpuSeconds(process.pid);
    assert.ok(threads !== undefined && threads.has(process.pid));
    const sum = [...threads.values()].reduce((a, b) => a + b, 0);
    // Threads that ended are in the process's total and in no thread's line.
    assert.ok(sum <= processCpuSeconds(process.pid)! + 0.02);
    assert.equal(threadCpuSeconds(2 ** 30), undefined);
  });

  it("takes the busiest thread between two readings, a thread born in between counting from 0", () => {
    const before = new Map([
      [10, 5.0],
      [11, 1.0],
    ]);
    const after = new Map([
      [10, 5.25],
      [11, 1.5],
      [12, 0.75],
    ]);
    assert.equal(busiestThreadSeconds(before, after), 0.75);
    after.delete(12);
    assert.equal(busiestThreadSeconds(before, after), 0.5);
    assert.equal(busiestThreadSeconds(before, new Map()), 0);
  });
});
