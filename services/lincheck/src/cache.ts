// The memo of configurations the search has already explored: a pair (set of linearized
// operations, model state). What remains possible from a configuration depends only on that pair,
// never on the order that reached it, so a revisit can be pruned (Lowe's key improvement over
// Wing & Gong, turning n! orders into at most 2^n sets per distinct state).
import type { Bitset } from "./bitset.js";
import type { Model } from "./model.js";

interface CacheEntry<S> {
  words: Uint32Array;
  state: S;
}

export class ConfigurationCache<S> {
  // Keyed by the bitset hash, plus the state key when the model offers one, so that a bucket
  // holds few candidates and `equal` is called rarely.
  private readonly buckets = new Map<number | string, CacheEntry<S>[]>();
  private count = 0;

  constructor(private readonly model: Pick<Model<S, unknown, unknown>, "equal" | "hash">) {}

  /** Adds (linearized, state) and returns true, or returns false if it was already present. */
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
      if (linearized.equalsWords(e.words) && (hashState !== undefined || this.model.equal(e.state, state))) return false;
    }
    bucket.push({ words: linearized.snapshot(), state });
    this.count++;
    return true;
  }

  get size(): number {
    return this.count;
  }
}
