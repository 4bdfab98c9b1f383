import { wrapSigned } from '../../numerics/bits.ts';
import { ACC_WIDTH, checkMacSliceParams, type MacSliceParams } from './mac-slice.ts';

export interface MacSliceInputs {
  rst: boolean;
  ce: boolean;
  a: number;
  b: number;
  pcin: number;
  cascEn: boolean;
  accEn: boolean;
}

/** Cycle-accurate model of `mac_slice`: `p` is the P register; `step` is one clock edge. */
export class MacSliceModel {
  private aReg = 0;
  private bReg = 0;
  private mReg = 0;
  private pReg = 0;

  constructor(readonly params: MacSliceParams) {
    checkMacSliceParams(params);
  }

  get p(): number {
    return this.pReg;
  }

  step(i: MacSliceInputs): void {
    if (i.rst) {
      this.aReg = this.bReg = this.mReg = this.pReg = 0;
      return;
    }
    if (!i.ce) return;
    this.pReg = wrapSigned((i.accEn ? this.pReg : 0) + this.mReg + (i.cascEn ? i.pcin : 0), ACC_WIDTH);
    this.mReg = this.aReg * this.bReg;
    this.aReg = wrapSigned(i.a, this.params.aWidth);
    this.bReg = wrapSigned(i.b, this.params.bWidth);
  }
}
