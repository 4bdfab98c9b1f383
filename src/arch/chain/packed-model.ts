import { wrapSigned } from '../../numerics/bits.ts';
import { MacSliceModel } from '../mac/model.ts';
import { chainGeometry, modeTable, type ChainGeometry, type Pattern } from '../../sparsity/pattern.ts';
import { checkPackedChainParams, PACK_SHIFT, packedNodeLatency } from './packed-chain.ts';
import type { SparseChainParams } from './sparse-chain.ts';
import { sparseMuxModel, type SparseChainInputs } from './sparse-model.ts';

export interface PackedChainInputs extends SparseChainInputs {
  /** The second token's activation window. */
  act2: readonly number[];
}

/** Cycle-accurate model of `packed_chain`, built like the RTL. */
export class PackedChainModel {
  readonly modes: Pattern[];
  private readonly geoms: ChainGeometry[];
  private readonly slices: MacSliceModel[];
  private readonly aSkew: number[][];
  private readonly wSkew: number[][];
  private ctl: { mode: number; first: boolean; last: boolean }[];
  private readonly accHi: number[];
  private readonly accLo: number[];
  /** Per node, the G-1 forwarding registers of (hi, lo), newest first. */
  private readonly fwd: { hi: number; lo: number }[][];
  private valid: boolean[];

  constructor(readonly params: SparseChainParams) {
    checkPackedChainParams(params);
    const L = params.length;
    const G = params.groupSize;
    this.modes = modeTable(params.patterns);
    this.geoms = this.modes.map((q) => chainGeometry(q, L, G));
    this.slices = Array.from({ length: L }, () => new MacSliceModel({ aWidth: 27, bWidth: 8 }));
    this.aSkew = Array.from({ length: L }, (_, j) => new Array<number>(j).fill(0));
    this.wSkew = Array.from({ length: L }, (_, j) => new Array<number>(j).fill(0));
    this.ctl = Array.from({ length: packedNodeLatency(L / G - 1, G) }, () => ({ mode: 0, first: false, last: false }));
    this.accHi = new Array<number>(L / G).fill(0);
    this.accLo = new Array<number>(L / G).fill(0);
    this.fwd = Array.from({ length: L / G }, () => Array.from({ length: G - 1 }, () => ({ hi: 0, lo: 0 })));
    this.valid = new Array<boolean>(L / G).fill(false);
  }

  get res(): number[] {
    return [...this.accHi];
  }
  get res2(): number[] {
    return [...this.accLo];
  }
  get resValid(): boolean[] {
    return [...this.valid];
  }

  step(i: PackedChainInputs): void {
    const L = this.params.length;
    const G = this.params.groupSize;
    const groups = L / G;
    const cur = { mode: i.mode, first: i.first, last: i.last };
    const ctlAt = (d: number) => (d === 0 ? cur : this.ctl[d - 1]!);
    const geomAt = (d: number) => this.geoms[Math.min(ctlAt(d).mode, this.modes.length - 1)]!;
    const packed = Array.from({ length: L }, (_, j) =>
      wrapSigned(sparseMuxModel(this.modes, this.geoms, j, i.mode, i.idx[j]!, i.act) * 2 ** PACK_SHIFT + sparseMuxModel(this.modes, this.geoms, j, i.mode, i.idx[j]!, i.act2), 27),
    );
    // Node updates from the values before this clock edge.
    const next = Array.from({ length: groups }, (_, k) => {
      const j = (k + 1) * G - 1;
      const at = j + 3;
      const g = geomAt(at);
      const p = this.slices[j]!.p;
      const lo = wrapSigned(p, PACK_SHIFT);
      const hi = (p - lo) / 2 ** PACK_SHIFT;
      const casc = k > 0 && (k * G) % g.segmentLength !== 0;
      const isEnd = ((k + 1) * G) % g.segmentLength === 0;
      const accEn = isEnd && !ctlAt(at).first;
      const carried = k === 0 ? { hi: 0, lo: 0 } : G === 1 ? { hi: this.accHi[k - 1]!, lo: this.accLo[k - 1]! } : this.fwd[k - 1]![G - 2]!;
      return {
        hi: wrapSigned(hi + (casc ? carried.hi : 0) + (accEn ? this.accHi[k]! : 0), 48),
        lo: wrapSigned(lo + (casc ? carried.lo : 0) + (accEn ? this.accLo[k]! : 0), 48),
        valid: i.ce && isEnd && ctlAt(at).last,
      };
    });
    const pcin = this.slices.map((_, j) => (j === 0 ? 0 : this.slices[j - 1]!.p));
    for (let j = 0; j < L; j++) {
      const a = j === 0 ? packed[0]! : this.aSkew[j]![j - 1]!;
      const w = j === 0 ? i.w[0]! : this.wSkew[j]![j - 1]!;
      this.slices[j]!.step({ rst: i.rst, ce: i.ce, a, b: w, pcin: pcin[j]!, cascEn: j % G !== 0, accEn: false });
    }
    if (i.rst) {
      for (const s of [...this.aSkew, ...this.wSkew]) s.fill(0);
      this.ctl = this.ctl.map(() => ({ mode: 0, first: false, last: false }));
      this.accHi.fill(0);
      this.accLo.fill(0);
      for (const f of this.fwd) for (const r of f) Object.assign(r, { hi: 0, lo: 0 });
      this.valid.fill(false);
      return;
    }
    this.valid = next.map((n) => n.valid);
    if (!i.ce) return;
    for (let j = 1; j < L; j++) {
      this.aSkew[j]!.pop();
      this.aSkew[j]!.unshift(packed[j]!);
      this.wSkew[j]!.pop();
      this.wSkew[j]!.unshift(i.w[j]!);
    }
    this.ctl.pop();
    this.ctl.unshift(cur);
    for (let k = 0; k < groups; k++) {
      const f = this.fwd[k]!;
      if (f.length > 0) {
        f.pop();
        f.unshift({ hi: this.accHi[k]!, lo: this.accLo[k]! });
      }
      this.accHi[k] = next[k]!.hi;
      this.accLo[k] = next[k]!.lo;
    }
  }
}
