// The memo of configurations the search has already expanded: a pair (set of linearized
// operations, model state). What remains possible from a configuration depends only on that pair,
// never on the order that reached it, so a revisit can be pruned (Lowe's key improvement over
// Wing & Gong, turning n! orders into at most 2^n sets per distinct state).
//
// We prune a little more than equal revisits. A cached (L', s) dominates a new (L, s) when L has
// the same operations with known outcomes and a superset of the timed-out ones: any completion
// from (L, s) is also one from (L', s), since the extra timed-out operations may simply never
// take effect there. Completeness still holds: a search that fails has fully expanded every
// cached configuration, and a dominated one can be no closer to success than its dominator.
// Without this, each timed-out write doubles the configurations (it happened or not) and
// histories with a few dozen of them blow up even when linearizable.
import { Bitset } from "./bitset.js";
import type { Model } from "./model.js";

interface CacheEntry<S> {
  /** Where the entry's set starts in the arena. */
  offset: number;
  state: S;
}

export class ConfigurationCache<S> {
  // Keyed by the hash of the known-outcome part of the set, plus the state key when the model
  // offers one, so that a bucket holds few candidates and `equal` is called rarely.
  private readonly buckets = new Map<number | string, CacheEntry<S>[]>();
  private count = 0;
  // All cached sets, back to back: one typed array per entry made allocation and GC the main
  // cost of the search on large partitions.
  private arena = new Uint32Array(1024);
  private used = 0;

  /** `knownMask`: bit i set when operation i has a known outcome. */
  constructor(
    private readonly model: Pick<Model<S, unknown, unknown>, "equal" | "hash">,
    private readonly knownMask: Uint32Array,
  ) {}

  /** A bitset whose hash covers exactly the known-outcome operations, as add() expects. */
  newLinearizedSet(size: number): Bitset {
    const mask = this.knownMask;
    return new Bitset(size, (i) => (mask[i >>> 5]! & (1 << (i & 31))) !== 0);
  }

  /** Adds (linearized, state) and returns true, or returns false if a cached entry dominates it. */
  add(linearized: Bitset, state: S): boolean {
    const hashState = this.model.hash;
    const key = hashState === undefined ? linearized.hash() : `${linearized.hash()}|${hashState(state)}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(key, bucket);
    }
    for (const e of bucket) {
      // With a state key in the bucket key, equal keys already mean equal states.
      if (this.dominates(e.offset, linearized.words) && (hashState !== undefined || this.model.equal(e.state, state))) return false;
    }
    bucket.push({ offset: this.store(linearized.words), state });
    this.count++;
    return true;
  }

  private store(words: Uint32Array): number {
    if (this.used + words.length > this.arena.length) {
      const bigger = new Uint32Array(Math.max(this.arena.length * 2, this.used + words.length));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    const offset = this.used;
    this.arena.set(words, offset);
    this.used += words.length;
    return offset;
  }

  get size(): number {
    return this.count;
  }

  /** cached ⊆ current, and current adds no operation with a known outcome. */
  private dominates(offset: number, current: Uint32Array): boolean {
    const known = this.knownMask;
    const arena = this.arena;
    for (let k = 0; k < current.length; k++) {
      const c = arena[offset + k]!;
      const cur = current[k]!;
      if ((c & ~cur) !== 0 || (cur & ~c & known[k]!) !== 0) return false;
    }
    return true;
  }
}
