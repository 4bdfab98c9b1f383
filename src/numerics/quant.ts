/**
 * Weight quantization and N:M pruning into the MPE's packed lane format, and the stored
 * formats of weight lanes (one definition for the compiler, the golden model's LD and the MMU).
 *
 * Scheme: one float scale per weight row (applied after the MPE, by the requantizer) times an
 * integer *group multiplier* k (1..255) per group of 16 lanes, applied when the MMU expands the
 * stored weights into MPE lanes: lane = q * k. The dot product stays one integer sum per row,
 * and group-wise scales cost nothing in the MPE. How large k may be depends on the lane width:
 * INT4 q in [-8, 7] into 8-bit lanes allows k <= 16; INT8 q needs wider lanes (16-bit lanes,
 * still inside the DSP48E2's 18-bit B port, allow k <= 255); with INT8 q in 8-bit lanes k = 1,
 * i.e. per-row scales only.
 */
import { packLayout, type PackShape } from '../sparsity/packing.ts';
import type { Pattern } from '../sparsity/pattern.ts';

export const WEIGHT_GROUP = 16;
/** Multiplier bytes after each 32-lane block of a grouped weight stream. */
export const GROUP_BYTES = 2;
export const MAX_GROUP_MULT = 255;

export type WeightPrecision = 'int8' | 'int4';

export function qmax(p: WeightPrecision): number {
  return p === 'int8' ? 127 : 7;
}

/** Largest group multiplier whose lanes still fit `laneBits` signed bits. */
export function maxGroupMultiplier(p: WeightPrecision, laneBits: number): number {
  const lim = 2 ** (laneBits - 1);
  const k = p === 'int4' ? Math.floor(lim / 8) : Math.floor((lim - 1) / 127);
  return Math.max(1, Math.min(MAX_GROUP_MULT, k));
}

/** Keeps the N largest-magnitude weights of every M consecutive ones in each row (ties: lower index). */
export function pruneNM(w: Float32Array, rows: number, K: number, pattern: Pattern): Float32Array {
  if (pattern === 'dense') return w;
  const out = new Float32Array(w.length);
  const { n, m } = pattern;
  const order = Array.from({ length: m }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < K; g += m) {
      const base = r * K + g;
      const span = Math.min(m, K - g);
      const idx = order.slice(0, span).sort((a, b) => Math.abs(w[base + b]!) - Math.abs(w[base + a]!) || a - b);
      for (let i = 0; i < Math.min(n, span); i++) out[base + idx[i]!] = w[base + idx[i]!]!;
    }
  }
  return out;
}

export interface QuantizedMatrix {
  readonly rows: number;
  readonly K: number;
  readonly pattern: Pattern;
  readonly precision: WeightPrecision;
  readonly batches: number;
  readonly windows: number;
  /** MPE lanes, beat after beat (C*L per beat): q * k. */
  readonly lanes: Int16Array;
  /** The stored value q of each lane (lane / k). */
  readonly q: Int8Array;
  /** N:M index of each lane (0 for dense). */
  readonly idx: Uint8Array;
  /** Group multiplier of each 16-lane group. */
  readonly groupMult: Uint8Array;
  /** Float scale of each row: W[r][k] ~ rowScale[r] * lane. */
  readonly rowScale: Float64Array;
}

/**
 * Prunes (N:M by magnitude), packs into beats and quantizes W[rows][K] (row-major floats).
 * Groups are 16 consecutive lanes of the packed stream, i.e. one chain's window slice.
 *
 * With `hessian` (H = sum x x^T of the matrix's calibration inputs, K x K) the rounding error
 * of each column is fed forward into the not yet quantized columns as GPTQ does (Frantar et
 * al. 2023), so the *output* error is minimised rather than the weight error; pruned weights
 * stay zero. Columns are taken window by window, and a group's multiplier is chosen when its
 * window starts, from the error-corrected weights.
 */
export function quantizeMatrix(w: Float32Array, rows: number, K: number, pattern: Pattern, precision: WeightPrecision, shape: PackShape, laneBits: number, hessian?: Float64Array): QuantizedMatrix {
  const pruned = pruneNM(w, rows, K, pattern);
  const keep = (r: number, k: number) => pattern === 'dense' || pruned[r * K + k] !== 0;
  const lay = packLayout(rows, K, keep, pattern, shape);
  const Q = qmax(precision);
  const kmax = maxGroupMultiplier(precision, laneBits);
  const rowScale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mx = 0;
    for (let k = 0; k < K; k++) mx = Math.max(mx, Math.abs(pruned[r * K + k]!));
    rowScale[r] = mx > 0 ? mx / (Q * kmax) : 1;
  }
  const CL = shape.chains * shape.length;
  const L = shape.length;
  const nLanes = lay.lanes.length * CL;
  if (CL % WEIGHT_GROUP !== 0) throw new RangeError(`a beat of ${CL} lanes is not a multiple of the ${WEIGHT_GROUP}-lane weight group`);
  const lanes = new Int16Array(nLanes);
  const q = new Int8Array(nLanes);
  const idx = new Uint8Array(nLanes);
  const groupMult = new Uint8Array(nLanes / WEIGHT_GROUP).fill(1);
  const laneOf = new Int32Array(rows * K).fill(-1);
  lay.lanes.forEach((l, b) => {
    l.forEach((src, j) => {
      if (src >= 0) laneOf[src] = b * CL + j;
    });
    idx.set(lay.idx[b]!, b * CL);
  });
  const U = hessian ? gptqFactor(hessian, K) : undefined;
  const W = Float64Array.from(pruned);
  const lo = precision === 'int8' ? -127 : -8;
  const windows = lay.windows;
  for (let t = 0; t < windows; t++) {
    // Group multipliers of every beat of window t (beats are batch-major: b * windows + t).
    for (let b = 0; b < lay.batches; b++) {
      const beat = b * windows + t;
      for (let g = (beat * CL) / WEIGHT_GROUP; g < ((beat + 1) * CL) / WEIGHT_GROUP; g++) {
        let need = 1;
        for (let i = g * WEIGHT_GROUP; i < (g + 1) * WEIGHT_GROUP; i++) {
          const src = lay.lanes[beat]![i - beat * CL]!;
          if (src < 0) continue;
          need = Math.max(need, Math.ceil(Math.abs(W[src]!) / (Q * rowScale[Math.floor(src / K)]!) - 1e-9));
        }
        // INT4: smallest squared error over multipliers down to 60% of the no-clipping one
        // (clipping the largest weight a little buys a finer step for the rest). INT8 steps are
        // fine enough that clipping only hurt in our measurements (docs/quantization.md).
        const top = Math.min(kmax, need);
        let best = top;
        let bestErr = Infinity;
        const lowest = precision === 'int4' ? Math.max(1, Math.floor(top * 0.6)) : top;
        for (let k = top; k >= lowest; k--) {
          let err = 0;
          for (let i = g * WEIGHT_GROUP; i < (g + 1) * WEIGHT_GROUP; i++) {
            const src = lay.lanes[beat]![i - beat * CL]!;
            if (src < 0) continue;
            const step = k * rowScale[Math.floor(src / K)]!;
            const x = W[src]!;
            err += (x - Math.max(lo, Math.min(Q, Math.round(x / step))) * step) ** 2;
          }
          if (err < bestErr) {
            bestErr = err;
            best = k;
          }
        }
        groupMult[g] = best;
      }
    }
    for (let j = t * L; j < Math.min(K, (t + 1) * L); j++) {
      for (let r = 0; r < rows; r++) {
        const i = laneOf[r * K + j]!;
        if (i < 0) continue;
        const k = groupMult[Math.floor(i / WEIGHT_GROUP)]!;
        const step = k * rowScale[r]!;
        const v = Math.max(lo, Math.min(Q, Math.round(W[r * K + j]! / step)));
        q[i] = v;
        lanes[i] = v * k;
        if (!U) continue;
        const err = (W[r * K + j]! - v * step) / U[j * K + j]!;
        for (let c = j + 1; c < K; c++) if (laneOf[r * K + c]! >= 0) W[r * K + c] -= err * U[j * K + c]!;
      }
    }
  }
  return { rows, K, pattern, precision, batches: lay.batches, windows: lay.windows, lanes, q, idx, groupMult, rowScale };
}

/** Lower Cholesky factor of a symmetric positive definite n x n matrix (row-major). */
function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError('matrix is not positive definite');
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j]!;
    }
  }
  return l;
}

/**
 * GPTQ's factor: the upper Cholesky factor U of (H + damp * mean(diag H) * I)^-1 (H^-1 = U^T U),
 * dead inputs (zero diagonal) made harmless. GPTQ's paper damps with 1% of the mean diagonal;
 * on our calibration sets (a few hundred tokens) 100% measured best (docs/quantization.md).
 */
export function gptqFactor(hessian: Float64Array, n: number, damp = 1.0): Float64Array {
  const h = Float64Array.from(hessian);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += h[i * n + i]! / n;
  for (let i = 0; i < n; i++) {
    if (h[i * n + i] === 0) h[i * n + i] = 1;
    h[i * n + i] += damp * (mean || 1);
  }
  const l = cholesky(h, n);
  // inv(L) by forward substitution, then H^-1 = inv(L)^T inv(L).
  const li = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= l[i * n + k]! * li[k * n + c]!;
      li[i * n + c] = s / l[i * n + i]!;
    }
  }
  const hinv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i]! * li[k * n + j]!;
      hinv[i * n + j] = s;
      hinv[j * n + i] = s;
    }
  }
  // Upper factor of hinv: the transpose of the lower Cholesky factor of the reversed matrix is
  // what GPTQ uses; computing chol(hinv) lower and transposing gives H^-1 = U^T U with U = L^T.
  const lh = cholesky(hinv, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = lh[j * n + i]!;
  return u;
}

/**
 * Stored weight stream (external memory): lanes in beat order, in blocks of 32 lanes. INT8: 32
 * bytes; INT4: 16 bytes, low nibble first. When `grouped`, each block is followed by two bytes,
 * the multipliers of its two 16-lane groups.
 */
export function weightStreamBytes(lanes: number, precision: WeightPrecision, grouped: boolean): number {
  const blocks = Math.ceil(lanes / 32);
  return blocks * ((precision === 'int8' ? 32 : 16) + (grouped ? GROUP_BYTES : 0));
}

export function encodeWeightStream(qm: QuantizedMatrix, grouped: boolean): Uint8Array {
  const n = qm.q.length;
  const out = new Uint8Array(weightStreamBytes(n, qm.precision, grouped));
  let o = 0;
  for (let b = 0; b < n; b += 32) {
    if (qm.precision === 'int8') {
      for (let i = 0; i < 32; i++) out[o++] = (qm.q[b + i] ?? 0) & 0xff;
    } else {
      for (let i = 0; i < 32; i += 2) out[o++] = ((qm.q[b + i] ?? 0) & 15) | (((qm.q[b + i + 1] ?? 0) & 15) << 4);
    }
    if (grouped) {
      out[o++] = qm.groupMult[b / 16] ?? 1;
      out[o++] = qm.groupMult[b / 16 + 1] ?? 1;
    }
  }
  return out;
}

/** Decodes `count` lanes of a stored weight stream (what the MMU's expander does). */
export function decodeWeightStream(bytes: Uint8Array, count: number, precision: WeightPrecision, grouped: boolean): Int16Array {
  const out = new Int16Array(count);
  let o = 0;
  for (let b = 0; b < count; b += 32) {
    const payload = precision === 'int8' ? 32 : 16;
    const k0 = grouped ? bytes[o + payload]! : 1;
    const k1 = grouped ? bytes[o + payload + 1]! : 1;
    for (let i = 0; i < 32 && b + i < count; i++) {
      const raw = precision === 'int8' ? bytes[o + i]! : (bytes[o + (i >> 1)]! >> ((i & 1) * 4)) & 15;
      const v = precision === 'int8' ? (raw << 24) >> 24 : (raw << 28) >> 28;
      const k = i < 16 ? k0 : k1;
      if (k === 0) throw new RangeError(`weight group multiplier 0 in the block at byte ${o}`);
      out[b + i] = v * k;
    }
    o += payload + (grouped ? GROUP_BYTES : 0);
  }
  return out;
}

/** N:M indices stored two per byte (low nibble first). */
export function encodeIndexStream(idx: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(idx.length / 2));
  for (let i = 0; i < idx.length; i += 2) out[i >> 1] = (idx[i]! & 15) | ((idx[i + 1] ?? 0) << 4);
  return out;
}

/** Per-tensor activation scale from an observed maximum: the largest |x| maps to qmax / margin. */
export function activationScale(maxAbs: number, bits: number, margin: number): number {
  const q = 2 ** (bits - 1) - 1;
  return Math.max(maxAbs, 1e-6) * margin / q;
}
