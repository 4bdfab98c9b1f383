/**
 * Weight quantization and N:M pruning into the MPE's packed lane format, and the stored
 * formats of weight lanes (one definition for the compiler, the golden model's LD and the MMU).
 *
 * Scheme: one float scale per weight row (applied after the MPE, by the requantizer) times a
 * small integer *group multiplier* k (1..15) per group of 16 lanes, applied when the MMU
 * expands the stored weights into MPE lanes: lane = q * k. INT4 q in [-8, 7] with k <= 15 gives
 * |lane| <= 120, so INT4 with group scales still feeds INT8 lanes exactly, and the dot product
 * stays one integer sum per row. INT8 weights get group multipliers only when the lanes are
 * wide enough (weight lanes of 12+ bits); with 8-bit lanes they are per-row.
 */
import { packLayout, type PackShape } from '../sparsity/packing.ts';
import type { Pattern } from '../sparsity/pattern.ts';

export const WEIGHT_GROUP = 16;
export const MAX_GROUP_MULT = 15;

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
 */
export function quantizeMatrix(w: Float32Array, rows: number, K: number, pattern: Pattern, precision: WeightPrecision, shape: PackShape, laneBits: number): QuantizedMatrix {
  const pruned = pruneNM(w, rows, K, pattern);
  const lay = packLayout(rows, K, (r, k) => pruned[r * K + k] !== 0, pattern, shape);
  const Q = qmax(precision);
  const kmax = maxGroupMultiplier(precision, laneBits);
  const rowScale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mx = 0;
    for (let k = 0; k < K; k++) mx = Math.max(mx, Math.abs(pruned[r * K + k]!));
    rowScale[r] = mx > 0 ? mx / (Q * kmax) : 1;
  }
  const nLanes = lay.lanes.length * shape.chains * shape.length;
  if (nLanes % WEIGHT_GROUP !== 0) throw new RangeError(`a beat of ${shape.chains * shape.length} lanes is not a multiple of the ${WEIGHT_GROUP}-lane weight group`);
  const lanes = new Int16Array(nLanes);
  const q = new Int8Array(nLanes);
  const idx = new Uint8Array(nLanes);
  const groupMult = new Uint8Array(nLanes / WEIGHT_GROUP);
  const src = new Int32Array(nLanes);
  lay.lanes.forEach((l, b) => {
    src.set(l, b * l.length);
    idx.set(lay.idx[b]!, b * l.length);
  });
  const lo = precision === 'int8' ? -127 : -8;
  for (let g = 0; g < groupMult.length; g++) {
    let need = 1;
    for (let i = g * WEIGHT_GROUP; i < (g + 1) * WEIGHT_GROUP; i++) {
      const s = src[i]!;
      if (s < 0) continue;
      const r = Math.floor(s / K);
      need = Math.max(need, Math.ceil(Math.abs(pruned[s]!) / (Q * rowScale[r]!) - 1e-9));
    }
    const k = Math.min(kmax, need);
    groupMult[g] = k;
    for (let i = g * WEIGHT_GROUP; i < (g + 1) * WEIGHT_GROUP; i++) {
      const s = src[i]!;
      if (s < 0) continue;
      const r = Math.floor(s / K);
      const v = Math.max(lo, Math.min(Q, Math.round(pruned[s]! / (k * rowScale[r]!))));
      q[i] = v;
      lanes[i] = v * k;
    }
  }
  return { rows, K, pattern, precision, batches: lay.batches, windows: lay.windows, lanes, q, idx, groupMult, rowScale };
}

/**
 * Stored weight stream (external memory): lanes in beat order, in blocks of 32 lanes. INT8: 32
 * bytes; INT4: 16 bytes, low nibble first. When `grouped`, each block is followed by one byte
 * holding the multipliers of its two 16-lane groups (low nibble first).
 */
export function weightStreamBytes(lanes: number, precision: WeightPrecision, grouped: boolean): number {
  const blocks = Math.ceil(lanes / 32);
  return blocks * ((precision === 'int8' ? 32 : 16) + (grouped ? 1 : 0));
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
    if (grouped) out[o++] = (qm.groupMult[b / 16] ?? 1) | ((qm.groupMult[b / 16 + 1] ?? 1) << 4);
  }
  return out;
}

/** Decodes `count` lanes of a stored weight stream (what the MMU's expander does). */
export function decodeWeightStream(bytes: Uint8Array, count: number, precision: WeightPrecision, grouped: boolean): Int16Array {
  const out = new Int16Array(count);
  let o = 0;
  for (let b = 0; b < count; b += 32) {
    const payload = precision === 'int8' ? 32 : 16;
    const mult = grouped ? bytes[o + payload]! : 0x11;
    for (let i = 0; i < 32 && b + i < count; i++) {
      const raw = precision === 'int8' ? bytes[o + i]! : (bytes[o + (i >> 1)]! >> ((i & 1) * 4)) & 15;
      const v = precision === 'int8' ? (raw << 24) >> 24 : (raw << 28) >> 28;
      const k = i < 16 ? mult & 15 : mult >> 4;
      if (k === 0) throw new RangeError(`weight group multiplier 0 in the block at byte ${o}`);
      out[b + i] = v * k;
    }
    o += payload + (grouped ? 1 : 0);
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
