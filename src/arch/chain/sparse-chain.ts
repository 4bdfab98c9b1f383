import { Bool, defineModule, lit, log2Ceil, pack, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { controlLine, delayLine, perMode, sparseMux } from './chain-parts.ts';
import { ACC_WIDTH, backendSuffix, cascadeWidth, checkMacSliceParams, macSlice, type MacSliceParams } from '../mac/mac-slice.ts';
import { chainGeometry, indexWidth, modeTable, patternName, type Pattern } from '../../sparsity/pattern.ts';

export interface SparseChainParams extends MacSliceParams {
  /** MAC slices (L); also the activation window width. */
  readonly length: number;
  /** Slices per DSP group (fixed cascade inside; a reduction node at each group's end). */
  readonly groupSize: number;
  /** Run-time modes: `dense` plus the N:M patterns chosen at generation time. */
  readonly patterns: readonly Pattern[];
}

export function checkSparseChainParams(p: SparseChainParams): void {
  checkMacSliceParams(p);
  if (!Number.isInteger(p.groupSize) || p.groupSize < 1) throw new RangeError(`DSP group size must be a positive integer, got ${p.groupSize}`);
  if (!Number.isInteger(p.length) || p.length < 1 || p.length % p.groupSize !== 0) {
    throw new RangeError(`chain length (${p.length}) must be a positive multiple of the DSP group size (${p.groupSize})`);
  }
  for (const pat of modeTable(p.patterns)) chainGeometry(pat, p.length, p.groupSize);
}

/** Cycles from a window entering the chain to the P register of slice j holding its product. */
export function sliceLatency(j: number): number {
  return j + 3;
}

export function sparseChainName(p: SparseChainParams): string {
  const modes = modeTable(p.patterns).slice(1).map((q) => patternName(q).replace(':', 'of'));
  return `sparse_chain_l${p.length}_g${p.groupSize}_a${p.aWidth}_b${p.bWidth}${modes.length ? `_nm${modes.join('_')}` : '_dense'}${backendSuffix(p)}`;
}

/**
 * FlightLLM's configurable sparse DSP chain. Inputs per cycle: an activation window (`act`, L
 * elements), L weights (`w`) with their N:M indexes (`idx`), the mode (index into the mode
 * table), and `first`/`last` marking the first and last window of the rows being computed.
 * Each slice's sparse mux picks its activation before the input skew; the mode, `first` and
 * `last` travel down the chain with the data, so modes may change from one row to the next.
 * At the end of DSP group k a reduction node either passes the partial sum on through the
 * cascade or, where a segment ends in the current mode, keeps it (the slice accumulates over
 * the row's windows, W-mux = P) and raises `res_valid[k]` with the row's dot product on
 * `res[k]` when the row's last window has been added.
 */
export const sparseChain = defineModule<SparseChainParams>('sparse_chain', sparseChainName, (m, p) => {
  checkSparseChainParams(p);
  const L = p.length;
  const G = p.groupSize;
  const modes = modeTable(p.patterns);
  const geoms = modes.map((q) => chainGeometry(q, L, G));
  const iw = indexWidth(modes);
  const groups = L / G;
  m.doc(`Sparse DSP chain: ${L} MACs in groups of ${G}; modes ${modes.map(patternName).join(', ')} (mode input = index in this list).`);

  const ce = m.input('ce', Bool);
  const mode = m.input('mode', UInt(log2Ceil(modes.length)));
  const first = m.input('first', Bool);
  const last = m.input('last', Bool);
  const actBus = m.input('act', UInt(L * p.aWidth));
  const wBus = m.input('w', UInt(L * p.bWidth));
  const idxBus = m.input('idx', UInt(L * iw));
  const res = m.output('res', UInt(groups * ACC_WIDTH));
  const resValid = m.output('res_valid', UInt(groups));

  const window = split(actBus, L, SInt(p.aWidth)).map((e, i) => m.wire(`win_${i}`, SInt(p.aWidth), e));
  const ws = split(wBus, L, SInt(p.bWidth));
  const idxs = modes.length > 1 ? split(idxBus, L).map((e, i) => m.wire(`idx_${i}`, UInt(iw), e)) : [];
  if (modes.length === 1) m.unused(idxBus);

  // Control travels with the data: ctl.x[d] is the input x of d cycles ago.
  const depth = sliceLatency(L - 1) - 1; // the last slice's P update uses ctl[L+1]
  const ctl = controlLine(m, ce, mode, first, last, depth);

  const validBits: Expr[] = [];
  const resWords: Expr[] = [];
  let prev: Expr = lit(0, SInt(cascadeWidth(p.backend)));
  for (let j = 0; j < L; j++) {
    const act = m.wire(`act_sel_${j}`, SInt(p.aWidth), sparseMux(window, idxs[j], modes, geoms, j, mode));
    const delay = (x: Expr, name: string) => delayLine(m, ce, x, name, j);

    const at = j + 2; // control aligned with this slice's P update
    const segStart = geoms.map((g) => j % g.segmentLength === 0);
    const segEnd = geoms.map((g) => j % g.segmentLength === g.segmentLength - 1);
    const cascEn = j === 0 ? lit(0, Bool) : perMode(segStart.map((s) => !s), ctl.mode[at]!);
    const isEnd = perMode(segEnd, ctl.mode[at]!);
    const accEn = isEnd.node.kind === 'const' && isEnd.node.value === 0n ? lit(0, Bool) : m.wire(`acc_en_${j}`, Bool, isEnd.and(ctl.first[at]!.not()));

    const slice = m.instance(`mac_${j}`, macSlice, { aWidth: p.aWidth, bWidth: p.bWidth, backend: p.backend }, {
      ce,
      a: delay(act, `act_${j}`),
      b: delay(ws[j]!, `w_${j}`),
      pcin: prev,
      casc_en: cascEn,
      acc_en: accEn,
    });
    prev = slice.out('pcout');

    if (j % G === G - 1) {
      const k = (j + 1) / G - 1;
      // Reduction node k: the row result leaves here when a segment ends at this group.
      // A one-cycle pulse per result (not held through stalls), so consumers never double count.
      const v = m.reg(`res_valid_${k}`, Bool);
      v.assign(ce.and(isEnd).and(ctl.last[at]!));
      validBits.push(v);
      resWords.push(slice.out('p').asUInt());
    } else {
      m.unused(slice.out('p'));
    }
  }
  m.unused(prev);
  res.assign(pack(resWords));
  resValid.assign(pack(validBits));
});
