import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@shoal/common";
import { formatHostTable, Lab, LabError } from "../src/index.js";
import { isAlive } from "../src/sys/proc.js";
import { leaks, NO_LEAKS, randomLabId } from "../src/leaks.js";

const logger = silentLogger();

function newLab(root: string, labId = randomLabId()): Lab {
  return new Lab({ labId, root }, { logger });
}

/** True if `from` gets an ICMP echo reply from `to` within 5 s (ARP may need a retry after heal). */
async function pings(lab: Lab, from: string, to: string): Promise<boolean> {
  const r = await lab.exec(from, ["ping", "-c", "1", "-w", "5", to], { timeoutMs: 15_000 });
  return r.code === 0;
}

/** True if `from` gets no reply from `to` during 2 s of pinging. */
async function blocked(lab: Lab, from: string, to: string): Promise<boolean> {
  const r = await lab.exec(from, ["ping", "-c", "4", "-i", "0.4", "-w", "2", to], { timeoutMs: 15_000 });
  return r.code !== 0 && !/bytes from/.test(r.stdout);
}

describe("lab (network-namespace hosts)", function () {
  this.timeout(120_000);
  let root: string;
  const used: string[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), "shoal-lab-test-"));
  });

  after(() => {
    for (const id of used) assert.deepEqual(leaks(id), NO_LEAKS, `lab ${id} left something behind`);
    rmSync(root, { recursive: true, force: true });
  });

  describe("a lab of two managers and a worker", () => {
    let lab: Lab;
    let addr: Record<string, string>;

    before(async () => {
      lab = newLab(root);
      used.push(lab.labId);
      const rec = await lab.up({ managers: 2, workers: 1 });
      addr = Object.fromEntries(rec.hosts.map((h) => [h.name, h.address]));
    });

    after(async () => {
      await lab.down();
    });

    it("gives every host a lab address the other hosts can ping", async () => {
      assert.deepEqual(addr, { manager1: "10.99.0.1", manager2: "10.99.0.2", worker1: "10.99.0.3" });
      assert.equal(await pings(lab, "manager1", addr["worker1"]!), true);
      assert.equal(await pings(lab, "worker1", addr["manager1"]!), true);
    });

    it("sets each host's hostname to its lab name", async () => {
      for (const name of ["manager1", "worker1"]) {
        const r = await lab.exec(name, ["hostname"]);
        assert.equal(r.stdout.trim(), name);
      }
      assert.notEqual(readFileSync("/proc/sys/kernel/hostname", "utf8").trim(), "manager1");
    });

    it("gives each host its own fresh /run and its own PID space with the command as PID 1", async () => {
      await lab.exec("manager1", ["sh", "-c", "echo x > /run/only-manager1"]);
      assert.equal((await lab.exec("manager1", ["cat", "/run/only-manager1"])).code, 0);
      assert.notEqual((await lab.exec("worker1", ["cat", "/run/only-manager1"])).code, 0);
      assert.equal(existsSync("/run/only-manager1"), false);
      const comm = await lab.exec("worker1", ["cat", "/proc/1/cmdline"]);
      assert.equal(comm.stdout.split("\0").slice(0, 2).join(" "), "sleep infinity");
    });

    it("exec propagates the command's exit code and output", async () => {
      const r = await lab.exec("manager2", ["sh", "-c", "echo out; echo err >&2; exit 7"]);
      assert.equal(r.code, 7);
      assert.equal(r.stdout, "out\n");
      assert.equal(r.stderr, "err\n");
      assert.equal((await lab.exec("manager2", ["true"])).code, 0);
    });

    it("ls lists a header, then one running host per line with name, role, address, pid, state", async () => {
      const status = await lab.status();
      const lines = formatHostTable(status).trimEnd().split("\n");
      assert.deepEqual(lines[0]!.split(/\s+/), ["NAME", "ROLE", "ADDRESS", "PID", "STATE"]);
      assert.equal(lines.length, 4);
      const row = lines[3]!.split(/\s+/);
      assert.deepEqual([row[0], row[1], row[2], row[4]], ["worker1", "worker", "10.99.0.3", "running"]);
      assert.equal(Number(row[3]), status[2]!.pid);
    });

    it("env points SHOAL_HOST and DOCKER_HOST at the host's socket in the lab dir", async () => {
      const sock = join(lab.dir, "worker1", "api.sock");
      assert.equal(await lab.envLine("worker1"), `export SHOAL_HOST=unix://${sock} DOCKER_HOST=unix://${sock}`);
      await assert.rejects(lab.envLine("nosuch"), (e: unknown) => e instanceof LabError && e.code === "LAB_UNKNOWN_HOST");
    });

    it("kill takes the whole host down by its PID 1, and start brings it back with a new one", async () => {
      const before = (await lab.status()).find((h) => h.name === "worker1")!;
      const rec = await lab.record();
      const old = rec.hosts.find((h) => h.name === "worker1")!;
      await lab.kill("worker1");
      assert.equal(isAlive({ pid: old.pid!, start: old.pidStart! }), false);
      assert.equal(isAlive({ pid: old.launcherPid!, start: old.launcherStart! }), false);
      const down = (await lab.status()).find((h) => h.name === "worker1")!;
      assert.equal(down.state, "down");
      assert.equal(down.pid, undefined);
      await assert.rejects(lab.exec("worker1", ["true"]), (e: unknown) => e instanceof LabError && e.code === "LAB_HOST_DOWN");
      await assert.rejects(lab.kill("worker1"), (e: unknown) => e instanceof LabError && e.code === "LAB_HOST_DOWN");

      await lab.start("worker1");
      const up = (await lab.status()).find((h) => h.name === "worker1")!;
      assert.equal(up.state, "running");
      assert.notEqual(up.pid, before.pid);
      assert.equal((await lab.exec("worker1", ["hostname"])).stdout.trim(), "worker1");
      assert.equal(await pings(lab, "worker1", addr["manager1"]!), true);
      await assert.rejects(lab.start("worker1"), (e: unknown) => e instanceof LabError && e.code === "LAB_HOST_RUNNING");
    });

    it("a second up of the same lab is refused and leaves the running lab alone", async () => {
      await assert.rejects(lab.up({ managers: 1, workers: 0 }), (e: unknown) => e instanceof LabError && e.code === "LAB_EXISTS");
      assert.deepEqual(
        (await lab.status()).map((h) => h.state),
        ["running", "running", "running"],
      );
      assert.equal(await pings(lab, "manager1", addr["manager2"]!), true);
    });

    it("partition blocks traffic between groups but not within one, and heal restores it", async () => {
      await lab.partition(["manager2", "worker1"]);
      assert.equal(await blocked(lab, "manager1", addr["manager2"]!), true);
      assert.equal(await blocked(lab, "worker1", addr["manager1"]!), true);
      assert.equal(await pings(lab, "manager2", addr["worker1"]!), true);

      await lab.heal();
      assert.equal(await pings(lab, "manager1", addr["manager2"]!), true);
      assert.equal(await pings(lab, "worker1", addr["manager1"]!), true);
      assert.deepEqual(
        (await lab.status()).map((h) => h.group),
        [0, 0, 0],
      );
    });
  });

  it("down removes namespaces, links, mounts, processes and the state dir, and is idempotent", async () => {
    const lab = newLab(root);
    used.push(lab.labId);
    try {
      await lab.up({ managers: 1, workers: 1 });
      const rec = await lab.record();
      // The leak check must see a live lab, or its "nothing left" below proves nothing.
      const live = leaks(lab.labId);
      assert.equal(live.netns.length, 3);
      assert.equal(live.mounts.length, 3);
      assert.equal(live.processes.length >= 2, true);
      await lab.down();
      assert.deepEqual(leaks(lab.labId), NO_LEAKS);
      for (const h of rec.hosts) assert.equal(isAlive({ pid: h.pid!, start: h.pidStart! }), false);
      assert.equal(existsSync(lab.dir), false);
      await lab.down();
      await assert.rejects(lab.status(), (e: unknown) => e instanceof LabError && e.code === "LAB_NOT_FOUND");
    } finally {
      await lab.down();
    }
  });

  it("down cleans up a half-made lab from its name prefix even without a record", async () => {
    const lab = newLab(root);
    used.push(lab.labId);
    try {
      await lab.up({ managers: 1, workers: 0 });
      rmSync(join(lab.dir, "lab.json"));
      await lab.down();
      assert.deepEqual(leaks(lab.labId), NO_LEAKS);
    } finally {
      await lab.down();
    }
  });

  it("a failing up (one host's command does not exist) removes everything it made", async () => {
    const lab = newLab(root);
    used.push(lab.labId);
    try {
      await assert.rejects(
        lab.up({ managers: 1, workers: 1, command: (h) => (h.role === "worker" ? ["/nonexistent/shoald"] : ["sleep", "infinity"]) }),
        (e: unknown) => e instanceof LabError && e.code === "LAB_HOST_START_FAILED" && /worker1.*command not found/.test(e.message),
      );
      assert.deepEqual(leaks(lab.labId), NO_LEAKS);
      assert.equal(existsSync(lab.dir), false);
    } finally {
      await lab.down();
    }
  });

  it("a failing up (the command exits at once) removes everything it made", async () => {
    const lab = newLab(root);
    used.push(lab.labId);
    try {
      await assert.rejects(
        lab.up({ managers: 2, workers: 0, command: () => ["sh", "-c", "echo bad flag >&2; exit 2"] }),
        (e: unknown) => e instanceof LabError && e.code === "LAB_HOST_START_FAILED" && /bad flag/.test(e.message),
      );
      assert.deepEqual(leaks(lab.labId), NO_LEAKS);
    } finally {
      await lab.down();
    }
  });

  it("refuses bad input before making anything", async () => {
    assert.throws(() => new Lab({ labId: "Bad-Id", root }, { logger }), (e: unknown) => e instanceof LabError && e.code === "LAB_BAD_ARGS");
    assert.throws(() => new Lab({ labId: "x", dir: "/run/shoal-lab/x" }, { logger }), /under \/run/);
    const lab = newLab(root);
    used.push(lab.labId);
    await assert.rejects(lab.up({ managers: 0, workers: 0 }), (e: unknown) => e instanceof LabError && e.code === "LAB_BAD_ARGS");
    await assert.rejects(lab.up({ managers: 1, workers: 0, subnet: "10.99.0.0/16" }), /a\.b\.c\.0\/24/);
    assert.equal(existsSync(lab.dir), false);
  });
});
