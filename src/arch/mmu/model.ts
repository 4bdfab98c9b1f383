import { wrapUnsigned } from '../../numerics/bits.ts';

export interface AddrPattern {
  extBase: number;
  extStrides: readonly [number, number, number];
  bufBase: number;
  bufStrides: readonly [number, number, number];
  /** Iterations per level, innermost (level 0) first. */
  counts: readonly [number, number, number];
}

/**
 * The (external, buffer) address pairs of an LD/ST pattern, innermost level fastest, wrapped
 * at the address widths: the reference for `addr_gen` and the golden model's LD/ST.
 */
export function* addressPairs(p: AddrPattern, extWidth: number, bufWidth: number): Generator<{ ext: number; buf: number }> {
  const [n0, n1, n2] = p.counts;
  for (let i2 = 0; i2 < n2; i2++) {
    for (let i1 = 0; i1 < n1; i1++) {
      for (let i0 = 0; i0 < n0; i0++) {
        yield {
          ext: wrapUnsigned(p.extBase + i2 * p.extStrides[2] + i1 * p.extStrides[1] + i0 * p.extStrides[0], extWidth),
          buf: wrapUnsigned(p.bufBase + i2 * p.bufStrides[2] + i1 * p.bufStrides[1] + i0 * p.bufStrides[0], bufWidth),
        };
      }
    }
  }
}
