/**
 * Integer rounding primitives of src/numerics/fixed.ts against bigint references: roundShift,
 * mulShift, sat, toMultiplier, the column-scale packing, toFx/fromFx and isqrt.
 */
import { describe, expect, it } from 'vitest';
import {
  FX_ONE,
  INT32_MAX,
  INT32_MIN,
  fromFx,
  isqrt,
  mulShift,
  packColumnScale,
  roundShift,
  sat,
  scaleSat,
  toFx,
  toMultiplier,
  unpackColumnScale,
} from '../../src/numerics/fixed.ts';
import { Rng, randInt, refRoundShift } from './ref.ts';

describe('roundShift', () => {
  it('rounds half up (towards +infinity), also for negative values', () => {
    // x / 2^sh exactly halfway between two integers goes to the larger one.
    expect(roundShift(3, 1)).toBe(2); // 1.5 -> 2
    expect(roundShift(1, 1)).toBe(1); // 0.5 -> 1
    expect(roundShift(-1, 1)).toBe(0); // -0.5 -> 0
    expect(roundShift(-3, 1)).toBe(-1); // -1.5 -> -1
    expect(roundShift(-5, 2)).toBe(-1); // -1.25 -> -1
    expect(roundShift(-6, 2)).toBe(-1); // -1.5 -> -1
    expect(roundShift(-7, 2)).toBe(-2); // -1.75 -> -2
    expect(roundShift(5, 2)).toBe(1); // 1.25 -> 1
    expect(roundShift(6, 2)).toBe(2); // 1.5 -> 2
    expect(roundShift(2 ** 51 - 1, 52)).toBe(0); // 0.4999... -> 0
    expect(roundShift(2 ** 51, 52)).toBe(1); // 0.5 -> 1
    expect(roundShift(-(2 ** 51), 52)).toBe(0); // -0.5 -> 0
  });

  it('is exact against bigint for |x| < 2^52 and -12 <= sh <= 52', () => {
    const rng = new Rng(0x5eed01);
    for (let t = 0; t < 20000; t++) {
      const x = randInt(rng, rng.int(1, 52));
      const sh = rng.int(-12, 52);
      const want = Number(refRoundShift(BigInt(x), sh));
      const got = roundShift(x, sh);
      if (got !== want) expect({ x, sh, got }).toEqual({ x, sh, got: want });
    }
  });

  it('exact halfway points of every shift round up', () => {
    const rng = new Rng(7);
    for (let sh = 1; sh <= 52; sh++) {
      for (let t = 0; t < 20; t++) {
        // x = (2j + 1) * 2^(sh-1): exactly j + 0.5 after the shift.
        const jMax = Math.floor((2 ** 52 / 2 ** (sh - 1) - 1) / 2);
        const j = rng.int(-Math.min(jMax, 2 ** 30), Math.min(jMax, 2 ** 30) - 1);
        const x = (2 * j + 1) * 2 ** (sh - 1);
        expect(roundShift(x, sh)).toBe(j + 1);
      }
    }
  });

  it('negative shifts multiply by a power of two', () => {
    expect(roundShift(-3, -4)).toBe(-48);
    expect(roundShift(5, 0)).toBe(5);
    expect(roundShift(2 ** 40 + 1, -10)).toBe((2 ** 40 + 1) * 1024);
  });
});

describe('mulShift', () => {
  const ref = (a: number, b: number, sh: number) => Number(refRoundShift(BigInt(a) * BigInt(b), sh));

  it('is exact for random int32 operands, including products beyond 2^53', () => {
    const rng = new Rng(0xa11ce);
    let huge = 0;
    for (let t = 0; t < 30000; t++) {
      const a = rng.signed(32, 6);
      const b = rng.signed(32, 6);
      const sh = rng.int(-16, 63);
      if (Math.abs(a * b) > 2 ** 53) huge++;
      const got = mulShift(a, b, sh);
      const want = ref(a, b, sh);
      if (got !== want) expect({ a, b, sh, got }).toEqual({ a, b, sh, got: want });
    }
    // The sample really exercised the bigint path (int32 * int32 usually passes 2^53).
    expect(huge).toBeGreaterThan(10000);
  });

  it('is exact at the int32 corners for every shift', () => {
    const corners = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX, 65535, 65536, -65536];
    for (const a of corners) {
      for (const b of corners) {
        for (let sh = -8; sh <= 63; sh++) {
          const got = mulShift(a, b, sh);
          const want = ref(a, b, sh);
          if (got !== want) expect({ a, b, sh, got }).toEqual({ a, b, sh, got: want });
        }
      }
    }
    // (-2^31)^2 / 2^62 = 1 exactly; (2^31-1)(-2^31) / 2^31 = -(2^31 - 1).
    expect(mulShift(INT32_MIN, INT32_MIN, 62)).toBe(1);
    expect(mulShift(INT32_MAX, INT32_MIN, 31)).toBe(-INT32_MAX);
  });

  it('products straddling the 2^52 switch-over round the same on both sides', () => {
    const rng = new Rng(99);
    for (let t = 0; t < 5000; t++) {
      // a * b within a few thousand of +-2^52.
      const a = rng.int(2 ** 20, 2 ** 21);
      const b0 = Math.floor(2 ** 52 / a);
      const b = (b0 + rng.int(-3, 3)) * (rng.next() < 0.5 ? -1 : 1);
      const sh = rng.int(0, 60);
      expect(mulShift(a, b, sh)).toBe(ref(a, b, sh));
    }
  });

  it('scaleSat saturates the exact result', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 5000; t++) {
      const v = rng.signed(32);
      const m = rng.int(0, 65535);
      const sh = rng.int(0, 40);
      const bits = rng.pick([8, 16, 32]);
      const exact = ref(v, m, sh);
      const lo = -(2 ** (bits - 1));
      const hi = 2 ** (bits - 1) - 1;
      expect(scaleSat(v, m, sh, bits)).toBe(Math.min(hi, Math.max(lo, exact)));
    }
  });
});

describe('sat', () => {
  it('clamps to the signed range', () => {
    expect(sat(128, 8)).toBe(127);
    expect(sat(-129, 8)).toBe(-128);
    expect(sat(-128, 8)).toBe(-128);
    expect(sat(2 ** 40, 32)).toBe(INT32_MAX);
    expect(sat(-(2 ** 40), 32)).toBe(INT32_MIN);
    expect(sat(12345, 32)).toBe(12345);
  });
});

describe('toMultiplier', () => {
  /** Relative error of m * 2^-sh against c (2^sh scaling is exact in a double). */
  const relErr = (c: number, m: number, sh: number) => Math.abs(m * 2 ** -sh - c) / c;

  it('m in [2^15, 2^16), nearest to c * 2^sh, relative error < 2^-15 over 2^-47 .. 2^47', () => {
    const rng = new Rng(0x70);
    const cs: number[] = [];
    for (let t = 0; t < 20000; t++) cs.push(2 ** (rng.next() * 94 - 47));
    // Powers of two and values next to m = 65535.5 (where rounding would give 2^16).
    for (let e = -47; e <= 46; e++) cs.push(2 ** e, 65535.5 * 2 ** (e - 16), 65535.49 * 2 ** (e - 16), 32767.5 * 2 ** (e - 16), 2 ** e * (1 - 2 ** -40));
    const bad: unknown[] = [];
    let worst = 0;
    for (const c of cs) {
      const { m, sh } = toMultiplier(c);
      const exact = c * 2 ** sh;
      // Nearest integer to c * 2^sh: |m - c 2^sh| <= 1/2, so with m >= 2^15 the relative error is
      // at most 0.5 / 32767.5 (slightly above 2^-16, well below 2^-15).
      const ok = Number.isInteger(m) && Number.isInteger(sh) && m >= 2 ** 15 && m < 2 ** 16 && Math.abs(m - exact) <= 0.5 && sh >= -32 && sh <= 63;
      if (!ok && bad.length < 5) bad.push({ c, m, sh, exact });
      worst = Math.max(worst, relErr(c, m, sh));
    }
    expect(bad).toEqual([]);
    expect(worst).toBeLessThan(2 ** -15);
    expect(worst).toBeLessThanOrEqual(0.5 / 32767.5 + 1e-15);
  });

  it('exact for powers of two and 16-bit values', () => {
    expect(toMultiplier(1)).toEqual({ m: 32768, sh: 15 });
    expect(toMultiplier(0.5)).toEqual({ m: 32768, sh: 16 });
    expect(toMultiplier(65535)).toEqual({ m: 65535, sh: 0 });
    expect(toMultiplier(3)).toEqual({ m: 49152, sh: 14 });
    // Rounds up to 65536 at sh = 0 -> must drop to sh = -1 with m = 32768.
    expect(toMultiplier(65535.75)).toEqual({ m: 32768, sh: -1 });
  });

  it('a shift capped by the range gives a smaller m (>= 2^8) that is still the nearest integer', () => {
    const rng = new Rng(0x71);
    const bad: unknown[] = [];
    for (let t = 0; t < 5000; t++) {
      // Natural shift > 63: c < 65535.5 * 2^-63; m = round(c * 2^63) >= 256 needs c >= 255.5 * 2^-63.
      const c = 2 ** (rng.next() * (Math.log2(32767) - 8) + 8 - 63);
      const { m, sh } = toMultiplier(c);
      // Nearest integer at the capped shift: relative error <= 0.5 / m <= 2^-9.
      const ok = sh === 63 && m === Math.round(c * 2 ** 63) && m >= 256 && m < 2 ** 15 && relErr(c, m, sh) <= 0.5 / m + 1e-15;
      if (!ok && bad.length < 5) bad.push({ c, m, sh });
    }
    expect(bad).toEqual([]);
    // With a custom range [0, 31]: c = 2^-20 would want sh = 35.
    expect(toMultiplier(2 ** -20, [0, 31])).toEqual({ m: 2 ** 11, sh: 31 });
    expect(toMultiplier(1.5, [0, 31])).toEqual({ m: 49152, sh: 15 });
  });

  it('rejects zero, negative, NaN and infinite scales', () => {
    for (const c of [0, -0, -1, -1e-9, Number.NaN, Infinity, -Infinity]) {
      expect(() => toMultiplier(c), String(c)).toThrow(RangeError);
      expect(() => toMultiplier(c)).toThrow(/positive and finite/);
    }
  });

  it('rejects scales whose shift falls outside the range', () => {
    // Too large: needs sh < -32 (c >= 65535.5 * 2^32).
    expect(toMultiplier(2 ** 47)).toEqual({ m: 32768, sh: -32 });
    expect(() => toMultiplier(2 ** 48)).toThrow(RangeError);
    expect(() => toMultiplier(1e30)).toThrow(RangeError);
    expect(() => toMultiplier(Number.MAX_VALUE)).toThrow(RangeError);
    // Too small: even at sh = 63 fewer than 8 significant bits.
    expect(() => toMultiplier(2 ** -60)).toThrow(RangeError);
    expect(() => toMultiplier(255 * 2 ** -63)).toThrow(RangeError);
    expect(toMultiplier(256 * 2 ** -63)).toEqual({ m: 256, sh: 63 });
    // Subnormal scales (65535 / c overflows to Infinity) must throw, not loop.
    expect(() => toMultiplier(1e-310)).toThrow(RangeError);
    expect(() => toMultiplier(Number.MIN_VALUE)).toThrow(RangeError);
    // Custom range.
    expect(() => toMultiplier(2 ** 20, [0, 47])).toThrow(RangeError);
    expect(() => toMultiplier(2 ** -40, [0, 31])).toThrow(RangeError);
  });
});

describe('column scale packing', () => {
  it('round-trips m and sh for every legal shift', () => {
    const rng = new Rng(11);
    for (let sh = 0; sh <= 47; sh++) {
      for (const m of [0, 1, 32768, 65535, rng.int(0, 65535)]) {
        const e = packColumnScale({ m, sh });
        expect(e).toBe(m + sh * 65536);
        expect(unpackColumnScale(e)).toEqual({ m, sh });
      }
    }
  });

  it('rejects shifts outside 0..47', () => {
    expect(() => packColumnScale({ m: 1, sh: -1 })).toThrow(RangeError);
    expect(() => packColumnScale({ m: 1, sh: 48 })).toThrow(RangeError);
  });
});

describe('toFx / fromFx', () => {
  it('round to nearest and saturate', () => {
    const rng = new Rng(12);
    for (let t = 0; t < 5000; t++) {
      const v = (rng.next() - 0.5) * 60000;
      const q = toFx(v);
      expect(Math.abs(fromFx(q) - v)).toBeLessThanOrEqual(0.5 / FX_ONE + 1e-12);
    }
    expect(toFx(1)).toBe(65536);
    expect(toFx(-0.5)).toBe(-32768);
    expect(toFx(1e9)).toBe(INT32_MAX);
    expect(toFx(-1e9)).toBe(INT32_MIN);
  });
});

describe('isqrt', () => {
  const check = (n: bigint) => {
    const r = isqrt(n);
    if (!(r * r <= n && (r + 1n) * (r + 1n) > n)) expect({ n: String(n), r: String(r) }).toBe('floor sqrt');
  };

  it('is the floor square root over the range rmsInverse uses (< 2^64)', () => {
    const rng = new Rng(13);
    for (let t = 0; t < 5000; t++) {
      const bits = rng.int(1, 64);
      let n = 0n;
      for (let i = 0; i < bits; i += 16) n = (n << 16n) | BigInt(rng.int(0, 65535));
      n &= (1n << BigInt(bits)) - 1n;
      check(n);
    }
    // Perfect squares and their neighbours, where the float estimate is most likely off by one.
    for (let t = 0; t < 2000; t++) {
      const r = BigInt(rng.int(0, 2 ** 26)) * BigInt(rng.int(1, 2 ** 6)) + BigInt(rng.int(0, 2 ** 26));
      for (const d of [-1n, 0n, 1n]) if (r * r + d >= 0n) check(r * r + d);
    }
    for (const n of [0n, 1n, 2n, 3n, 4n, (1n << 62n) - 1n, 1n << 62n, (1n << 64n) - 1n]) check(n);
    expect(isqrt(0n)).toBe(0n);
    expect(isqrt((1n << 62n) - 1n)).toBe((1n << 31n) - 1n);
  });

  it('rejects negative input', () => {
    expect(() => isqrt(-1n)).toThrow(RangeError);
  });
});
