// A formed swarm on a fresh lab for an end-to-end suite: up (shoald on every host, swarm formed),
// host lookup, the leader as the managers see it, and teardown that checks nothing was left
// behind. Set SHOAL_KEEP_E2E=1 to keep the lab's directory (host logs, state dirs) after the suite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger, sleep } from "@shoal/common";
import { Lab, NO_LEAKS, apiJson, formSwarm, leaks, randomLabId, shoaldCommand, type HostRecord, type LabRecord, type ShoaldOptions } from "@shoal/lab";

export class SwarmLab {
  private constructor(
    readonly lab: Lab,
    readonly rec: LabRecord,
    private readonly root: string,
  ) {}

  static async up(opts: { managers: number; workers: number; shoald: ShoaldOptions }): Promise<SwarmLab> {
    const logger = silentLogger();
    const root = mkdtempSync(join(tmpdir(), "shoal-e2e-"));
    const lab = new Lab({ labId: randomLabId(), root }, { logger });
    try {
      const rec = await lab.up({ managers: opts.managers, workers: opts.workers, command: shoaldCommand(opts.shoald) });
      await formSwarm(rec, { logger });
      return new SwarmLab(lab, rec, root);
    } catch (err) {
      await lab.down().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
      throw err;
    }
  }

  host(name: string): HostRecord {
    const h = this.rec.hosts.find((x) => x.name === name);
    assert.ok(h, `no host ${name}`);
    return h;
  }

  managers(): HostRecord[] {
    return this.rec.hosts.filter((h) => h.role === "manager");
  }

  /** The lab host that leads, as the given managers see it (waits until they agree). */
  async leaderHost(among: HostRecord[] = this.managers(), timeoutMs = 15_000): Promise<HostRecord> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const views = await Promise.all(among.map((m) => apiJson<{ raftId: number; leaderRaftId: number }>(m.apiSocket, "GET", "/shoal/cluster", undefined, 2_000)));
        const lead = views[0]?.leaderRaftId ?? 0;
        if (lead !== 0 && views.every((v) => v.leaderRaftId === lead)) {
          const self = views.find((v) => v.raftId === lead);
          const m = self === undefined ? undefined : among[views.indexOf(self)];
          if (m !== undefined) return m;
        }
      } catch {
        // a manager is still starting
      }
      await sleep(100);
    }
    throw new Error(`no agreed leader among ${among.map((m) => m.name).join(", ")} within ${timeoutMs} ms`);
  }

  async down(): Promise<void> {
    const keep = process.env["SHOAL_KEEP_E2E"] !== undefined;
    await this.lab.down({}, { keepFiles: keep });
    assert.deepEqual(leaks(this.lab.labId), NO_LEAKS, "the lab left something behind");
    if (!keep) rmSync(this.root, { recursive: true, force: true });
  }
}
