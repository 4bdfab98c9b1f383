import { Bool, defineModule, lit, mux, SInt } from '../../hdl/index.ts';
import { dsp48e2Slice } from './dsp48e2.ts';
import { DSP58_A_MAX, DSP58_B_MAX, dsp58Slice } from './dsp58.ts';

/** Accumulator width of a DSP48E2 (P register and cascade). */
export const ACC_WIDTH = 48;

/** Width of the dedicated cascade (pcin/pcout): 58 on the DSP58, whose PCOUT->PCIN links are 58 bits. */
export function cascadeWidth(backend: DspBackend = 'behavioral'): number {
  return backend === 'versal-dsp58' ? 58 : ACC_WIDTH;
}
/** DSP48E2 multiplier operand limits: A (27 bits) x B (18 bits). */
export const DSP48E2_A_MAX = 27;
export const DSP48E2_B_MAX = 18;

export const DSP_BACKENDS = ['behavioral', 'xilinx-dsp48e2', 'versal-dsp58'] as const;
export type DspBackend = (typeof DSP_BACKENDS)[number];

/** Signed operand widths each backend's multiplier takes (DSP58 INT24 mode: 27 x 24). */
export function macOperandLimits(backend: DspBackend = 'behavioral'): { a: number; b: number } {
  return backend === 'versal-dsp58' ? { a: DSP58_A_MAX, b: DSP58_B_MAX } : { a: DSP48E2_A_MAX, b: DSP48E2_B_MAX };
}

export interface MacSliceParams {
  /** How the MAC is written: portable Verilog, or a direct DSP48E2 instance (default behavioral). */
  readonly backend?: DspBackend;
  /** Width of the signed `a` operand (DSP48E2/DSP58 A port, at most 27). */
  readonly aWidth: number;
  /** Width of the signed `b` operand (DSP48E2 B port, at most 18; DSP58 at most 24). */
  readonly bWidth: number;
}

/** Module-name suffix that keeps the backends' modules apart. */
export function backendSuffix(p: MacSliceParams): string {
  return p.backend === 'xilinx-dsp48e2' ? '_dsp48e2' : p.backend === 'versal-dsp58' ? '_dsp58' : '';
}

export function checkMacSliceParams(p: MacSliceParams): void {
  const max = macOperandLimits(p.backend);
  if (!Number.isInteger(p.aWidth) || p.aWidth < 2 || p.aWidth > max.a) throw new RangeError(`MAC a-operand width must be 2..${max.a}, got ${p.aWidth}`);
  if (!Number.isInteger(p.bWidth) || p.bWidth < 2 || p.bWidth > max.b) throw new RangeError(`MAC b-operand width must be 2..${max.b}${p.backend === 'versal-dsp58' ? '' : ' (24 with --dsp-backend versal-dsp58)'}, got ${p.bWidth}`);
}

/**
 * One DSP48E2-style multiply-accumulate stage: A and B input registers, the M (product)
 * register and the P register, all loading when `ce` is high.
 *   P <= (acc_en ? P : 0) + M + (casc_en ? pcin : 0)
 * (DSP48E2: W-mux = P or 0, X/Y = M, Z-mux = PCIN or 0, OPMODE unregistered), so a chain of
 * slices sums its products through the dedicated cascade (pcout -> pcin) and a slice at the end
 * of a chain segment can also accumulate over time. Latency: a/b to p is 3 cycles.
 */
export const macSlice = defineModule<MacSliceParams>(
  'mac_slice',
  (p) => `mac_slice_a${p.aWidth}_b${p.bWidth}${backendSuffix(p)}`,
  (m, p) => {
    checkMacSliceParams(p);
    m.doc(`DSP48E2-style MAC stage: a (SInt${p.aWidth}) x b (SInt${p.bWidth}), A/B/M/P registers, 48-bit cascade.`);
    const ce = m.input('ce', Bool);
    const a = m.input('a', SInt(p.aWidth));
    const b = m.input('b', SInt(p.bWidth));
    const pcin = m.input('pcin', SInt(cascadeWidth(p.backend)));
    const cascEn = m.input('casc_en', Bool);
    const accEn = m.input('acc_en', Bool);
    const pOut = m.output('p', SInt(ACC_WIDTH));
    const pcout = m.output('pcout', SInt(cascadeWidth(p.backend)));

    if (p.backend === 'xilinx-dsp48e2') {
      dsp48e2Slice(m, { ce, a, b, pcin, cascEn, accEn, p: pOut, pcout });
      return;
    }
    if (p.backend === 'versal-dsp58') {
      dsp58Slice(m, { ce, a, b, pcin, cascEn, accEn, p: pOut, pcout });
      return;
    }
    const aReg = m.reg('a_reg', a.type, { enable: ce });
    const bReg = m.reg('b_reg', b.type, { enable: ce });
    const mReg = m.reg('m_reg', SInt(p.aWidth + p.bWidth), { enable: ce });
    const pReg = m.reg('p_reg', SInt(ACC_WIDTH), { enable: ce });
    aReg.assign(a);
    bReg.assign(b);
    mReg.assign(aReg.mul(bReg));
    // The 48-bit adder wraps like the DSP's ALU: the sum keeps its low 48 bits.
    const zero = lit(0, SInt(ACC_WIDTH));
    pReg.assign(mux(accEn, pReg, zero).add(mReg.ext(ACC_WIDTH)).add(mux(cascEn, pcin, zero)).trunc(ACC_WIDTH));
    pOut.assign(pReg);
    pcout.assign(pReg);
  },
);
