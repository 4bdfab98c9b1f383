/**
 * RoPE numerics of src/numerics/fixed.ts against Math.cos/Math.sin: cosSinTurns, ropeFreqTurns
 * and ropeRow.
 */
import { describe, expect, it } from 'vitest';
import { COS_TABLE_BITS, FX_ONE, INT32_MAX, INT32_MIN, cosSinTurns, ropeFreqTurns, ropeRow } from '../../src/numerics/fixed.ts';
import { Rng, gauss, refRoundShift, sameInts } from './ref.ts';

const Q = FX_ONE;
const TURN = 2 ** 32;

/**
 * cos/sin error bound in Q16 LSBs: table entries within 1/2, the interpolation step rounds once
 * more (1/2), the chord of cos over a 2 pi / 4096 step deviates from the curve by at most
 * 2^16 (2 pi / 4096)^2 / 8 = 0.019, and the 4 dropped low bits of the angle move the
 * interpolation by <= |b - a| / 2^16 <= 0.0016: 1.021 in all.
 */
const COS_ERR = 1.021;

describe('cosSinTurns', () => {
  it('matches Math.cos / Math.sin within 1.021 LSB over random and edge angles', () => {
    const rng = new Rng(0xc05);
    const thetas: number[] = [0, 1, TURN - 1, 2 ** 30, 2 ** 31, 3 * 2 ** 30, 2 ** 30 - 1, 2 ** 20 - 1, 2 ** 20];
    for (let t = 0; t < 100000; t++) thetas.push(rng.int(0, TURN - 1));
    let worst = 0;
    let bad: unknown = null;
    for (const th of thetas) {
      const [c, s] = cosSinTurns(th);
      const a = (2 * Math.PI * th) / TURN;
      const e = Math.max(Math.abs(c - Q * Math.cos(a)), Math.abs(s - Q * Math.sin(a)));
      worst = Math.max(worst, e);
      if (bad === null && !(e <= COS_ERR && Number.isInteger(c) && Number.isInteger(s))) bad = { th, c, s, e };
    }
    expect(bad).toBeNull();
    expect(worst).toBeGreaterThan(0.5);
  });

  it('is exact (round(2^16 cos)) at the table points', () => {
    const N = 1 << COS_TABLE_BITS;
    for (let i = 0; i < N; i++) {
      const [c, s] = cosSinTurns(i * 2 ** (32 - COS_TABLE_BITS));
      const a = (2 * Math.PI * i) / N;
      // `=== ` so that -0 and 0 compare equal.
      if (!(c === Math.round(Q * Math.cos(a)) && s === Math.round(Q * Math.cos(a - Math.PI / 2)))) expect({ i, c, s }).toBe('table value');
    }
    expect(cosSinTurns(0)).toEqual([Q, 0]);
    expect(cosSinTurns(2 ** 30)[1]).toBe(Q);
    expect(cosSinTurns(2 ** 31)[0]).toBe(-Q);
    expect(cosSinTurns(3 * 2 ** 30)[1]).toBe(-Q);
  });

  it('(c, s) has norm 2^16 within sqrt(2) * 1.021', () => {
    const rng = new Rng(0xc06);
    for (let t = 0; t < 20000; t++) {
      const th = rng.int(0, TURN - 1);
      const [c, s] = cosSinTurns(th);
      if (!(Math.abs(Math.hypot(c, s) - Q) <= Math.SQRT2 * COS_ERR)) expect({ th, c, s }).toBe('norm 2^16');
    }
  });
});

describe('ropeFreqTurns', () => {
  it('is round(2^32 / theta^(2i/d) / (2 pi)), decreasing in i', () => {
    for (const theta of [10000, 500000, 1e6, 100]) {
      for (const d of [2, 8, 64, 128]) {
        let prev = Infinity;
        for (let i = 0; i < d / 2; i++) {
          const got = ropeFreqTurns(i, d, theta);
          // Computed another way (exp/log); the two floats agree to ~1e-15 relative, i.e. to
          // < 1e-5 of an integer at these magnitudes (< 2^30), so |got - ref| <= 1/2 + 1e-5.
          const ref = (Math.exp((-(2 * i) / d) * Math.log(theta)) / (2 * Math.PI)) * TURN;
          expect(Number.isInteger(got) && got >= 0 && got < TURN).toBe(true);
          expect(Math.abs(got - ref), `theta ${theta} d ${d} i ${i}`).toBeLessThanOrEqual(0.5 + 1e-5);
          expect(got).toBeLessThan(prev);
          prev = got;
        }
      }
    }
    // i = 0: 1 / (2 pi) turn per position.
    expect(ropeFreqTurns(0, 64, 10000)).toBe(Math.round(TURN / (2 * Math.PI)));
  });
});

const sat32 = (v: number) => Math.max(INT32_MIN, Math.min(INT32_MAX, v));

/** Independent float RoPE of one pair by angle pos * theta^(-2i/d) (radians). */
function floatRope(a: number, b: number, angle: number): [number, number] {
  return [a * Math.cos(angle) - b * Math.sin(angle), a * Math.sin(angle) + b * Math.cos(angle)];
}

describe('ropeRow', () => {
  const THETA = 10000;

  it('matches float RoPE within the derived bound (all heads, random positions)', () => {
    // Per output: (|a| + |b|) COS_ERR / 2^16 from the table, 1/2 from the rounding, and the
    // frequency quantisation: freq is within 1/2 of 2^32 f, so the angle is off by at most
    // pos / 2 / 2^32 turns, which moves the pair by |(a, b)| 2 pi pos / 2^33.
    const rng = new Rng(0x209e);
    for (let t = 0; t < 200; t++) {
      const headSize = rng.pick([2, 8, 64, 128]);
      const heads = rng.int(1, 4);
      const n = headSize * heads;
      const freq = Array.from({ length: headSize / 2 }, (_, i) => ropeFreqTurns(i, headSize, THETA));
      const pos = rng.pick([0, 1, 2, rng.int(0, 4096), rng.int(0, 2 ** 20)]);
      const scale = rng.pick([0.01, 1, 100, 10000]);
      const x = Array.from({ length: n }, () => sat32(Math.round(gauss(rng) * scale * Q)));
      const out = ropeRow(x, n, headSize, freq, pos);
      for (let j = 0; j < n; j += 2) {
        const i = (j % headSize) / 2;
        const angle = pos * THETA ** (-(2 * i) / headSize);
        const [wa, wb] = floatRope(x[j]!, x[j + 1]!, angle).map(sat32) as [number, number];
        const norm = Math.hypot(x[j]!, x[j + 1]!);
        const bound = ((Math.abs(x[j]!) + Math.abs(x[j + 1]!)) * COS_ERR) / Q + 0.5 + (norm * 2 * Math.PI * pos) / 2 ** 33 + 1e-6 * (1 + norm / Q);
        const e = Math.max(Math.abs(out[j]! - wa), Math.abs(out[j + 1]! - wb));
        if (!(e <= bound)) expect({ t, j, pos, headSize, e, bound }).toBeNull();
      }
    }
  });

  it('the angle is pos * freq mod 2^32 exactly, for positions up to 2^31', () => {
    // Re-derive each output bit-exactly from a bigint angle and the documented rotation
    // (round-half-up of (a c - b s) / 2^16, saturated): catches any lost bit in pos * freq,
    // which for pos ~ 2^31 and freq ~ 2^32 does not fit a double.
    const rng = new Rng(0x209f);
    for (let t = 0; t < 300; t++) {
      const freq = Array.from({ length: 4 }, () => rng.int(0, TURN - 1));
      const pos = rng.pick([rng.int(0, 2 ** 31 - 1), 2 ** 31 - 1, 2 ** 16 + 1, rng.int(2 ** 20, 2 ** 24)]);
      const x = Array.from({ length: 8 }, () => rng.int(-(2 ** 24), 2 ** 24));
      const out = ropeRow(x, 8, 8, freq, pos);
      for (let i = 0; i < 4; i++) {
        const th = Number((BigInt(pos) * BigInt(freq[i]!)) % BigInt(TURN));
        const [c, s] = cosSinTurns(th);
        const a = BigInt(x[2 * i]!);
        const b = BigInt(x[2 * i + 1]!);
        const want = [refRoundShift(a * BigInt(c) - b * BigInt(s), 16), refRoundShift(a * BigInt(s) + b * BigInt(c), 16)].map((v) => sat32(Number(v)));
        if (!(out[2 * i] === want[0] && out[2 * i + 1] === want[1])) expect({ t, i, pos, f: freq[i], got: [out[2 * i], out[2 * i + 1]] }).toEqual({ t, i, pos, f: freq[i], got: want });
        // And the float view of the same angle, within the table bound.
        const angle = (2 * Math.PI * th) / TURN;
        const [wa, wb] = floatRope(x[2 * i]!, x[2 * i + 1]!, angle);
        const bound = ((Math.abs(x[2 * i]!) + Math.abs(x[2 * i + 1]!)) * COS_ERR) / Q + 0.5 + 1e-6;
        const e = Math.max(Math.abs(out[2 * i]! - wa), Math.abs(out[2 * i + 1]! - wb));
        if (!(e <= bound)) expect({ t, i, pos, f: freq[i], e, bound }).toBeNull();
      }
    }
  });

  it('preserves pair norms within |v| * 1.45 / 2^16 + 0.71', () => {
    // out = (R + E) v + r with E a scaled rotation of norm <= sqrt(2) * 1.021 / 2^16 (< 1.45 / 2^16)
    // and r the rounding of two components (|r| <= sqrt(2) / 2).
    const rng = new Rng(0x2a0);
    for (let t = 0; t < 300; t++) {
      const headSize = 16;
      const freq = Array.from({ length: 8 }, (_, i) => ropeFreqTurns(i, headSize, 500000));
      const x = Array.from({ length: 32 }, () => Math.round(gauss(rng) * rng.pick([1, 1000, 100000])));
      const pos = rng.int(0, 2 ** 31 - 1);
      const out = ropeRow(x, 32, headSize, freq, pos);
      for (let j = 0; j < 32; j += 2) {
        const nin = Math.hypot(x[j]!, x[j + 1]!);
        const nout = Math.hypot(out[j]!, out[j + 1]!);
        if (!(Math.abs(nout - nin) <= (nin * 1.45) / Q + Math.SQRT1_2)) expect({ t, j, nin, nout }).toBeNull();
      }
    }
  });

  it('position 0 is the identity (exactly)', () => {
    const rng = new Rng(0x2a1);
    for (let t = 0; t < 50; t++) {
      const headSize = rng.pick([2, 4, 64]);
      const n = headSize * rng.int(1, 3);
      const freq = Array.from({ length: headSize / 2 }, () => rng.int(0, TURN - 1));
      const x = Array.from({ length: n }, () => rng.signed(32));
      expect(sameInts(ropeRow(x, n, headSize, freq, 0), x)).toBe(true);
    }
  });

  it('a quarter turn maps (a, b) to (-b, a) and a half turn negates', () => {
    const freq = [2 ** 30, 2 ** 31];
    const out = ropeRow([100, 7, 100, 7], 4, 4, freq, 1);
    expect(sameInts(out, [-7, 100, -100, -7])).toBe(true);
  });

  it('does not throw at the int32 limits and saturates', () => {
    // 45 degrees: (2^31 - 1, 2^31 - 1) -> (0, 2^31.5): the second component saturates.
    const eighth = [2 ** 29];
    const out = ropeRow([INT32_MAX, INT32_MAX], 2, 2, eighth, 1);
    expect(Math.abs(out[0]!)).toBeLessThanOrEqual(2 ** 31 * 2 * COS_ERR / Q + 1);
    expect(out[1]).toBe(INT32_MAX);
    const outn = ropeRow([INT32_MIN, INT32_MIN], 2, 2, eighth, 1);
    expect(outn[1]).toBe(INT32_MIN);
  });

  it('an odd trailing element passes through', () => {
    const out = ropeRow([Q, 0, 12345], 3, 2, [2 ** 30], 1);
    expect(sameInts(out, [0, Q, 12345])).toBe(true);
  });
});
