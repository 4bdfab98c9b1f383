import { MacSliceModel } from '../mac/model.ts';
import { checkDenseChainParams, type DenseChainParams } from './dense-chain.ts';

export interface DenseChainInputs {
  rst: boolean;
  ce: boolean;
  a: readonly number[];
  b: readonly number[];
}

/** Cycle-accurate model of `dense_chain`: the skew registers plus L MAC slice models. */
export class DenseChainModel {
  private readonly slices: MacSliceModel[];
  private readonly aSkew: number[][];
  private readonly bSkew: number[][];

  constructor(readonly params: DenseChainParams) {
    checkDenseChainParams(params);
    this.slices = Array.from({ length: params.length }, () => new MacSliceModel(params));
    this.aSkew = Array.from({ length: params.length }, (_, i) => new Array<number>(i).fill(0));
    this.bSkew = Array.from({ length: params.length }, (_, i) => new Array<number>(i).fill(0));
  }

  get p(): number {
    return this.slices[this.params.length - 1]!.p;
  }

  step(i: DenseChainInputs): void {
    const L = this.params.length;
    const pcin = this.slices.map((_, k) => (k === 0 ? 0 : this.slices[k - 1]!.p));
    for (let k = 0; k < L; k++) {
      const a = k === 0 ? i.a[0]! : this.aSkew[k]![k - 1]!;
      const b = k === 0 ? i.b[0]! : this.bSkew[k]![k - 1]!;
      this.slices[k]!.step({ rst: i.rst, ce: i.ce, a, b, pcin: pcin[k]!, cascEn: k > 0, accEn: false });
    }
    for (let k = 1; k < L; k++) {
      if (i.rst) {
        this.aSkew[k]!.fill(0);
        this.bSkew[k]!.fill(0);
      } else if (i.ce) {
        this.aSkew[k]!.pop();
        this.aSkew[k]!.unshift(i.a[k]!);
        this.bSkew[k]!.pop();
        this.bSkew[k]!.unshift(i.b[k]!);
      }
    }
  }
}
