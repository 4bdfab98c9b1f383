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

export function packWeights(rows: number, K: number, at: (r: number, k: number) => number, pattern: Pattern, shape: PackShape): PackedWeights {
  const { chains: C, length: L, groupSize: G } = shape;
  const g = chainGeometry(pattern, L, G);
  const windows = Math.ceil(K / L);
  const rowsPerBatch = C * g.segments;
  const batches = Math.ceil(rows / rowsPerBatch);
  const value = (r: number, k: number) => (r < rows && k < K ? at(r, k) : 0);
  const beats: PackedWeights['beats'] = [];
  for (let b = 0; b < batches; b++) {
    for (let t = 0; t < windows; t++) {
      const w = new Int8Array(C * L);
      const idx = new Uint8Array(C * L);
      for (let c = 0; c < C; c++) {
        for (let s = 0; s < g.segments; s++) {
          const r = b * rowsPerBatch + c * g.segments + s;
          const base = c * L + s * g.segmentLength;
          if (pattern === 'dense') {
            for (let j = 0; j < L; j++) w[base + j] = value(r, t * L + j);
            continue;
          }
          for (let grp = 0; grp < L / g.groupSpan; grp++) {
            let u = 0;
            for (let i = 0; i < g.groupSpan; i++) {
              const v = value(r, t * L + grp * g.groupSpan + i);
              if (v === 0) continue;
              if (u === g.keptPerGroup) {
                throw new SparsityError(`row ${r} has more than ${g.keptPerGroup} non-zeros in columns ${t * L + grp * g.groupSpan}..${t * L + (grp + 1) * g.groupSpan - 1}: not ${g.keptPerGroup}:${g.groupSpan} sparse`);
              }
              w[base + grp * g.keptPerGroup + u] = v;
              idx[base + grp * g.keptPerGroup + u] = i;
              u++;
            }
          }
        }
      }
      beats.push({ w, idx });
    }
  }
  return { batches, windows, beats };
}
