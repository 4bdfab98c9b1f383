import { Bool, defineModule, lit, log2Ceil, mux, pack, select, split, UInt, type Expr, type Signal } from '../../hdl/index.ts';
import { sparseChain, sparseChainName, type SparseChainParams } from '../chain/sparse-chain.ts';
import { packedChain } from '../chain/packed-chain.ts';
import { ACC_WIDTH } from '../mac/mac-slice.ts';
import { chainGeometry, indexWidth, modeTable } from '../../sparsity/pattern.ts';

/** Width of the MPE's results (the accumulation buffer holds INT32). */
export const RESULT_WIDTH = 32;

export interface ChainUnitParams extends SparseChainParams {
  /** 2: a packed chain (two tokens per pass, two INT8 MACs per DSP); default 1. */
  readonly pack?: 1 | 2;
}

export function chainUnitName(p: ChainUnitParams): string {
  return `mpe_unit_${sparseChainName(p).replace(/^sparse_chain_/, '')}${(p.pack ?? 1) === 2 ? '_p2' : ''}`;
}

/** Capture entries of one chain unit: one per reduction node, per token of a pass. */
export function chainUnitEntries(p: ChainUnitParams): number {
  return ((p.pack ?? 1) * p.length) / p.groupSize;
}

/** Per mode: how far the drain shifts per cycle (reduction nodes per segment). */
export function drainStrides(p: SparseChainParams): number[] {
  return modeTable(p.patterns).map((q) => chainGeometry(q, p.length, p.groupSize).segmentLength / p.groupSize);
}

/**
 * One chain unit of the MPE: a sparse chain (packed with --pack 2) and its share of the output
 * collector, a capture register per reduction node (per token of the pass when packed), loaded
 * when the node's result is valid and, while `shift` is high, shifted towards the MPE's head by
 * the mode's stride (the nodes per segment).
 *
 * The MPE links the units' capture registers into one shift register: capture entry `i` of the
 * whole MPE is `(token half) * C * nodes + chain * nodes + node`, and during the drain entry i
 * takes entry i + stride. Within a unit that is local entry k + stride while k + stride < nodes,
 * otherwise entry k + stride - nodes of the next unit, which arrives on `next_val` / `next_ok`
 * (laid out like `val` / `ok`). The captures only leave through registers: no combinational
 * path from `next_*` to `val` / `ok`.
 */
export const mpeChainUnit = defineModule<ChainUnitParams>('mpe_chain_unit', chainUnitName, (m, p) => {
  const L = p.length;
  const G = p.groupSize;
  const P = p.pack ?? 1;
  const nodes = L / G;
  const N = chainUnitEntries(p);
  const modes = modeTable(p.patterns);
  const strides = drainStrides(p);
  const iw = indexWidth(modes);
  m.doc(`MPE chain unit: a ${P === 2 ? 'packed ' : ''}sparse chain of ${L} MACs and its ${N} capture registers (drain strides ${strides.join(', ')} by mode).`);

  const mode = m.input('mode', UInt(log2Ceil(modes.length)));
  const first = m.input('first', Bool);
  const last = m.input('last', Bool);
  const act = m.input('act', UInt(L * p.aWidth));
  const act2 = P === 2 ? m.input('act2', UInt(L * p.aWidth)) : undefined;
  const w = m.input('w', UInt(L * p.bWidth));
  const idx = m.input('idx', UInt(L * iw));
  const shift = m.input('shift', Bool);
  const nextVal = m.input('next_val', UInt(N * RESULT_WIDTH));
  const nextOk = m.input('next_ok', UInt(N));
  const val = m.output('val', UInt(N * RESULT_WIDTH));
  const ok = m.output('ok', UInt(N));

  const chainParams = { length: L, groupSize: G, patterns: p.patterns, aWidth: p.aWidth, bWidth: p.bWidth, backend: p.backend };
  const chain = m.instance('chain', P === 2 ? packedChain : sparseChain, chainParams, {
    ce: lit(1, Bool),
    mode,
    first,
    last,
    act,
    ...(act2 ? { act2 } : {}),
    w,
    idx,
  });

  // Local entry i = half * nodes + node: the MPE's capture order within this unit.
  const results: Expr[] = [];
  const valids: Expr[] = [];
  for (const [half, port] of (P === 2 ? ['res', 'res2'] : ['res']).entries()) {
    const res = split(chain.out(port), nodes);
    for (let k = 0; k < nodes; k++) {
      results[half * nodes + k] = res[k]!.trunc(RESULT_WIDTH);
      valids[half * nodes + k] = chain.out('res_valid').bit(k);
      m.unused(res[k]!.slice(ACC_WIDTH - 1, RESULT_WIDTH));
    }
  }
  const capVal: Signal[] = [];
  const capOk: Signal[] = [];
  for (let i = 0; i < N; i++) {
    capVal.push(m.reg(`cap_${i}`, UInt(RESULT_WIDTH)));
    capOk.push(m.reg(`cap_valid_${i}`, Bool));
  }
  const nextVals = split(nextVal, N).map((e, i) => m.wire(`next_val_${i}`, UInt(RESULT_WIDTH), e));
  const nextOks = split(nextOk, N).map((e, i) => m.wire(`next_ok_${i}`, Bool, e));
  // The entry `st` places further down the MPE's shift register from local entry i.
  const ahead = (i: number, st: number, own: readonly Expr[], next: readonly Expr[]) => {
    const k = (i % nodes) + st;
    const half = Math.floor(i / nodes);
    return k < nodes ? own[half * nodes + k]! : next[half * nodes + k - nodes]!;
  };
  for (let i = 0; i < N; i++) {
    const shiftedVal = select(mode, strides.map((st) => ahead(i, st, capVal, nextVals)));
    const shiftedOk = select(mode, strides.map((st) => ahead(i, st, capOk, nextOks)));
    capVal[i]!.assign(mux(shift, shiftedVal, mux(valids[i]!, results[i]!, capVal[i]!)));
    capOk[i]!.assign(mux(shift, shiftedOk, valids[i]!.or(capOk[i]!)));
  }
  val.assign(pack(capVal));
  ok.assign(pack(capOk));
});
