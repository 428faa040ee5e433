// The simulated network between members: seeded drops, duplicates, variable delays (hence
// reordering) and partitions, all decided by the caller's SeededRandom so a run replays from its
// seed. It only decides the fate of a message; the simulator schedules the deliveries.

import type { SeededRandom } from "@shoal/common";
import type { NodeId } from "../../src/index.js";

export interface NetworkConfig {
  dropRate: number;
  duplicateRate: number;
  /** Delays are uniform in [minDelay, maxDelay] time units, with an occasional long delay. */
  minDelay: number;
  maxDelay: number;
  longDelayRate: number;
  longDelayMax: number;
}

export type PartitionKind = "none" | "split" | "isolate" | "one-way";

export class Network {
  /** "from>to" pairs that cannot deliver. */
  private readonly blocked = new Set<string>();
  kind: PartitionKind = "none";
  /** Messages dropped by chance or by a partition, for the run's statistics. */
  dropped = 0;

  constructor(
    private readonly rng: SeededRandom,
    public config: NetworkConfig,
  ) {}

  canDeliver(from: NodeId, to: NodeId): boolean {
    return this.blocked.size === 0 || !this.blocked.has(`${from}>${to}`);
  }

  /** Delivery delays for one message: empty when it is lost, two entries when duplicated. */
  fate(from: NodeId, to: NodeId): number[] {
    if (!this.canDeliver(from, to) || this.rng.next() < this.config.dropRate) {
      this.dropped++;
      return [];
    }
    const out = [this.delay()];
    if (this.rng.next() < this.config.duplicateRate) out.push(this.delay());
    return out;
  }

  private delay(): number {
    const c = this.config;
    if (this.rng.next() < c.longDelayRate) return c.maxDelay + 1 + this.rng.int(c.longDelayMax);
    return c.minDelay + this.rng.int(c.maxDelay - c.minDelay + 1);
  }

  /** Two random non-empty sides, no traffic between them. */
  split(members: NodeId[]): void {
    this.heal();
    if (members.length < 2) return;
    const shuffled = shuffle(this.rng, members);
    const cut = 1 + this.rng.int(members.length - 1);
    const a = shuffled.slice(0, cut);
    const b = shuffled.slice(cut);
    for (const x of a) for (const y of b) this.block(x, y, true);
    this.kind = "split";
  }

  /** Cuts one member off from everyone (the simulator passes the leader). */
  isolate(id: NodeId, members: NodeId[]): void {
    this.heal();
    for (const x of members) if (x !== id) this.block(id, x, true);
    this.kind = "isolate";
  }

  /** Blocks a few random directed links: one member hears another but cannot answer. */
  oneWay(members: NodeId[]): void {
    this.heal();
    const links = 1 + this.rng.int(Math.max(1, members.length - 1));
    for (let i = 0; i < links; i++) {
      const from = members[this.rng.int(members.length)]!;
      const to = members[this.rng.int(members.length)]!;
      if (from !== to) this.block(from, to, false);
    }
    this.kind = "one-way";
  }

  /** The partition in force, for traces: blocked directed links. */
  describe(): string {
    return this.blocked.size === 0 ? "healed" : `${this.kind} blocking ${[...this.blocked].join(" ")}`;
  }

  heal(): void {
    this.blocked.clear();
    this.kind = "none";
  }

  private block(a: NodeId, b: NodeId, both: boolean): void {
    this.blocked.add(`${a}>${b}`);
    if (both) this.blocked.add(`${b}>${a}`);
  }
}

export function shuffle<T>(rng: SeededRandom, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
