// The set of already-linearized operations of one partition, as a fixed-size bitset. Its hash is
// maintained incrementally so that the search cache can bucket a set in O(1) per step instead of
// rehashing every word; equality still compares words, so a hash collision is never a wrong answer.

export class Bitset {
  readonly words: Uint32Array;
  /** Sum of mix(i) over members, mod 2^32; order-independent, so set/clear just add/subtract. */
  private sum = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  /** Invariant: i is not a member (the search only sets unlinearized operations). */
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.sum = (this.sum + mix(i)) >>> 0;
  }

  /** Invariant: i is a member. */
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.sum = (this.sum - mix(i)) >>> 0;
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  hash(): number {
    return this.sum;
  }

  /** A frozen copy of the words, for storing in the cache. */
  snapshot(): Uint32Array {
    return this.words.slice();
  }

  equalsWords(other: Uint32Array): boolean {
    const w = this.words;
    for (let k = 0; k < w.length; k++) if (w[k] !== other[k]) return false;
    return true;
  }
}

// A fixed integer mixer (murmur3's finalizer): spreads neighbouring indices across all 32 bits so
// that sums of different sets rarely collide.
function mix(i: number): number {
  let h = (i + 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
