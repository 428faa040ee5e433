import assert from "node:assert/strict";
import { NodeRole } from "@shoal/store";
import { SchedulerError, matchesConstraints, parseConstraint, parseConstraints, parseSpreadDescriptor, unmetConstraint } from "../../src/scheduler/index.js";
import { makeNode } from "./fixtures.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SchedulerError ? err.code : "not a SchedulerError";
  }
  return undefined;
}

describe("scheduler: placement constraints", () => {
  const worker = makeNode("node-1", {
    hostname: "alpha",
    labels: { zone: "eu", Disk: "SSD" },
    engineLabels: { storage: "fast" },
    platform: { os: "linux", architecture: "x86_64" },
  });
  const manager = makeNode("node-2", { hostname: "beta", role: NodeRole.MANAGER });

  it("parses every supported key, tolerating whitespace around the operator", () => {
    const list = parseConstraints([
      "node.id==node-1",
      " node.hostname != beta ",
      "node.role==worker",
      "node.platform.os==linux",
      "node.platform.arch==x86_64",
      "node.labels.zone == eu",
      "engine.labels.storage==fast",
    ]);
    assert.deepEqual(
      list.map((c) => c.text),
      ["node.id==node-1", "node.hostname!=beta", "node.role==worker", "node.platform.os==linux", "node.platform.arch==x86_64", "node.labels.zone==eu", "engine.labels.storage==fast"],
    );
    assert.equal(matchesConstraints(worker, list), true);
    assert.equal(matchesConstraints(manager, list), false);
  });

  it("names the first unmet constraint as the reason a node does not match", () => {
    const list = parseConstraints(["node.role==worker", "node.labels.zone==us"]);
    assert.equal(unmetConstraint(worker, list)?.text, "node.labels.zone==us");
    assert.equal(unmetConstraint(manager, list)?.text, "node.role==worker");
  });

  it("compares values case-insensitively, label names case-sensitively, key prefixes case-insensitively", () => {
    assert.equal(matchesConstraints(worker, parseConstraints(["NODE.LABELS.Disk==ssd"])), true);
    assert.equal(matchesConstraints(worker, parseConstraints(["node.labels.disk==ssd"])), false);
    assert.equal(matchesConstraints(worker, parseConstraints(["node.hostname==ALPHA"])), true);
  });

  it("reads a missing label as empty: != holds and == fails on a node without it", () => {
    assert.equal(matchesConstraints(manager, parseConstraints(["node.labels.zone!=eu"])), true);
    assert.equal(matchesConstraints(manager, parseConstraints(["node.labels.zone==eu"])), false);
  });

  it("refuses malformed constraints with SCHEDULER_CONSTRAINT_INVALID naming the constraint", () => {
    for (const bad of ["node.labels.zone=eu", "node.labels.zone==", "==eu", "node.color==red", "node.role==boss", "node.labels.==x", "node.labels.a==b==c"]) {
      assert.equal(codeOf(() => parseConstraint(bad)), "SCHEDULER_CONSTRAINT_INVALID", bad);
    }
    assert.throws(() => parseConstraints(["node.role==worker", "node.zone==eu"]), /invalid constraint "node\.zone==eu": unknown key node\.zone/);
  });

  it("accepts spread descriptors over node and engine labels only", () => {
    assert.deepEqual(parseSpreadDescriptor("node.labels.zone"), { kind: "nodeLabel", label: "zone" });
    assert.deepEqual(parseSpreadDescriptor("engine.labels.az"), { kind: "engineLabel", label: "az" });
    assert.equal(codeOf(() => parseSpreadDescriptor("node.hostname")), "SCHEDULER_PREFERENCE_INVALID");
  });
});
