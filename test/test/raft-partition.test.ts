import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger, sleep } from "@shoal/common";
import { Lab, leaks, NO_LEAKS, randomLabId } from "@shoal/lab";

const PROBE = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "probe", "raft-peer-probe.js");
const PORT = 7390;
/** Longer than a keepalive ping's interval and timeout together (services/raft/src/transport/peer.ts). */
const CUT_MS = 6_000;

interface Events {
  first?: number;
  unreachable: number[];
  resumed: number[];
}

function events(dir: string): Events {
  const ev: Events = { unreachable: [], resumed: [] };
  let text = "";
  try {
    text = readFileSync(join(dir, "host.log"), "utf8");
  } catch {
    return ev;
  }
  for (const line of text.split("\n")) {
    const [kind, at] = line.split(" ");
    const t = Number(at);
    if (kind === "first") ev.first ??= t;
    else if (kind === "unreachable") ev.unreachable.push(t);
    else if (kind === "resumed") ev.resumed.push(t);
  }
  return ev;
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("raft transport across a network partition (two lab hosts)", function () {
  this.timeout(120_000);

  it("a member cut off from its peer reports it unreachable while the cut lasts, and its messages flow again once the network heals", async () => {
    const root = mkdtempSync(join(tmpdir(), "shoal-raft-partition-"));
    const lab = new Lab({ labId: randomLabId(), root }, { logger: silentLogger() });
    try {
      const rec = await lab.up({
        managers: 2,
        workers: 0,
        command: (h) => {
          const id = h.name === "manager1" ? 1 : 2;
          const peer = h.managerAddresses.find((a) => a !== h.address)!;
          return [process.execPath, PROBE, String(id), `${h.address}:${PORT}`, String(3 - id), `${peer}:${PORT}`];
        },
      });
      const dirs = rec.hosts.map((h) => h.dir);
      await until("both probes hearing each other", () => dirs.every((d) => events(d).first !== undefined), 30_000);
      // Connections made while both were starting may still be replaced: let them settle.
      await sleep(1_000);

      // The packets vanish (no reset): the connections stay open, and what is written to them
      // waits in TCP's retransmission backoff.
      await lab.partition(["manager2"]);
      const cutAt = Date.now();
      await sleep(CUT_MS);
      // Taken before the heal: the links come back while heal() is still running, and a message
      // may flow again before it returns.
      const healedAt = Date.now();
      await lab.heal();

      for (const d of dirs) {
        const ev = events(d);
        assert.ok(
          ev.unreachable.some((t) => t > cutAt && t < healedAt),
          `${d}: the peer was not reported unreachable during the ${CUT_MS} ms cut (the keepalive should drop the dead connection)`,
        );
      }
      await until("both probes hearing each other after the heal", () => dirs.every((d) => events(d).resumed.some((t) => t >= healedAt)), 30_000);
    } finally {
      await lab.down();
      rmSync(root, { recursive: true, force: true });
      assert.deepEqual(leaks(lab.labId), NO_LEAKS, "the lab left something behind");
    }
  });
});
