// The set of already-linearized operations of one partition, as a fixed-size bitset. Its hash is
// maintained incrementally so that the search cache can bucket a set in O(1) per step instead of
// rehashing every word. Only members selected by `hashed` contribute to the hash, so that sets
// differing only in other members share a bucket (the cache's dominance check needs that).
// Equality and subset checks compare words, so a hash collision is never a wrong answer.

export class Bitset {
  readonly words: Uint32Array;
  /** Sum of mix(i) over hashed members, mod 2^32; order-independent, so set/clear add/subtract. */
  private sum = 0;

  /** `hashed`: the members that count towards hash(); all of them when omitted. */
  constructor(
    readonly size: number,
    private readonly hashed?: (i: number) => boolean,
  ) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  /** Invariant: i is not a member (the search only sets unlinearized operations). */
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    if (this.hashed === undefined || this.hashed(i)) this.sum = (this.sum + mix(i)) >>> 0;
  }

  /** Invariant: i is a member. */
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    if (this.hashed === undefined || this.hashed(i)) this.sum = (this.sum - mix(i)) >>> 0;
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  hash(): number {
    return this.sum;
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
