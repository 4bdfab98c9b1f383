/**
 * SFU fixed-point functions (src/numerics/fixed.ts) against float64 math computed here:
 * pow2neg, sigmoid/SiLU/GELU, RMSNorm/LayerNorm and softmax. All bounds are in LSBs of the
 * output format and derived in the comments next to them.
 */
import { describe, expect, it } from 'vitest';
import {
  FX_ONE,
  GELU_K_Q16,
  INT32_MAX,
  INT32_MIN,
  LOG2E_Q16,
  geluFx,
  layernormRow,
  pow2neg,
  rmsnormRow,
  sigmoidFx,
  siluFx,
  softmaxRow,
} from '../../src/numerics/fixed.ts';
import { Rng, erf, firstViolation, gauss } from './ref.ts';

const Q = FX_ONE;

/**
 * pow2neg error bound in Q16 LSBs for d in [k 2^16, (k+1) 2^16): the table entries are within 1/2
 * of 2^16 2^-f, the interpolation rounds once more (1/2), and the chord of the convex 2^-f over a
 * 1/256 step lies at most 2^16 (ln 2)^2 (1/256)^2 / 8 = 0.06 above the curve, so before the final
 * shift the value is within 1.06; the half-up shift by k divides that by 2^k and adds 1/2.
 */
const POW2_V_ERR = 1.06;
const pow2Bound = (k: number) => (k === 0 ? POW2_V_ERR : POW2_V_ERR / 2 ** k + 0.5);

/**
 * sigmoid error bound in Q16 LSBs. e = 2^16 e^-|x| comes from pow2neg (<= 1.06) of a log2-domain
 * argument that is rounded to 1/2 LSB (relative change of e <= 0.5 ln2 / 2^16: <= 0.35 LSB at
 * e <= 2^16) and scaled by LOG2E_Q16, which is within 1/2 of 2^16 log2(e) (relative 5.3e-6 of the
 * argument a; e * ln2 * a * 5.3e-6 <= 2^16 * 5.3e-6 / e_Euler < 0.13). d(2^32 / (2^16 + e))/de
 * has magnitude <= 1, and the floor division loses < 1 more: 1.06 + 0.35 + 0.13 + 1 < 2.6.
 */
const SIGMOID_ERR = 2.6;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe('pow2neg', () => {
  it('is monotone non-increasing and within the bound of 2^16 2^(-d/2^16) for every d < 18 * 2^16', () => {
    let prev = Infinity;
    let monotoneBreak = -1;
    const worst = new Array<number>(18).fill(0);
    for (let d = 0; d < 18 * Q; d++) {
      const v = pow2neg(d);
      if (v > prev && monotoneBreak < 0) monotoneBreak = d;
      prev = v;
      const k = Math.floor(d / Q);
      worst[k] = Math.max(worst[k]!, Math.abs(v - Q * 2 ** (-d / Q)));
    }
    expect(monotoneBreak).toBe(-1);
    for (let k = 0; k < 17; k++) expect(worst[k], `k = ${k}`).toBeLessThanOrEqual(pow2Bound(k));
    // k >= 17: the true value is <= 1/2 and the result 0.
    expect(worst[17]).toBeLessThanOrEqual(0.5);
  });

  it('edge points: 0, 2^16 - 1, multiples of 2^16, far beyond 17 * 2^16', () => {
    expect(pow2neg(0)).toBe(Q);
    // 2^16 * 2^(-(2^16-1)/2^16) = 32768.35.
    expect(Math.abs(pow2neg(Q - 1) - Q * 2 ** (-(Q - 1) / Q))).toBeLessThanOrEqual(pow2Bound(0));
    // Exact powers of two: the table's first entry is exact and the shift is exact.
    for (let j = 0; j <= 16; j++) expect(pow2neg(j * Q), `j = ${j}`).toBe(2 ** (16 - j));
    expect(pow2neg(17 * Q - 1)).toBeLessThanOrEqual(1);
    for (const d of [17 * Q, 17 * Q + 1, 18 * Q, 2 ** 31, 2 ** 32 - 1, 2 ** 40, 2 ** 52]) expect(pow2neg(d), `d = ${d}`).toBe(0);
  });

  it('random d up to 2^33: monotone between sorted samples and within the bound', () => {
    const rng = new Rng(0x9077);
    const ds = Array.from({ length: 20000 }, () => (rng.next() < 0.7 ? rng.int(0, 20 * Q) : rng.int(0, 2 ** 33)));
    ds.sort((a, b) => a - b);
    let prev = Infinity;
    for (const d of ds) {
      const v = pow2neg(d);
      const k = Math.floor(d / Q);
      const bound = k > 16 ? 0.5 : pow2Bound(k);
      if (!(v <= prev && Math.abs(v - Q * 2 ** (-d / Q)) <= bound && Number.isInteger(v))) expect({ d, v, prev }).toBe('monotone and within bound');
      prev = v;
    }
  });
});

describe('sigmoid / SiLU / GELU', () => {
  const LIM = 20 * Q;

  it('sigmoid is within 2.6 LSB of float over [-20, 20], monotone, and in [0, 1]', () => {
    let prev = -Infinity;
    let worst = 0;
    let bad: unknown = null;
    for (let x = -LIM; x <= LIM; x += 3) {
      const s = sigmoidFx(x);
      const err = Math.abs(s - Q * sigmoid(x / Q));
      worst = Math.max(worst, err);
      if (bad === null && !(s >= prev && s >= 0 && s <= Q && Number.isInteger(s))) bad = { x, s, prev };
      prev = s;
    }
    expect(bad).toBeNull();
    expect(worst).toBeLessThanOrEqual(SIGMOID_ERR);
    expect(worst).toBeGreaterThan(0.5); // the sweep is not vacuous: it sees rounding error
    expect(sigmoidFx(0)).toBe(Q / 2);
  });

  it('sigmoid(x) + sigmoid(-x) = 1 exactly (the negative half is mirrored)', () => {
    const rng = new Rng(0x516);
    for (let t = 0; t < 20000; t++) {
      const x = rng.next() < 0.5 ? rng.int(-LIM, LIM) : rng.signed(32);
      if (x === INT32_MIN) continue;
      const sum = sigmoidFx(x) + sigmoidFx(-x);
      if (sum !== Q) expect({ x, sum }).toEqual({ x, sum: Q });
    }
  });

  it('sigmoid saturates cleanly at the int32 ends', () => {
    expect(sigmoidFx(INT32_MAX)).toBe(Q);
    expect(sigmoidFx(INT32_MIN)).toBe(0);
    expect(sigmoidFx(40 * Q)).toBe(Q);
    expect(sigmoidFx(-40 * Q)).toBe(0);
  });

  it('SiLU is within |x| * 2.6 + 0.5 LSB of x * sigmoid(x)', () => {
    // silu = round(x * s / 2^16): the sigmoid error scaled by |x| (real), plus the final rounding.
    const xs: number[] = [];
    for (let x = -LIM; x <= LIM; x += 7) xs.push(x);
    const v = firstViolation(
      xs.length,
      (i) => Math.abs(siluFx(xs[i]!) - xs[i]! * sigmoid(xs[i]! / Q)),
      (i) => (Math.abs(xs[i]!) / Q) * SIGMOID_ERR + 0.5,
    );
    expect(v).toBeNull();
  });

  it('SiLU of large |x| stays in int32: ~x for positive, ~0 for negative', () => {
    for (const x of [INT32_MAX, 2 ** 30, 100 * Q]) {
      const y = siluFx(x);
      expect(y).toBeLessThanOrEqual(x);
      expect(y).toBeGreaterThanOrEqual(x - 1);
      const yn = siluFx(-x);
      expect(yn).toBeLessThanOrEqual(0);
      expect(yn).toBeGreaterThanOrEqual(-1);
    }
    const y = siluFx(INT32_MIN);
    expect(y >= INT32_MIN && y <= 0).toBe(true);
  });

  it('GELU (sigmoid form) is within its derived bound of x * sigmoid(1.702 x)', () => {
    // The argument 1.702 x is formed with 1.702 in Q16 (within 1/2 LSB) and rounded:
    // |arg - 1.702 x| <= |x| 0.5/2^16 + 0.5/2^16; the sigmoid's slope is <= 1/4, so s is within
    // 2.6 LSB + 2^16 * arg error / 4 of sigmoid(1.702 x); times |x|, plus the final rounding.
    const kErr = 0.5 / Q;
    const bound = (x: number) => {
      const ax = Math.abs(x) / Q;
      const argErr = ax * kErr + 0.5 / Q;
      return ax * (SIGMOID_ERR + (Q * argErr) / 4) + 0.5;
    };
    const xs: number[] = [];
    for (let x = -LIM; x <= LIM; x += 7) xs.push(x);
    const v = firstViolation(
      xs.length,
      (i) => Math.abs(geluFx(xs[i]!) - xs[i]! * sigmoid((1.702 * xs[i]!) / Q)),
      (i) => bound(xs[i]!),
    );
    expect(v).toBeNull();
  });

  it('GELU is within 0.0205 (the approximation error of x sigmoid(1.702 x)) of x Phi(x)', () => {
    // max |x sigmoid(1.702 x) - x Phi(x)| = 0.02033 (near x = 2.27); add the fixed-point bound
    // (< 0.0012 at |x| = 20).
    let worst = 0;
    for (let x = -LIM; x <= LIM; x += 97) {
      const xr = x / Q;
      const want = 0.5 * xr * (1 + erf(xr / Math.SQRT2));
      worst = Math.max(worst, Math.abs(geluFx(x) / Q - want));
    }
    expect(worst).toBeLessThanOrEqual(0.0205 + 0.0012);
    expect(worst).toBeGreaterThan(0.019); // and it is the sigmoid form, not an exact GELU
  });

  it('GELU at the int32 ends does not throw and stays in range', () => {
    for (const x of [INT32_MAX, INT32_MIN, 2 ** 30, -(2 ** 30)]) {
      const y = geluFx(x);
      expect(Number.isInteger(y) && y >= INT32_MIN && y <= INT32_MAX).toBe(true);
    }
    expect(geluFx(INT32_MAX)).toBeGreaterThanOrEqual(INT32_MAX - 1);
    expect(geluFx(-(2 ** 30))).toBeGreaterThanOrEqual(-1);
    expect(geluFx(0)).toBe(0);
  });

  it('LOG2E_Q16 / GELU_K_Q16 are the rounded constants', () => {
    expect(Math.abs(LOG2E_Q16 - Math.LOG2E * Q)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(GELU_K_Q16 - 1.702 * Q)).toBeLessThanOrEqual(0.5);
  });
});

/** A float value -> fx with saturation (independent of toFx). */
const fx = (v: number) => Math.max(INT32_MIN, Math.min(INT32_MAX, Math.round(v * Q)));
const sat32 = (v: number) => Math.max(INT32_MIN, Math.min(INT32_MAX, v));

/**
 * Error bound (LSB) of rmsnormRow element i, given the float rms of the row. 1/rms is formed as
 * r = floor(2^40 / isqrt(floor(ss/n) + round(1e-5 2^32))): relative error <= 1/(rq - 1) from the
 * integer square root rq ~ rms 2^16, <= 1/(r - 1) from the floor of r ~ 2^24 / rms, and
 * <= 2 / ms_Q32 from the flooring of the mean and the rounded epsilon. Each of the two
 * multiplications rounds once: 1/2 LSB on x/rms, which gamma scales, then 1/2 LSB. 1% margin for
 * the second-order terms.
 */
function rmsBound(yTrue: number, gammaReal: number, rms: number): number {
  const rq = rms * Q;
  const r = 2 ** 24 / rms;
  const eps = 1 / (rq - 1) + 1 / (r - 1) + 2 / (rms * rms * 2 ** 32);
  return Math.abs(yTrue) * Q * eps * 1.01 + 0.5 * Math.abs(gammaReal) + 0.5 + 1e-6;
}

function checkRms(x: number[], g: number[]): { i: number; got: number; want: number; bound: number } | null {
  const n = x.length;
  const out = rmsnormRow(x, g, n);
  expect(out.length).toBe(n);
  let ms = 0;
  for (const v of x) ms += (v / Q) ** 2;
  const rms = Math.sqrt(ms / n + 1e-5);
  for (let i = 0; i < n; i++) {
    const y = ((g[i]! / Q) * (x[i]! / Q)) / rms;
    const want = sat32(y * Q);
    const bound = rmsBound(y, g[i]! / Q, rms);
    if (!(Number.isInteger(out[i]) && Math.abs(out[i]! - want) <= bound)) return { i, got: out[i]!, want, bound };
  }
  return null;
}

describe('rmsnormRow', () => {
  it('matches float RMSNorm with random gammas over scales 1e-4 .. 3e4', () => {
    const rng = new Rng(0x4e0);
    for (let t = 0; t < 300; t++) {
      const n = rng.pick([1, 2, 7, 64, 257]);
      const scale = rng.pick([1e-4, 0.01, 1, 10, 1000, 30000]);
      const x = Array.from({ length: n }, () => fx(gauss(rng) * scale));
      const g = Array.from({ length: n }, () => fx(gauss(rng) * rng.pick([0.1, 1, 100])));
      const v = checkRms(x, g);
      if (v) expect({ t, n, scale, ...v }).toBeNull();
    }
  });

  it('an all-zero row gives zeros', () => {
    for (const n of [1, 5, 64]) {
      const out = rmsnormRow(new Array(n).fill(0), new Array(n).fill(Q), n);
      expect(out.every((v) => v === 0)).toBe(true);
    }
  });

  it('all-equal rows give +-gamma (minus the epsilon)', () => {
    for (const c of [1, -1, 65536, -65536, 1000 * Q, INT32_MAX, INT32_MIN]) {
      const n = 16;
      const x = new Array(n).fill(c);
      const g = Array.from({ length: n }, (_, i) => (i + 1) * 4096);
      expect(checkRms(x, g)).toBeNull();
      const out = rmsnormRow(x, g, n);
      // Same input, so each output differs from its neighbour only through gamma.
      if (Math.abs(c) >= Q) for (let i = 0; i < n; i++) expect(Math.sign(out[i]!)).toBe(Math.sign(c));
    }
    // x = 1.0, gamma = 1.0: 1/sqrt(1 + 1e-5) = 0.999995 -> 65535.67.
    expect(Math.abs(rmsnormRow([Q, Q, Q, Q], [Q, Q, Q, Q], 4)[0]! - Q / Math.sqrt(1 + 1e-5))).toBeLessThanOrEqual(1);
  });

  it('one huge outlier', () => {
    const rng = new Rng(5);
    for (const big of [INT32_MAX, INT32_MIN, 2 ** 28, -(2 ** 24)]) {
      const n = 128;
      const x = Array.from({ length: n }, () => fx(gauss(rng) * 0.01));
      x[rng.int(0, n - 1)] = big;
      const g = Array.from({ length: n }, () => fx(1 + 0.1 * gauss(rng)));
      expect(checkRms(x, g)).toBeNull();
    }
  });

  it('values at the int32 limits do not throw and saturate', () => {
    const n = 256;
    // rms of [2^31 - 1, 0, ...] is 2^31 / 16 (fx) -> y_0 = 16 * gamma = 16 * 32768 (real): saturates.
    const x = new Array(n).fill(0);
    x[0] = INT32_MAX;
    const g = new Array(n).fill(INT32_MAX);
    expect(rmsnormRow(x, g, n)[0]).toBe(INT32_MAX);
    x[0] = INT32_MIN;
    expect(rmsnormRow(x, g, n)[0]).toBe(INT32_MIN);
    g[0] = INT32_MIN;
    expect(rmsnormRow(x, g, n)[0]).toBe(INT32_MAX);
    // Alternating extremes with extreme gammas.
    const xa = Array.from({ length: n }, (_, i) => (i % 2 ? INT32_MIN : INT32_MAX));
    const ga = Array.from({ length: n }, (_, i) => (i % 3 ? INT32_MAX : INT32_MIN));
    const out = rmsnormRow(xa, ga, n);
    expect(out.every((v) => Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX)).toBe(true);
    expect(checkRms(xa, ga)).toBeNull();
  });
});

describe('layernormRow', () => {
  it('matches float LayerNorm (no bias) with random gammas', () => {
    // On top of the RMSNorm bound: the mean is floored, shifting every centred value by
    // delta in [0, 1) LSB, which moves y_i by |gamma| delta / sigma LSB (sigma in real units;
    // the change of the variance, delta^2 / 2^32, is negligible).
    const rng = new Rng(0x1a7e);
    for (let t = 0; t < 200; t++) {
      const n = rng.pick([2, 7, 64, 200]);
      const scale = rng.pick([0.01, 1, 50, 3000]);
      const offset = rng.pick([0, 5, -300]) * (scale > 1000 ? 0 : 1);
      const x = Array.from({ length: n }, () => fx(offset + gauss(rng) * scale));
      const g = Array.from({ length: n }, () => fx(gauss(rng)));
      const out = layernormRow(x, g, n);
      const mean = x.reduce((a, b) => a + b, 0) / n / Q;
      let v = 0;
      for (const xi of x) v += (xi / Q - mean) ** 2;
      const sigma = Math.sqrt(v / n + 1e-5);
      for (let i = 0; i < n; i++) {
        const y = ((g[i]! / Q) * (x[i]! / Q - mean)) / sigma;
        const bound = rmsBound(y, g[i]! / Q, sigma) + Math.abs(g[i]! / Q) / sigma;
        if (!(Math.abs(out[i]! - sat32(y * Q)) <= bound)) expect({ t, i, got: out[i], want: y * Q, bound }).toBeNull();
      }
    }
  });

  it('a constant row gives zeros', () => {
    expect(layernormRow([5 * Q, 5 * Q, 5 * Q], [Q, Q, Q], 3).every((v) => v === 0)).toBe(true);
  });
});

/** Float softmax of log2-domain scores over the valid entries. */
function floatSoftmax(z: number[], valid: boolean[]): { p: number[]; sTrue: number } {
  let zmax = -Infinity;
  z.forEach((v, j) => {
    if (valid[j] && v > zmax) zmax = v;
  });
  const e = z.map((v, j) => (valid[j] ? 2 ** ((v - zmax) / Q) : 0));
  const s = e.reduce((a, b) => a + b, 0);
  return { p: e.map((v) => v / s), sTrue: s * Q };
}

const OUT_FORMATS: [number, number, number][] = [
  // [outBits, fractional bits of the output (Q16 for int32, as documented), max value]
  [8, 7, 127],
  [16, 15, 32767],
  [32, 16, INT32_MAX],
];

describe('softmaxRow', () => {
  it('matches float softmax, sums to 2^ob within nValid/2 + 1, masked entries exactly 0', () => {
    const rng = new Rng(0x50f7);
    for (let t = 0; t < 400; t++) {
      const n = rng.pick([1, 2, 3, 8, 33, 128, 300]);
      const spread = rng.pick([0.5, 4, 20, 200]);
      const top = rng.int(-2000, 2000) * Q;
      const valid = Array.from({ length: n }, () => rng.next() > 0.3);
      valid[rng.int(0, n - 1)] = true;
      // Masked entries get scores above every valid one: they must not be taken as the max.
      const z = valid.map((ok) => (ok ? top - Math.floor(rng.next() * spread * Q) : top + rng.int(1, 100 * Q)));
      const nValid = valid.filter(Boolean).length;
      const { p, sTrue } = floatSoftmax(z, valid);
      for (const [bits, ob, hi] of OUT_FORMATS) {
        const out = softmaxRow(z, n, (j) => valid[j]!, bits);
        expect(out.length).toBe(n);
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const o = out[j]!;
          if (!valid[j]) {
            if (o !== 0) expect({ t, j, o }).toEqual({ t, j, o: 0 });
            continue;
          }
          sum += o;
          if (!(Number.isInteger(o) && o >= 0 && o <= hi)) expect({ t, j, o, bits }).toBe('an integer in 0..hi');
          // e_j within 1.06 of E_j (pow2neg), S = sum e within nValid * 1.06 of S_true, so
          // |e/S - E/S_true| <= 1.06 (1 + p_j nValid) / (S_true - nValid 1.06); the floored
          // reciprocal loses <= S / 2^46 <= nValid 2^-30; rounding and the clamp <= 1 LSB.
          const bound = (POW2_V_ERR * (1 + p[j]! * nValid)) / (sTrue - nValid * POW2_V_ERR) + nValid * 2 ** -30 + 2 ** -ob + 1e-12;
          const err = Math.abs(o / 2 ** ob - p[j]!);
          if (!(err <= bound)) expect({ t, j, bits, o, p: p[j], err, bound }).toBeNull();
        }
        // sum of e_j recip / 2^(46-ob) lies in (2^ob - nValid 2^(ob-30), 2^ob]; each half-up
        // rounding moves it by [-1/2, 1/2); the clamp (only at p ~ 1) removes at most 1.
        const lo = 2 ** ob - nValid / 2 - nValid * 2 ** (ob - 30) - 1;
        const hiSum = 2 ** ob + nValid / 2;
        if (!(sum >= lo && sum < hiSum)) expect({ t, bits, sum, lo, hiSum }).toBeNull();
      }
    }
  });

  it('masking equals dropping the masked entries', () => {
    const rng = new Rng(0x3a5c);
    for (let t = 0; t < 200; t++) {
      const n = rng.int(1, 60);
      const z = Array.from({ length: n }, () => rng.int(-40 * Q, 40 * Q));
      const valid = Array.from({ length: n }, () => rng.next() < 0.6);
      const keep = z.filter((_, j) => valid[j]);
      for (const [bits] of OUT_FORMATS) {
        const full = softmaxRow(z, n, (j) => valid[j]!, bits);
        const compact = softmaxRow(keep, keep.length, () => true, bits);
        expect(full.filter((_, j) => valid[j])).toEqual(compact);
        expect(full.filter((_, j) => !valid[j]).every((v) => v === 0)).toBe(true);
      }
    }
  });

  it('all entries masked gives all zeros', () => {
    for (const [bits] of OUT_FORMATS) expect(softmaxRow([1, 2, 3], 3, () => false, bits)).toEqual([0, 0, 0]);
  });

  it('equal inputs give equal outputs of ~2^ob / n', () => {
    for (const [bits, ob] of OUT_FORMATS) {
      for (const n of [1, 2, 3, 7, 100, 1000]) {
        for (const v of [0, -5 * Q, 123456, INT32_MIN, INT32_MAX]) {
          const out = softmaxRow(new Array(n).fill(v), n, () => true, bits);
          expect(new Set(out).size).toBe(1);
          // Exact: e = 2^16 each, recip = floor(2^46 / (n 2^16)), one rounding, clamp at 1.
          expect(Math.abs(out[0]! - 2 ** ob / n)).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('large negative scores give 0 without NaN; a lone survivor gets all the mass', () => {
    for (const [bits, ob, hi] of OUT_FORMATS) {
      const z = [0, INT32_MIN, -(2 ** 30), INT32_MIN + 1, -(18 * Q)];
      const out = softmaxRow(z, z.length, () => true, bits);
      expect(out.every((v) => Number.isInteger(v))).toBe(true);
      expect(out.slice(1)).toEqual([0, 0, 0, 0]);
      expect(out[0]).toBe(Math.min(hi, 2 ** ob));
      const z2 = [INT32_MAX, INT32_MIN];
      expect(softmaxRow(z2, 2, () => true, bits)).toEqual([Math.min(hi, 2 ** ob), 0]);
      // Two equal survivors among very negative scores share the mass.
      const z3 = [INT32_MIN, 7 * Q, INT32_MIN, 7 * Q];
      expect(softmaxRow(z3, 4, () => true, bits)).toEqual([0, 2 ** (ob - 1), 0, 2 ** (ob - 1)]);
    }
  });

  it('is monotone in the score and invariant under a common shift', () => {
    const rng = new Rng(0x5a1);
    for (let t = 0; t < 200; t++) {
      const n = rng.int(2, 80);
      const z = Array.from({ length: n }, () => rng.int(-10 * Q, 10 * Q));
      const c = rng.int(-(2 ** 30), 2 ** 30);
      const zs = z.map((v) => v + c);
      for (const [bits] of OUT_FORMATS) {
        const out = softmaxRow(z, n, () => true, bits);
        expect(softmaxRow(zs, n, () => true, bits)).toEqual(out);
        const order = z.map((_, j) => j).sort((a, b) => z[a]! - z[b]!);
        for (let i = 1; i < n; i++) if (out[order[i]!]! < out[order[i - 1]!]!) expect({ t, bits, at: order[i] }).toBe('monotone');
      }
    }
  });

  it('two entries one log2 unit apart split 2:1', () => {
    // 2^0 : 2^-1 -> 2/3 and 1/3 (pow2neg(2^16) is exact).
    for (const [bits, ob] of OUT_FORMATS) {
      const out = softmaxRow([Q, 0], 2, () => true, bits);
      expect(Math.abs(out[0]! - (2 / 3) * 2 ** ob)).toBeLessThanOrEqual(1);
      expect(Math.abs(out[1]! - (1 / 3) * 2 ** ob)).toBeLessThanOrEqual(1);
    }
  });
});
