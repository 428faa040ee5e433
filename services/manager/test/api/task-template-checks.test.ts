import assert from "node:assert/strict";
import { MountType, type Mount } from "@shoal/store";
import { checkEnv, checkHealthcheck, checkMounts, checkResources } from "../../src/api/task-template-checks.js";

const refused = (fn: () => void, message: RegExp): void => assert.throws(fn, (e: Error & { code?: string }) => e.code === "API_INVALID" && message.test(e.message));

describe("task template checks (mounts and resources a task can start with)", () => {
  it("takes bind, volume and tmpfs mounts as the runtime can make them", () => {
    checkMounts([
      { type: MountType.BIND, source: "/srv/data", target: "/data", readOnly: true },
      { type: MountType.VOLUME, source: "cache_1.v2", target: "/cache" },
      { type: MountType.VOLUME, target: "/anon" },
      { type: MountType.TMPFS, target: "/tmp" },
    ]);
    checkMounts(undefined);
  });

  it("refuses a mount the runtime could never make, naming it", () => {
    const m = (over: Partial<Mount>): Mount[] => [{ type: MountType.TMPFS, target: "/t", ...over }];
    refused(() => checkMounts(m({ target: "relative" })), /^invalid TaskTemplate\.ContainerSpec\.Mounts: mount target "relative" must be an absolute path in the container$/);
    refused(() => checkMounts([...m({}), { type: MountType.VOLUME, source: "v", target: "/t/" }]), /: \/t is mounted more than once$/);
    refused(() => checkMounts(m({ type: MountType.BIND })), /the bind mount at \/t needs a Source: an absolute path on the node/);
    refused(() => checkMounts(m({ type: MountType.BIND, source: "data" })), /has Source "data", which is not an absolute path on the node/);
    refused(() => checkMounts(m({ type: MountType.VOLUME, source: "/srv/x" })), /volume name "\/srv\/x" .* for a path on the node use a bind mount/);
    refused(() => checkMounts(m({ source: "x" })), /the tmpfs mount at \/t takes no Source/);
    refused(() => checkMounts(m({ type: MountType.NPIPE, source: "x" })), /npipe is Windows-only/);
  });

  it("refuses a CPU or memory limit or reservation no task can run under (swarm's minimums); 0 is none", () => {
    checkResources({ limits: { nanoCpus: 1_000_000, memoryBytes: 4 * 1024 * 1024 }, reservations: { nanoCpus: 0, memoryBytes: 0 } });
    checkResources(undefined);
    refused(() => checkResources({ limits: { nanoCpus: 10 } }), /^invalid TaskTemplate\.Resources\.Limits\.NanoCPUs 10: at least 1000000 \(0\.001 CPU\), or 0 for none$/);
    refused(() => checkResources({ reservations: { memoryBytes: 1000 } }), /^invalid TaskTemplate\.Resources\.Reservations\.MemoryBytes 1000: at least 4194304 \(4MiB\)/);
  });

  it("takes the health checks docker makes, and refuses an unknown kind or a duration under 1ms", () => {
    for (const test of [[], ["NONE"], ["CMD", "/bin/check", "-q"], ["CMD-SHELL", "curl -f localhost || exit 1"]]) checkHealthcheck({ test, intervalNs: 5e9, timeoutNs: 0 });
    checkHealthcheck(undefined);
    refused(() => checkHealthcheck({ test: ["BOGUS", "x"] }), /^invalid TaskTemplate\.ContainerSpec\.Healthcheck: Test must start with "NONE", "CMD" or "CMD-SHELL", not "BOGUS"$/);
    refused(() => checkHealthcheck({ test: ["CMD"] }), /needs the program to run/);
    refused(() => checkHealthcheck({ test: ["CMD-SHELL", "a", "b"] }), /takes exactly one command line/);
    refused(() => checkHealthcheck({ test: ["NONE", "x"] }), /takes nothing after NONE/);
    refused(() => checkHealthcheck({ intervalNs: 5 }), /Interval 5ns is shorter than 1ms \(0 means the default\)$/);
    refused(() => checkHealthcheck({ startPeriodNs: 999_999 }), /StartPeriod 999999ns/);
  });

  it("refuses an environment entry that names no variable", () => {
    checkEnv(["A=1", "B=", "PASSED_THROUGH"]);
    checkEnv(undefined);
    refused(() => checkEnv(["A=1", "=x"]), /^invalid TaskTemplate\.ContainerSpec\.Env: "=x" names no variable \(NAME=value\)$/);
    refused(() => checkEnv([""]), /"" names no variable/);
  });
});
