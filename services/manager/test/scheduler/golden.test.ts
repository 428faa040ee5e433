// Golden scheduler decisions: every services/manager/testdata/scheduler/*.txt script sets up nodes
// and tasks and runs `schedule`; the decisions printed must equal the block checked in after its
// `----`. SHOAL_REWRITE=1 rewrites the blocks with what the code decided (review every diff: a
// changed decision is a behaviour change). The format is in testdata/scheduler/README.md.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NodeAvailability, NodeRole, NodeState, TaskState, copyObject, type Platform, type Task } from "@shoal/store";
import { SchedulerState, scheduleBatch } from "../../src/scheduler/index.js";
import { makeNode, makeTask, type NodeOpts, type TaskOpts } from "./fixtures.js";

// dist/test/scheduler -> services/manager/testdata/scheduler
const testdata = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "testdata", "scheduler");

const NOW_START_MS = 1_800_000_000_000;

function bytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(v);
  if (m === null) throw new Error(`bad size ${v}`);
  const unit = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G"];
  return Number(m[1]) * unit;
}

function pairs(v: string): Record<string, string> {
  return Object.fromEntries(v.split(",").map((kv) => kv.split(":") as [string, string]));
}

function enumValue<E extends Record<string, string | number>>(e: E, v: string): E[keyof E] {
  const x = e[v.toUpperCase() as keyof E];
  if (x === undefined) throw new Error(`unknown value ${v}`);
  return x;
}

function nodeOpts(kv: Map<string, string>): NodeOpts {
  const o: NodeOpts = {};
  const platform: Platform = { os: "linux", architecture: "amd64" };
  for (const [k, v] of kv) {
    if (k === "hostname") o.hostname = v;
    else if (k === "role") o.role = enumValue(NodeRole, v);
    else if (k === "state") o.state = enumValue(NodeState, v);
    else if (k === "availability") o.availability = enumValue(NodeAvailability, v);
    else if (k === "cpus") o.nanoCpus = Number(v) * 1e9;
    else if (k === "memory") o.memoryBytes = bytes(v);
    else if (k === "generic") o.generic = Object.fromEntries(Object.entries(pairs(v)).map(([g, n]) => [g, Number(n)]));
    else if (k === "named") o.named = v.split(",").map((kn) => kn.split(":") as [string, string]);
    else if (k === "os") platform.os = v;
    else if (k === "arch") platform.architecture = v;
    else if (k === "labels") o.labels = pairs(v);
    else if (k === "engine-labels") o.engineLabels = pairs(v);
    else if (k === "runtime") o.runtime = v === "none" ? null : v;
    else throw new Error(`unknown node option ${k}`);
  }
  o.platform = platform;
  return o;
}

function taskOpts(kv: Map<string, string>): TaskOpts {
  const o: TaskOpts = {};
  for (const [k, v] of kv) {
    if (k === "cpus") o.nanoCpus = Number(v) * 1e9;
    else if (k === "memory") o.memoryBytes = bytes(v);
    else if (k === "generic") o.generic = Object.fromEntries(Object.entries(pairs(v)).map(([g, n]) => [g, Number(n)]));
    else if (k === "constraints") o.constraints = v.split(";");
    else if (k === "spread") o.spread = v.split(",");
    else if (k === "max-replicas") o.maxReplicas = Number(v);
    else if (k === "platforms") o.platforms = v.split(",").map((p) => ({ os: p.split("/")[0]!, architecture: p.split("/")[1] ?? "" }));
    else if (k === "host-ports") o.hostPorts = v.split(",").map(Number);
    else if (k === "node") o.nodeId = v;
    else if (k === "named") o.named = v.split(",").map((kn) => kn.split(":") as [string, string]);
    else if (k === "desired") o.desiredState = enumValue(TaskState, v);
    else if (k !== "ago") throw new Error(`unknown task option ${k}`);
  }
  return o;
}

/** One script's world: the scheduler state plus the tasks still pending. */
class GoldenEnv {
  private readonly state = new SchedulerState();
  private readonly pending: Task[] = [];
  private readonly perService = new Map<string, number>();
  private nowMs = NOW_START_MS;

  run(words: string[], kv: Map<string, string>): string[] {
    const [cmd, ...args] = words;
    switch (cmd) {
      case "node":
        this.state.setNode(makeNode(args[0]!, nodeOpts(kv)));
        return [];
      case "remove-node":
        this.state.removeNode(args[0]!);
        return [];
      case "tasks":
      case "running":
      case "fail": {
        const count = cmd === "fail" ? 1 : Number(args[1] ?? 1);
        const o = taskOpts(kv);
        if (cmd === "running") o.state = TaskState.RUNNING;
        if (cmd === "fail") {
          o.state = TaskState.FAILED;
          o.timestampMs = this.nowMs - Number(kv.get("ago") ?? 0) * 1000;
        }
        for (let i = 0; i < count; i++) {
          const t = makeTask(this.nextName(args[0]!), args[0]!, o);
          if (cmd === "tasks") this.pending.push(t);
          else this.state.setTask(t);
        }
        return [];
      }
      case "advance":
        this.nowMs += Number(args[0]) * 1000;
        return [];
      case "schedule":
        return this.schedule();
      default:
        throw new Error(`unknown command ${String(cmd)}`);
    }
  }

  private nextName(service: string): string {
    const n = (this.perService.get(service) ?? 0) + 1;
    this.perService.set(service, n);
    return `${service}.${n}`;
  }

  private schedule(): string[] {
    const d = scheduleBatch(this.state, this.pending, this.nowMs);
    const byNode = new Map<string, string[]>();
    for (const a of d.assignments) {
      const generic = (a.genericResources ?? []).map((g) => (g.named !== undefined ? `${g.kind}=${g.named}` : `${g.kind}*${g.discrete}`));
      byNode.set(a.nodeId, [...(byNode.get(a.nodeId) ?? []), generic.length === 0 ? a.taskId : `${a.taskId}[${generic.join(",")}]`]);
    }
    const byMessage = new Map<string, string[]>();
    for (const u of d.unschedulable) byMessage.set(u.message, [...(byMessage.get(u.message) ?? []), u.taskId]);
    const assigned = new Map(d.assignments.map((a) => [a.taskId, a]));
    const left = this.pending.filter((t) => !assigned.has(t.id));
    for (const t of this.pending) {
      const a = assigned.get(t.id);
      if (a === undefined) continue;
      const next = copyObject(t);
      next.nodeId = a.nodeId;
      next.status = { ...next.status, state: TaskState.ASSIGNED };
      if (a.genericResources !== undefined) next.assignedGenericResources = a.genericResources;
      this.state.setTask(next);
    }
    this.pending.splice(0, this.pending.length, ...left);
    const out = [...byNode].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, ts]) => `${n} <- ${ts.join(" ")}`);
    for (const [m, ts] of byMessage) out.push(`unschedulable ${ts.join(" ")}: ${m}`);
    return out.length === 0 ? ["nothing to schedule"] : out;
  }
}

interface Step {
  /** Comment, blank and command lines before the checked command, kept verbatim. */
  lines: string[];
  words: string[];
  kv: Map<string, string>;
  expected?: string[];
}

function splitCommand(line: string): { words: string[]; kv: Map<string, string> } {
  const words: string[] = [];
  const kv = new Map<string, string>();
  for (const w of line.trim().split(/\s+/)) {
    // Only the first '=' separates an option: constraints=node.labels.zone==eu.
    const eq = w.indexOf("=");
    if (eq > 0) kv.set(w.slice(0, eq), w.slice(eq + 1));
    else words.push(w);
  }
  return { words, kv };
}

function parse(text: string): Step[] {
  const lines = text.replace(/\n$/, "").split("\n");
  const steps: Step[] = [];
  let kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    kept.push(line);
    if (line.trim() === "" || line.startsWith("#")) continue;
    const step: Step = { lines: kept, ...splitCommand(line) };
    kept = [];
    if (lines[i + 1] === "----") {
      step.expected = [];
      i += 2;
      while (i < lines.length && lines[i]!.trim() !== "") step.expected.push(lines[i++]!);
      i--;
    }
    steps.push(step);
  }
  if (kept.length > 0) steps.push({ lines: kept, words: [], kv: new Map() });
  return steps;
}

const files = readdirSync(testdata)
  .filter((f) => f.endsWith(".txt"))
  .sort();

describe("scheduler: golden decisions (testdata/scheduler/*.txt)", () => {
  it("finds the scripts", () => {
    assert.ok(files.length >= 8, `only ${files.length} scripts in ${testdata}`);
  });

  for (const file of files) {
    it(`${file} decides as checked in`, () => {
      const path = join(testdata, file);
      const steps = parse(readFileSync(path, "utf8"));
      const env = new GoldenEnv();
      const out: string[] = [];
      for (const s of steps) {
        out.push(...s.lines);
        if (s.words.length === 0) continue;
        const got = env.run(s.words, s.kv);
        if (s.expected === undefined) {
          assert.deepEqual(got, [], `${file}: "${s.lines.at(-1)}" prints output: add a ---- block`);
          continue;
        }
        out.push("----", ...got);
        if (process.env["SHOAL_REWRITE"] !== "1") assert.deepEqual(got, s.expected, `${file}: decisions of "${s.lines.at(-1)}" differ`);
      }
      if (process.env["SHOAL_REWRITE"] === "1") writeFileSync(path, out.join("\n") + "\n");
    });
  }
});
