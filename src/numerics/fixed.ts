/**
 * Fixed-point arithmetic of the SFU and the requantizer: the one definition the compiler, the
 * golden model and the RTL generator share. Every function is integer-exact (inputs and
 * outputs are integers; intermediate products stay below 2^53 or go through bigint), so two
 * implementations that follow this file agree bit for bit.
 *
 * Formats:
 * - `fx`: the SFU's working format, a signed 32-bit integer with FX = 16 fractional bits
 *   (Q15.16). The residual stream, requantized matmul results, norms, RoPE and SiLU all use it.
 * - quantized activations: INT8 or INT16 with a per-tensor scale chosen by the compiler; the
 *   SFU converts fx -> intN with an unsigned 16-bit multiplier and a shift (`quantize`).
 * - probabilities out of softmax: Q(bits-1) (INT16: 1.0 = 2^15, saturating at 2^15 - 1).
 *
 * Rounding everywhere: round half up, `floor((x * m + 2^(sh-1)) / 2^sh)` (one adder and a
 * shifter in hardware), then saturation to the destination range.
 */

export const FX = 16;
export const FX_ONE = 2 ** FX;
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** RMSNorm epsilon (llama2.c: 1e-5) in Q32, the format of mean(x^2) for fx inputs. */
export const NORM_EPS_Q32 = Math.round(1e-5 * 2 ** 32);
/** log2(e) in Q16: exp(x) = 2^(x * log2 e). */
export const LOG2E_Q16 = Math.round(Math.LOG2E * 2 ** 16);
/** GELU(x) = x * sigmoid(1.702 x) (the sigmoid approximation of GELU), 1.702 in Q16. */
export const GELU_K_Q16 = Math.round(1.702 * 2 ** 16);

/** Entries of the 2^-f table (f in [0, 1) in 1/256 steps, plus the end point). */
export const POW2_FRAC_BITS = 8;
/** POW2_TABLE[i] = round(2^16 * 2^(-i/256)), i = 0..256. */
export const POW2_TABLE: readonly number[] = Array.from({ length: (1 << POW2_FRAC_BITS) + 1 }, (_, i) => Math.round(2 ** 16 * 2 ** (-i / (1 << POW2_FRAC_BITS))));

/** Full-circle cosine table for RoPE: COS_TABLE[i] = round(2^16 cos(2 pi i / 4096)). */
export const COS_TABLE_BITS = 12;
export const COS_TABLE: readonly number[] = Array.from({ length: 1 << COS_TABLE_BITS }, (_, i) => Math.round(2 ** 16 * Math.cos((2 * Math.PI * i) / (1 << COS_TABLE_BITS))));

const P2 = Array.from({ length: 64 }, (_, i) => 2 ** i);

/** Saturates an integer to a signed `bits`-bit range. */
export function sat(x: number, bits: number): number {
  const hi = P2[bits - 1]! - 1;
  const lo = -P2[bits - 1]!;
  return x > hi ? hi : x < lo ? lo : x;
}

/**
 * floor((x + 2^(sh-1)) / 2^sh) for sh > 0, x * 2^-sh for sh <= 0. Exact for |x| < 2^52 and
 * sh <= 52 (callers keep products below that; `mulShift` handles the rest).
 */
export function roundShift(x: number, sh: number): number {
  if (sh <= 0) return x * (P2[-sh] ?? 2 ** -sh);
  return Math.floor((x + (P2[sh - 1] ?? 2 ** (sh - 1))) / (P2[sh] ?? 2 ** sh));
}

/** roundShift(a * b, sh), exact for any int32 a and b (bigint when the product passes 2^52). */
export function mulShift(a: number, b: number, sh: number): number {
  const p = a * b;
  if (Math.abs(p) < 2 ** 52 && sh <= 52) return roundShift(p, sh);
  const big = BigInt(a) * BigInt(b);
  if (sh <= 0) return Number(big << BigInt(-sh));
  const s = BigInt(sh);
  return Number((big + (1n << (s - 1n))) >> s);
}

/** fx (or a raw integer) times an unsigned 16-bit multiplier, shifted and saturated to `bits`. */
export function scaleSat(v: number, m: number, sh: number, bits: number): number {
  return sat(mulShift(v, m, sh), bits);
}

/**
 * Dynamic per-row scaling of a quantized activation row (SFU `ewr`): the row's largest
 * magnitude M maps to qmax. recip = floor(qmax * 2^32 / M) and q_j = sat(round(v_j * recip /
 * 2^32)). `unscale` is what the requantizer multiplies by afterwards (SFU `erd`) to return to
 * the static scale the compiler assumed (imm * 2^-shift): imm * 2^(32 - shift) / recip, as a
 * 16-bit multiplier and shift computed with exact integer arithmetic.
 */
export interface RowScale {
  readonly recip: number;
  readonly unscale: Multiplier;
}

export function rowScale(row: ArrayLike<number>, n: number, imm: number, shift: number, bits: number): RowScale {
  const qmax = 2 ** (bits - 1) - 1;
  let M = 0;
  for (let j = 0; j < n; j++) M = Math.max(M, Math.abs(row[j]!));
  if (M === 0 || imm === 0) return { recip: 0, unscale: { m: 0, sh: 0 } };
  const recip = Math.floor((qmax * 2 ** 32) / M);
  // unscale = imm * 2^(32 - shift) / recip; pick sh so that m lands in [2^15, 2^16).
  const num = BigInt(imm);
  const den = BigInt(recip);
  const mAt = (sh: number): bigint => {
    const e = 32 - shift + sh;
    return e >= 0 ? (num << BigInt(e)) / den : num / (den << BigInt(-e));
  };
  let sh = Math.floor(Math.log2((65535 * recip) / imm)) - (32 - shift);
  for (let i = 0; i < 4 && mAt(sh) >= 1n << 16n; i++) sh--;
  for (let i = 0; i < 4 && mAt(sh + 1) < 1n << 16n; i++) sh++;
  return { recip, unscale: { m: Number(mAt(sh)), sh } };
}

/** A row element under dynamic scaling: sat(round(v * recip / 2^32)). */
export function rowQuantize(v: number, rs: RowScale, bits: number): number {
  return sat(mulShift(v, rs.recip, 32), bits);
}

/** A requantization multiplier: value = m * 2^-sh with m an unsigned 16-bit integer. */
export interface Multiplier {
  readonly m: number;
  readonly sh: number;
}

/**
 * The multiplier closest to `c` with m in [2^15, 2^16). When that needs a shift above the range,
 * the shift is clamped and m gets smaller (still at least 2^8, i.e. 8 significant bits).
 */
export function toMultiplier(c: number, shRange: [number, number] = [-32, 63]): Multiplier {
  if (!(c > 0) || !Number.isFinite(c)) throw new RangeError(`requantization scale must be positive and finite, got ${c}`);
  let sh = Math.floor(Math.log2(65535 / c));
  if (sh > shRange[1]) sh = shRange[1];
  let m = Math.round(c * 2 ** sh);
  while (m > 65535) {
    sh -= 1;
    m = Math.round(c * 2 ** sh);
  }
  if (sh < shRange[0] || m < 256) throw new RangeError(`requantization scale ${c} does not fit a 16-bit multiplier with a shift in ${shRange[0]}..${shRange[1]}`);
  return { m, sh };
}

/** Per-column requantization element in the scale buffer: m in bits 0..15, right shift in 16..21. */
export function packColumnScale(x: Multiplier): number {
  if (x.sh < 0 || x.sh > 47) throw new RangeError(`column scale shift ${x.sh} outside 0..47`);
  return x.m | (x.sh << 16);
}
export function unpackColumnScale(e: number): Multiplier {
  return { m: e & 0xffff, sh: (e >>> 16) & 63 };
}

/** 2^(-d / 2^16) in Q16 for d >= 0 (Q16): table lookup with linear interpolation, then a shift. */
export function pow2neg(d: number): number {
  const k = Math.floor(d / FX_ONE);
  if (k > 16) return 0;
  const f = d - k * FX_ONE;
  const i = f >> POW2_FRAC_BITS;
  const fr = f & ((1 << POW2_FRAC_BITS) - 1);
  const a = POW2_TABLE[i]!;
  const b = POW2_TABLE[i + 1]!;
  const v = a - roundShift((a - b) * fr, POW2_FRAC_BITS);
  return roundShift(v, k);
}

/** sigmoid(x) in Q16 for fx x: 2^32 / (2^16 + e^-|x|), mirrored for negative x. */
export function sigmoidFx(x: number): number {
  const e = pow2neg(mulShift(Math.abs(x), LOG2E_Q16, FX));
  const s = Math.floor(2 ** 32 / (FX_ONE + e));
  return x >= 0 ? s : FX_ONE - s;
}

export function siluFx(x: number): number {
  return sat(mulShift(x, sigmoidFx(x), FX), 32);
}

export function geluFx(x: number): number {
  return sat(mulShift(x, sigmoidFx(mulShift(x, GELU_K_Q16, FX)), FX), 32);
}

/** Floor square root of a non-negative bigint (Newton's method from above: exact for any size). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 2n) return n;
  let x = 1n << (BigInt(n.toString(2).length + 1) >> 1n);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** 1/rms of a row of fx values, in Q24: floor(2^40 / isqrt(mean(x^2) + eps)) with mean in Q32. */
export function rmsInverse(x: ArrayLike<number>, n: number): number {
  let ss = 0n;
  for (let i = 0; i < n; i++) {
    const v = BigInt(x[i]!);
    ss += v * v;
  }
  const ms = ss / BigInt(n) + BigInt(NORM_EPS_Q32);
  return Math.floor(2 ** 40 / Number(isqrt(ms)));
}

/** RMSNorm of one row: y_i = gamma_i * x_i / rms(x), all fx. */
export function rmsnormRow(x: ArrayLike<number>, gamma: ArrayLike<number>, n: number): number[] {
  const r = rmsInverse(x, n);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = sat(mulShift(mulShift(x[i]!, r, 24), gamma[i]!, FX), 32);
  return out;
}

/** LayerNorm of one row (no bias): gamma_i * (x_i - mean) / sqrt(var + eps), all fx. */
export function layernormRow(x: ArrayLike<number>, gamma: ArrayLike<number>, n: number): number[] {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  const mean = Math.floor(s / n);
  const c = Array.from({ length: n }, (_, i) => sat(x[i]! - mean, 32));
  return rmsnormRow(c, gamma, n);
}

/**
 * Softmax of one row of log2-domain fx scores (the requantizer folds log2(e) and 1/sqrt(d) into
 * its multiplier): p_j = 2^(z_j - max) / sum, in Q(outBits - 1) (Q16 for int32). Masked entries
 * (`valid(j)` false) are 0 and excluded from max and sum.
 */
export function softmaxRow(z: ArrayLike<number>, n: number, valid: (j: number) => boolean, outBits: number): number[] {
  let zmax = -Infinity;
  for (let j = 0; j < n; j++) if (valid(j) && z[j]! > zmax) zmax = z[j]!;
  const out = new Array<number>(n).fill(0);
  if (zmax === -Infinity) return out;
  const e = new Array<number>(n).fill(0);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    if (!valid(j)) continue;
    e[j] = pow2neg(zmax - z[j]!);
    sum += e[j]!;
  }
  const recip = Math.floor(2 ** 46 / sum);
  const ob = outBits >= 32 ? FX : outBits - 1;
  const hi = outBits >= 32 ? INT32_MAX : 2 ** (outBits - 1) - 1;
  for (let j = 0; j < n; j++) if (valid(j)) out[j] = Math.min(hi, roundShift(e[j]! * recip, 46 - ob));
  return out;
}

/** cos and sin (Q16) of an angle in Q32 turns, from COS_TABLE with linear interpolation. */
export function cosSinTurns(theta: number): [number, number] {
  const N = 1 << COS_TABLE_BITS;
  const idxBits = 32 - COS_TABLE_BITS;
  const look = (t: number) => {
    const i = Math.floor(t / 2 ** idxBits);
    const fr = Math.floor((t % 2 ** idxBits) / 2 ** (idxBits - 16));
    const a = COS_TABLE[i]!;
    const b = COS_TABLE[(i + 1) % N]!;
    return a + roundShift((b - a) * fr, 16);
  };
  const c = look(theta);
  const s = look((theta - 2 ** 30 + 2 ** 32) % 2 ** 32); // sin(t) = cos(t - 1/4 turn)
  return [c, s];
}

/** A RoPE frequency in Q32 turns per position: round(2^32 * theta^(-2i/d) / (2 pi)) mod 2^32. */
export function ropeFreqTurns(i: number, headSize: number, theta: number): number {
  const f = theta ** (-(2 * i) / headSize) / (2 * Math.PI);
  return Math.round(f * 2 ** 32) % 2 ** 32;
}

/**
 * RoPE over one row of fx values (all heads of one token): pairs (2i, 2i+1) of each head of
 * `headSize` rotate by pos * freq[i] turns (freq: Q32 turns, headSize/2 entries).
 */
export function ropeRow(x: ArrayLike<number>, n: number, headSize: number, freq: ArrayLike<number>, pos: number): number[] {
  const out = Array.from({ length: n }, (_, i) => x[i]!);
  for (let j = 0; j + 1 < n; j += 2) {
    const f = freq[(j % headSize) / 2]! >>> 0;
    // pos * f mod 2^32 without losing bits: split f into 16-bit halves.
    const theta = (((pos * (f >>> 16)) % 2 ** 16) * 2 ** 16 + pos * (f & 0xffff)) % 2 ** 32;
    const [c, s] = cosSinTurns(theta);
    const a = x[j]!;
    const b = x[j + 1]!;
    out[j] = sat(roundShift(a * c - b * s, FX), 32);
    out[j + 1] = sat(roundShift(a * s + b * c, FX), 32);
  }
  return out;
}

/** Converts a float to fx (round to nearest, saturating). */
export function toFx(v: number): number {
  return sat(Math.round(v * FX_ONE), 32);
}
export function fromFx(v: number): number {
  return v / FX_ONE;
}
