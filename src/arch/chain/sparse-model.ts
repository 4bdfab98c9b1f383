import { MacSliceModel } from '../mac/model.ts';
import { activationPosition, chainGeometry, modeTable, type ChainGeometry, type Pattern } from '../../sparsity/pattern.ts';
import { checkSparseChainParams, sliceLatency, type SparseChainParams } from './sparse-chain.ts';

export interface SparseChainInputs {
  rst: boolean;
  ce: boolean;
  mode: number;
  first: boolean;
  last: boolean;
  act: readonly number[];
  w: readonly number[];
  idx: readonly number[];
}

/** Slice j's sparse mux: out-of-table modes act as the last one, and unused index bits are ignored, as in the RTL. */
export function sparseMuxModel(modes: readonly Pattern[], geoms: readonly ChainGeometry[], j: number, mode: number, index: number, act: readonly number[]): number {
  const k = Math.min(mode, modes.length - 1);
  const q = modes[k]!;
  const mBits = q === 'dense' ? 0 : Math.ceil(Math.log2(q.m));
  return act[activationPosition(q, geoms[k]!, j, index & ((1 << mBits) - 1))]!;
}

/** Cycle-accurate model of `sparse_chain`, built the same way: mux, skew, control line, slices. */
export class SparseChainModel {
  readonly modes: Pattern[];
  private readonly geoms: ChainGeometry[];
  private readonly slices: MacSliceModel[];
  private readonly actSkew: number[][];
  private readonly wSkew: number[][];
  /** ctl[d] = (mode, first, last) presented d cycles ago; ctl[0] is the current input. */
  private ctl: { mode: number; first: boolean; last: boolean }[];
  private valid: boolean[];

  constructor(readonly params: SparseChainParams) {
    checkSparseChainParams(params);
    this.modes = modeTable(params.patterns);
    this.geoms = this.modes.map((q) => chainGeometry(q, params.length, params.groupSize));
    this.slices = Array.from({ length: params.length }, () => new MacSliceModel(params));
    this.actSkew = Array.from({ length: params.length }, (_, j) => new Array<number>(j).fill(0));
    this.wSkew = Array.from({ length: params.length }, (_, j) => new Array<number>(j).fill(0));
    this.ctl = Array.from({ length: sliceLatency(params.length - 1) }, () => ({ mode: 0, first: false, last: false }));
    this.valid = new Array<boolean>(params.length / params.groupSize).fill(false);
  }

  /** P of each group's last slice (the reduction nodes' outputs). */
  get res(): number[] {
    const G = this.params.groupSize;
    return this.valid.map((_, k) => this.slices[(k + 1) * G - 1]!.p);
  }

  get resValid(): boolean[] {
    return [...this.valid];
  }

  /** The activation slice j selects (the sparse mux), for a mode index and weight index. */
  selectActivation(j: number, mode: number, index: number, act: readonly number[]): number {
    return sparseMuxModel(this.modes, this.geoms, j, mode, index, act);
  }

  step(i: SparseChainInputs): void {
    const L = this.params.length;
    const G = this.params.groupSize;
    const cur = { mode: i.mode, first: i.first, last: i.last };
    const ctlAt = (d: number) => (d === 0 ? cur : this.ctl[d - 1]!);
    const modeAt = (d: number) => Math.min(ctlAt(d).mode, this.modes.length - 1);
    const selected = Array.from({ length: L }, (_, j) => this.selectActivation(j, i.mode, i.idx[j]!, i.act));
    const pcin = this.slices.map((_, j) => (j === 0 ? 0 : this.slices[j - 1]!.p));
    const nextValid = this.valid.map((v, k) => {
      const j = (k + 1) * G - 1;
      const c = ctlAt(j + 2);
      const g = this.geoms[modeAt(j + 2)]!;
      return j % g.segmentLength === g.segmentLength - 1 && c.last;
    });
    for (let j = 0; j < L; j++) {
      const c = ctlAt(j + 2);
      const g = this.geoms[modeAt(j + 2)]!;
      const a = j === 0 ? selected[0]! : this.actSkew[j]![j - 1]!;
      const w = j === 0 ? i.w[0]! : this.wSkew[j]![j - 1]!;
      const cascEn = j > 0 && j % g.segmentLength !== 0;
      const accEn = j % g.segmentLength === g.segmentLength - 1 && !c.first;
      this.slices[j]!.step({ rst: i.rst, ce: i.ce, a, b: w, pcin: pcin[j]!, cascEn, accEn });
    }
    if (i.rst) {
      for (const s of [...this.actSkew, ...this.wSkew]) s.fill(0);
      this.ctl = this.ctl.map(() => ({ mode: 0, first: false, last: false }));
      this.valid.fill(false);
      return;
    }
    this.valid = nextValid.map((v) => v && i.ce);
    if (!i.ce) return;
    for (let j = 1; j < L; j++) {
      this.actSkew[j]!.pop();
      this.actSkew[j]!.unshift(selected[j]!);
      this.wSkew[j]!.pop();
      this.wSkew[j]!.unshift(i.w[j]!);
    }
    this.ctl.pop();
    this.ctl.unshift(cur);
  }
}
