/**
 * The weight-buffer format of the MPE (shared by the hardware generator, the compiler and the
 * golden model): a matrix W[rows][K] becomes beats of C x L lanes, one beat per (row batch,
 * window), batch-major. Lane c*L + j feeds slice j of chain c and holds an INT8 weight and
 * its N:M index. A row batch is C * M/N rows: chain c, segment s computes row
 * batch*C*segments + c*segments + s. K is zero-padded to whole windows of L, rows to whole
 * batches.
 */
import { chainGeometry, type Pattern } from './pattern.ts';

export interface PackShape {
  /** Chains (C). */
  readonly chains: number;
  /** Slices per chain (L). */
  readonly length: number;
  /** Slices per DSP group (G). */
  readonly groupSize: number;
}

export interface PackedWeights {
  readonly batches: number;
  readonly windows: number;
  /** beats[batch * windows + window]: weights and indexes of lane c*L + j. */
  readonly beats: { w: Int8Array; idx: Uint8Array }[];
}

export class SparsityError extends Error {
  override name = 'SparsityError';
}

/**
 * Where each lane of each beat comes from: `lanes[beat][lane]` is r * K + k for the weight at
 * (r, k), or -1 for a padding lane. `nonZero` says which weights an N:M row keeps.
 */
export function packLayout(rows: number, K: number, nonZero: (r: number, k: number) => boolean, pattern: Pattern, shape: PackShape): { batches: number; windows: number; lanes: Int32Array[]; idx: Uint8Array[] } {
  const { chains: C, length: L, groupSize: G } = shape;
  const g = chainGeometry(pattern, L, G);
  const windows = Math.ceil(K / L);
  const rowsPerBatch = C * g.segments;
  const batches = Math.ceil(rows / rowsPerBatch);
  const lanes: Int32Array[] = [];
  const idxs: Uint8Array[] = [];
  for (let b = 0; b < batches; b++) {
    for (let t = 0; t < windows; t++) {
      const lane = new Int32Array(C * L).fill(-1);
      const idx = new Uint8Array(C * L);
      for (let c = 0; c < C; c++) {
        for (let s = 0; s < g.segments; s++) {
          const r = b * rowsPerBatch + c * g.segments + s;
          if (r >= rows) continue;
          const base = c * L + s * g.segmentLength;
          if (pattern === 'dense') {
            for (let j = 0; j < L; j++) if (t * L + j < K) lane[base + j] = r * K + t * L + j;
            continue;
          }
          for (let grp = 0; grp < L / g.groupSpan; grp++) {
            let u = 0;
            for (let i = 0; i < g.groupSpan; i++) {
              const k = t * L + grp * g.groupSpan + i;
              if (k >= K || !nonZero(r, k)) continue;
              if (u === g.keptPerGroup) {
                throw new SparsityError(`row ${r} has more than ${g.keptPerGroup} non-zeros in columns ${t * L + grp * g.groupSpan}..${t * L + (grp + 1) * g.groupSpan - 1}: not ${g.keptPerGroup}:${g.groupSpan} sparse`);
              }
              lane[base + grp * g.keptPerGroup + u] = r * K + k;
              idx[base + grp * g.keptPerGroup + u] = i;
              u++;
            }
          }
        }
      }
      lanes.push(lane);
      idxs.push(idx);
    }
  }
  return { batches, windows, lanes, idx: idxs };
}

export function packWeights(rows: number, K: number, at: (r: number, k: number) => number, pattern: Pattern, shape: PackShape): PackedWeights {
  const lay = packLayout(rows, K, (r, k) => at(r, k) !== 0, pattern, shape);
  const beats = lay.lanes.map((lanes, i) => {
    const w = new Int8Array(lanes.length);
    lanes.forEach((src, j) => {
      if (src >= 0) w[j] = at(Math.floor(src / K), src % K);
    });
    return { w, idx: lay.idx[i]! };
  });
  return { batches: lay.batches, windows: lay.windows, beats };
}
