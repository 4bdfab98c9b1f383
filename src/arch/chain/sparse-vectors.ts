/**
 * Random row streams for the sparse chain: per row a random mode and 1..4 windows, random
 * weights (INT8 or INT4 range), indexes and activations, stalls and extreme rows. Gives the
 * per-cycle inputs, the model's per-cycle outputs, and, independently of any model, the dot
 * product each reduction node must emit, in order.
 */
import { Rng } from '../../util/random.ts';
import { packFields, toRawBig } from '../../numerics/bits.ts';
import { activationPosition, chainGeometry, indexWidth, modeTable } from '../../sparsity/pattern.ts';
import { ACC_WIDTH } from '../mac/mac-slice.ts';
import type { SparseChainParams } from './sparse-chain.ts';
import { SparseChainModel } from './sparse-model.ts';
import type { Cycle } from './vectors.ts';

export interface SparseStimulusOptions {
  rows: number;
  seed: number;
  /** Weight value range: INT8 or INT4 (sign-extended to the slice's weight port). */
  weights: 'int8' | 'int4';
  stallRate?: number;
  /** Restrict the modes drawn (indexes into the mode table). */
  modes?: number[];
  /** Two tokens per window (the packed chain): a second activation window `act2`. */
  pack?: boolean;
}

/** What the vector generator needs of a chain model (sparse or packed). */
export interface ChainModelLike {
  readonly res: number[];
  readonly resValid: boolean[];
  readonly res2?: number[];
  step(c: { rst: boolean; ce: boolean; mode: number; first: boolean; last: boolean; act: number[]; act2: number[]; w: number[]; idx: number[] }): void;
}

export interface SparseVectors {
  inputs: Cycle[];
  /** Model outputs per cycle (raw bit patterns, as the simulator returns them). */
  model: { res: bigint; res2?: bigint; res_valid: bigint }[];
  /** Per reduction node, the row results it must emit, in order (computed from the inputs only); per token when packed. */
  expected: bigint[][];
  expected2: bigint[][];
  rowsPerMode: number[];
}


export function sparseChainVectors(p: SparseChainParams, o: SparseStimulusOptions, model: ChainModelLike = new SparseChainModel(p)): SparseVectors {
  const rng = new Rng(o.seed);
  const L = p.length;
  const G = p.groupSize;
  const modes = modeTable(p.patterns);
  const geoms = modes.map((q) => chainGeometry(q, L, G));
  const iw = indexWidth(modes);
  const groups = L / G;
  const inputs: Cycle[] = [];
  const out: SparseVectors['model'] = [];
  const expected: bigint[][] = Array.from({ length: groups }, () => []);
  const expected2: bigint[][] = Array.from({ length: groups }, () => []);
  const rowsPerMode = new Array<number>(modes.length).fill(0);
  const wMax = o.weights === 'int4' ? 7 : 2 ** (p.bWidth - 1) - 1;

  const push = (c: { rst: boolean; ce: boolean; mode: number; first: boolean; last: boolean; act: number[]; act2: number[]; w: number[]; idx: number[] }) => {
    inputs.push({ rst: c.rst, ce: c.ce, mode: c.mode, first: c.first, last: c.last, act: packFields(c.act, p.aWidth), w: packFields(c.w, p.bWidth), idx: packFields(c.idx, iw), ...(o.pack ? { act2: packFields(c.act2, p.aWidth) } : {}) });
    out.push({ res: packFields(model.res, ACC_WIDTH), res_valid: packFields(model.resValid.map(Number), 1), ...(o.pack ? { res2: packFields(model.res2!, ACC_WIDTH) } : {}) });
    model.step(c);
  };
  const randomAct = (extreme: number) => Array.from({ length: L }, () => (extreme === 1 ? -(2 ** (p.aWidth - 1)) : extreme === 2 ? 0 : rng.signed(p.aWidth)));
  const randomWindow = (extreme: number) => ({
    act: randomAct(extreme),
    act2: o.pack ? randomAct(extreme) : [],
    w: Array.from({ length: L }, () => (extreme === 1 ? -wMax - 1 : extreme === 2 ? 0 : o.weights === 'int4' ? rng.int(-8, 7) : rng.signed(p.bWidth))),
    idx: Array.from({ length: L }, () => (extreme === 1 ? 2 ** iw - 1 : rng.int(0, 2 ** iw - 1))),
  });

  for (let t = 0; t < 2; t++) push({ rst: true, ce: true, mode: 0, first: false, last: false, ...randomWindow(2) });
  for (let r = 0; r < o.rows; r++) {
    const mode = o.modes ? rng.pick(o.modes) : rng.int(0, modes.length - 1);
    rowsPerMode[mode]!++;
    const g = geoms[mode]!;
    const windows = rng.int(1, 4);
    const extreme = rng.int(0, 15) === 0 ? 1 : rng.int(0, 31) === 0 ? 2 : 0; // maximal accumulation, all zeros
    const sums = new Array<bigint>(g.segments).fill(0n);
    const sums2 = new Array<bigint>(g.segments).fill(0n);
    for (let t = 0; t < windows; t++) {
      while (rng.next() < (o.stallRate ?? 0.1)) push({ rst: false, ce: false, mode: rng.int(0, modes.length - 1), first: rng.next() < 0.5, last: rng.next() < 0.5, ...randomWindow(0) });
      const win = randomWindow(extreme);
      for (let s = 0; s < g.segments; s++) {
        for (let q = 0; q < g.segmentLength; q++) {
          const j = s * g.segmentLength + q;
          const q2 = modes[mode]!;
          const mBits = q2 === 'dense' ? 0 : Math.ceil(Math.log2(q2.m));
          const pos = activationPosition(q2, g, j, win.idx[j]! & ((1 << mBits) - 1));
          sums[s]! += BigInt(win.w[j]!) * BigInt(win.act[pos]!);
          if (o.pack) sums2[s]! += BigInt(win.w[j]!) * BigInt(win.act2[pos]!);
        }
      }
      push({ rst: false, ce: true, mode, first: t === 0, last: t === windows - 1, ...win });
    }
    for (let s = 0; s < g.segments; s++) {
      expected[((s + 1) * g.segmentLength) / G - 1]!.push(toRawBig(sums[s]!, ACC_WIDTH));
      if (o.pack) expected2[((s + 1) * g.segmentLength) / G - 1]!.push(toRawBig(sums2[s]!, ACC_WIDTH));
    }
  }
  for (let t = 0; t < L + 4; t++) push({ rst: false, ce: true, mode: 0, first: false, last: false, ...randomWindow(2) });
  return { inputs, model: out, expected, expected2, rowsPerMode };
}
