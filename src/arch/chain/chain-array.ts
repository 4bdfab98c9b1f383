import { Bool, defineModule, pack, UInt } from '../../hdl/index.ts';
import { ACC_WIDTH, backendSuffix } from '../mac/mac-slice.ts';
import { checkDenseChainParams, denseChain, type DenseChainParams } from './dense-chain.ts';

export interface ChainArrayParams extends DenseChainParams {
  /** Number of chains (C); each computes one dot product per cycle. */
  readonly chains: number;
}

export function checkChainArrayParams(p: ChainArrayParams): void {
  checkDenseChainParams(p);
  if (!Number.isInteger(p.chains) || p.chains < 1 || p.chains > 65536) throw new RangeError(`chain count must be 1..65536, got ${p.chains}`);
}

/**
 * C dense chains sharing one broadcast activation vector `a`, each with its own weight
 * vector: the shape of a matrix-vector engine (the default top until the MPE exists).
 * Chain c reads `b[c*L*bw +: L*bw]` and drives `p[c*48 +: 48]`.
 */
export const chainArray = defineModule<ChainArrayParams>(
  'chain_array',
  (p) => `chain_array_c${p.chains}_l${p.length}_a${p.aWidth}_b${p.bWidth}${backendSuffix(p)}`,
  (m, p) => {
    checkChainArrayParams(p);
    m.doc(`${p.chains} dense chains of ${p.length} MACs with a broadcast activation vector.`);
    const ce = m.input('ce', Bool);
    const a = m.input('a', UInt(p.length * p.aWidth));
    const b = m.input('b', UInt(p.chains * p.length * p.bWidth));
    const pOut = m.output('p', UInt(p.chains * ACC_WIDTH));
    const lane = p.length * p.bWidth;
    const outs = [];
    for (let c = 0; c < p.chains; c++) {
      const chain = m.instance(`chain_${c}`, denseChain, { length: p.length, aWidth: p.aWidth, bWidth: p.bWidth, backend: p.backend }, {
        ce,
        a,
        b: b.slice((c + 1) * lane - 1, c * lane),
      });
      outs.push(chain.out('p').asUInt());
    }
    pOut.assign(pack(outs));
  },
);
