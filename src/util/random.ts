/** Small seeded PRNG (mulberry32) so tests and fuzzers are reproducible from a seed. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A signed `width`-bit value, biased towards the edges (min, max, 0, -1) one time in `edgeEvery`. */
  signed(width: number, edgeEvery = 8): number {
    const min = -(2 ** (width - 1));
    const max = 2 ** (width - 1) - 1;
    if (this.int(0, edgeEvery - 1) === 0) return [min, max, 0, -1][this.int(0, 3)]!;
    return this.int(min, max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
}
