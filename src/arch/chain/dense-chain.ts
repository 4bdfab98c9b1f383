import { Bool, defineModule, lit, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { ACC_WIDTH, backendSuffix, cascadeWidth, checkMacSliceParams, macSlice, type MacSliceParams } from '../mac/mac-slice.ts';

export interface DenseChainParams extends MacSliceParams {
  /** Number of MAC slices (L). */
  readonly length: number;
}

export function checkDenseChainParams(p: DenseChainParams): void {
  checkMacSliceParams(p);
  if (!Number.isInteger(p.length) || p.length < 1 || p.length > 4096) throw new RangeError(`chain length must be 1..4096, got ${p.length}`);
}

/** Cycles from presenting a vector pair to its dot product appearing on `p` (with `ce` high). */
export function denseChainLatency(length: number): number {
  return length + 2;
}

/**
 * A dense cascaded chain of L MAC slices computing one L-element dot product per cycle.
 * Element i of `a`/`b` is delayed by i cycles (input skew) so that it meets the partial sum
 * of elements 0..i-1 arriving through the cascade; `p` is the last slice's P register.
 */
export const denseChain = defineModule<DenseChainParams>(
  'dense_chain',
  (p) => `dense_chain_l${p.length}_a${p.aWidth}_b${p.bWidth}${backendSuffix(p)}`,
  (m, p) => {
    checkDenseChainParams(p);
    m.doc(`Dense cascaded MAC chain: p = sum_i a[i]*b[i] over ${p.length} elements, latency ${denseChainLatency(p.length)} cycles.`);
    const ce = m.input('ce', Bool);
    const aBus = m.input('a', UInt(p.length * p.aWidth));
    const bBus = m.input('b', UInt(p.length * p.bWidth));
    const pOut = m.output('p', SInt(ACC_WIDTH));
    const as = split(aBus, p.length, SInt(p.aWidth));
    const bs = split(bBus, p.length, SInt(p.bWidth));

    const delayed = (x: Expr, name: string, cycles: number): Expr => {
      let cur = x;
      for (let k = 0; k < cycles; k++) {
        const r = m.reg(`${name}_d${k + 1}`, x.type, { enable: ce });
        r.assign(cur);
        cur = r;
      }
      return cur;
    };

    let prev: Expr = lit(0, SInt(cascadeWidth(p.backend)));
    for (let i = 0; i < p.length; i++) {
      const slice = m.instance(`mac_${i}`, macSlice, { aWidth: p.aWidth, bWidth: p.bWidth, backend: p.backend }, {
        ce,
        a: delayed(as[i]!, `a${i}`, i),
        b: delayed(bs[i]!, `b${i}`, i),
        pcin: prev,
        casc_en: lit(i === 0 ? 0 : 1, Bool),
        acc_en: lit(0, Bool),
      });
      if (i < p.length - 1) m.unused(slice.out('p'));
      prev = slice.out('pcout');
    }
    m.unused(prev);
    pOut.assign(m.instances[p.length - 1]!.out('p'));
  },
);
