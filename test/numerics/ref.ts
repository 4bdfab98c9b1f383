/**
 * Independent float64 / bigint reference helpers for the numerics property tests (not a test
 * file itself: vitest only collects *.test.ts).
 */
import { Rng } from '../../src/util/random.ts';

export { Rng };

/** floor((x + 2^(sh-1)) / 2^sh) for sh > 0 (round half up), x * 2^-sh otherwise, in bigint. */
export function refRoundShift(x: bigint, sh: number): bigint {
  if (sh <= 0) return x << BigInt(-sh);
  // bigint >> is an arithmetic shift (floor division by 2^sh), also for negative x.
  return (x + (1n << BigInt(sh - 1))) >> BigInt(sh);
}

/** A uniformly random integer with |x| < 2^bits (bits <= 53), either sign. */
export function randInt(rng: Rng, bits: number): number {
  const hiBits = Math.max(0, bits - 26);
  const lo = rng.int(0, 2 ** Math.min(bits, 26) - 1);
  const hi = hiBits > 0 ? rng.int(0, 2 ** hiBits - 1) : 0;
  const mag = hi * 2 ** 26 + lo;
  return rng.next() < 0.5 ? -mag : mag;
}

/** Standard normal sample (Box-Muller). */
export function gauss(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Numeric equality that treats -0 and +0 as equal (vitest's toBe/toEqual distinguish them). */
export function sameInts(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** First index where |got - want| > bound(i), or -1. Lets one expect() cover a whole sweep. */
export function firstViolation(n: number, err: (i: number) => number, bound: (i: number) => number): { i: number; err: number; bound: number } | null {
  for (let i = 0; i < n; i++) {
    const e = err(i);
    const b = bound(i);
    if (!(e <= b)) return { i, err: e, bound: b };
  }
  return null;
}

/** erf(x) to ~1e-15: Maclaurin series for |x| < 3, continued fraction of erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let s = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      s += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return (Math.sign(x) * s * 2) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}
