import { wrapSigned } from '../../numerics/bits.ts';
import { activationPosition, chainGeometry, modeTable } from '../../sparsity/pattern.ts';
import { checkMpeParams, mpeTileCycles, RESULT_WIDTH, type MpeParams } from './mpe.ts';

export interface MpeTile {
  mode: number;
  rows: number;
  batches: number;
  windows: number;
  tokens: number;
  actBase: number;
  actStride: number;
  wBase: number;
  outBase: number;
  outStride: number;
  accumulate: boolean;
}

export interface MpeBuffers {
  /** Activation window at a buffer address (L values). */
  act(addr: number): ArrayLike<number>;
  /** Weight beat at a buffer address (C*L weights and indexes). */
  weights(addr: number): { w: ArrayLike<number>; idx: ArrayLike<number> };
}

/**
 * Transaction-level model of the MPE: the same results, in the same order, and the same cycle
 * count as the RTL, computed per tile without modelling individual cycles.
 */
export class MpeModel {
  readonly acc: Int32Array;

  constructor(readonly params: MpeParams) {
    checkMpeParams(params);
    this.acc = new Int32Array(params.accDepth);
  }

  run(tile: MpeTile, buf: MpeBuffers): { writes: { addr: number; value: number }[]; cycles: number } {
    const p = this.params;
    const { chains: C, length: L, groupSize: G } = p;
    const modes = modeTable(p.patterns);
    const q = modes[Math.min(tile.mode, modes.length - 1)]!;
    const g = chainGeometry(q, L, G);
    const mBits = q === 'dense' ? 0 : Math.ceil(Math.log2(q.m));
    const mask = (x: number, bits: number) => ((x % 2 ** bits) + 2 ** bits) % 2 ** bits;
    const actAW = Math.max(1, Math.ceil(Math.log2(p.actDepth)));
    const wAW = Math.max(1, Math.ceil(Math.log2(p.weightDepth)));
    const accAW = Math.max(1, Math.ceil(Math.log2(p.accDepth)));
    const writes: { addr: number; value: number }[] = [];
    if (tile.windows === 0) return { writes, cycles: mpeTileCycles(p, tile) };
    const P = p.pack ?? 1;
    for (let b = 0; b < tile.batches; b++) {
      // A pass takes P tokens; its results come out token by token, chain by chain.
      for (let n0 = 0; n0 < tile.tokens; n0 += P) {
        for (let n = n0; n < Math.min(n0 + P, tile.tokens); n++) {
          for (let c = 0; c < C; c++) {
            for (let s = 0; s < g.segments; s++) {
              let sum = 0;
              for (let t = 0; t < tile.windows; t++) {
                const act = buf.act(mask(tile.actBase + n * tile.actStride + t, actAW));
                const beat = buf.weights(mask(tile.wBase + b * tile.windows + t, wAW));
                for (let qq = 0; qq < g.segmentLength; qq++) {
                  const j = s * g.segmentLength + qq;
                  const lane = c * L + j;
                  const pos = activationPosition(q, g, j, beat.idx[lane]! & ((1 << mBits) - 1));
                  sum += beat.w[lane]! * act[pos]!;
                }
                sum = wrapSigned(sum, 48);
              }
              const row = (b * C * g.segments + c * g.segments + s) % 2 ** 16;
              if (row >= tile.rows) continue;
              const addr = mask(tile.outBase + mask(n * tile.outStride, accAW) + row, accAW);
              const value = wrapSigned((tile.accumulate ? this.acc[addr]! : 0) + wrapSigned(sum, RESULT_WIDTH), RESULT_WIDTH);
              this.acc[addr] = value;
              writes.push({ addr, value });
            }
          }
        }
      }
    }
    return { writes, cycles: mpeTileCycles(p, tile) };
  }
}
