import { Bool, defineModule, lit, log2Ceil, mux, pack, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { ACC_WIDTH, cascadeWidth, macSlice } from '../mac/mac-slice.ts';
import { chainGeometry, indexWidth, modeTable, patternName } from '../../sparsity/pattern.ts';
import { checkSparseChainParams, sparseChainName, type SparseChainParams } from './sparse-chain.ts';
import { controlLine, delayLine, perMode, sparseMux } from './chain-parts.ts';

/** Bit offset of the second activation in a packed DSP A operand (two INT8 MACs per DSP). */
export const PACK_SHIFT = 18;

export function checkPackedChainParams(p: SparseChainParams): void {
  checkSparseChainParams(p);
  if (p.aWidth !== 8 || p.bWidth !== 8) throw new RangeError(`--pack 2 needs INT8 activations and weights (got a${p.aWidth} x b${p.bWidth})`);
  // A group's low field sums G products of magnitude <= 2^14 and must stay inside 18 signed bits.
  if (p.groupSize > 7) throw new RangeError(`--pack 2 needs DSP groups of at most 7 slices (got ${p.groupSize}): the packed low field would overflow`);
}

/** Cycles from a window entering the chain to reduction node k's accumulator holding it. */
export function packedNodeLatency(k: number, groupSize: number): number {
  return (k + 1) * groupSize + 3;
}

/**
 * The sparse chain with two INT8 MACs per DSP (FlightLLM's packing, `--pack 2`): two
 * activation windows (two tokens) share the weights, and each slice multiplies
 * A = act0 * 2^18 + act1 by its weight. The cascade stays inside a DSP group, where the low
 * field (the sum of at most 7 products) cannot overflow; at each group's end an overflow adjust
 * unit splits P into its exact high (token 0) and low (token 1) sums, and fabric adders carry
 * them on to the next group of the segment (delayed to meet that group's data) and accumulate
 * them over a row's windows at the segment end. Results are bit-exact with two unpacked chains.
 */
export const packedChain = defineModule<SparseChainParams>('packed_chain', (p) => sparseChainName(p).replace(/^sparse_chain_/, 'packed_chain_'), (m, p) => {
  checkPackedChainParams(p);
  const L = p.length;
  const G = p.groupSize;
  const modes = modeTable(p.patterns);
  const geoms = modes.map((q) => chainGeometry(q, L, G));
  const iw = indexWidth(modes);
  const groups = L / G;
  m.doc(`Packed sparse DSP chain (two INT8 MACs per DSP): ${L} DSPs in groups of ${G}; modes ${modes.map(patternName).join(', ')}.`);

  const ce = m.input('ce', Bool);
  const mode = m.input('mode', UInt(log2Ceil(modes.length)));
  const first = m.input('first', Bool);
  const last = m.input('last', Bool);
  const act0Bus = m.input('act', UInt(L * 8));
  const act1Bus = m.input('act2', UInt(L * 8));
  const wBus = m.input('w', UInt(L * 8));
  const idxBus = m.input('idx', UInt(L * iw));
  const res0 = m.output('res', UInt(groups * ACC_WIDTH));
  const res1 = m.output('res2', UInt(groups * ACC_WIDTH));
  const resValid = m.output('res_valid', UInt(groups));

  const win0 = split(act0Bus, L, SInt(8)).map((e, i) => m.wire(`win_${i}`, SInt(8), e));
  const win1 = split(act1Bus, L, SInt(8)).map((e, i) => m.wire(`win2_${i}`, SInt(8), e));
  const ws = split(wBus, L, SInt(8));
  const idxs = modes.length > 1 ? split(idxBus, L).map((e, i) => m.wire(`idx_${i}`, UInt(iw), e)) : [];
  if (modes.length === 1) m.unused(idxBus);
  const ctl = controlLine(m, ce, mode, first, last, packedNodeLatency(groups - 1, G) - 1);

  const zero = lit(0, SInt(ACC_WIDTH));
  const valids: Expr[] = [];
  const hiWords: Expr[] = [];
  const loWords: Expr[] = [];
  let prevHi: Expr | undefined;
  let prevLo: Expr | undefined;
  let prev: Expr = zero;
  for (let j = 0; j < L; j++) {
    const a0 = m.wire(`act_sel_${j}`, SInt(8), sparseMux(win0, idxs[j], modes, geoms, j, mode));
    const a1 = m.wire(`act2_sel_${j}`, SInt(8), sparseMux(win1, idxs[j], modes, geoms, j, mode));
    const packed = m.wire(`act_pack_${j}`, SInt(27), a0.shl(PACK_SHIFT).ext(27).add(a1.ext(27)).trunc(27));
    const slice = m.instance(`mac_${j}`, macSlice, { aWidth: 27, bWidth: 8, backend: p.backend }, {
      ce,
      a: delayLine(m, ce, packed, `act_${j}`, j),
      b: delayLine(m, ce, ws[j]!, `w_${j}`, j),
      // Cascade only inside a DSP group: a group's first slice gets no PCIN wire at all, so
      // synthesis keeps no PCOUT->PCIN link (and no placement constraint) between groups.
      pcin: j % G === 0 ? lit(0, SInt(cascadeWidth(p.backend))) : prev,
      casc_en: lit(j % G === 0 ? 0 : 1, Bool),
      acc_en: lit(0, Bool),
    });
    prev = slice.out('pcout');
    if (j % G === G - 1 && j !== L - 1) m.unused(prev);
    if (j % G !== G - 1) {
      m.unused(slice.out('p'));
      continue;
    }
    const k = (j + 1) / G - 1;
    const at = j + 3; // control aligned with this node's accumulator update
    // Overflow adjust: P = hi * 2^18 + lo with |lo| < 2^17, so lo = sext(P[17:0]) exactly.
    const pk = slice.out('p');
    const lo = m.wire(`node${k}_lo`, SInt(PACK_SHIFT), pk.slice(PACK_SHIFT - 1, 0).asSInt());
    const hi = m.wire(`node${k}_hi`, SInt(ACC_WIDTH - PACK_SHIFT + 1), pk.slice(ACC_WIDTH - 1, PACK_SHIFT).asSInt().add(pk.bit(PACK_SHIFT - 1).toSInt()));
    const segStart = geoms.map((g) => (k * G) % g.segmentLength === 0);
    const segEnd = geoms.map((g) => ((k + 1) * G) % g.segmentLength === 0);
    const casc = k === 0 ? lit(0, Bool) : perMode(segStart.map((s) => !s), ctl.mode[at]!);
    const isEnd = perMode(segEnd, ctl.mode[at]!);
    const accEn = m.wire(`node${k}_acc_en`, Bool, isEnd.and(ctl.first[at]!.not()));
    const accHi = m.reg(`node${k}_acc_hi`, SInt(ACC_WIDTH), { enable: ce });
    const accLo = m.reg(`node${k}_acc_lo`, SInt(ACC_WIDTH), { enable: ce });
    const sum = (own: Expr, carried: Expr | undefined, acc: Expr) =>
      own.ext(ACC_WIDTH).add(carried ? mux(casc, carried, zero) : zero).add(mux(accEn, acc, zero)).trunc(ACC_WIDTH);
    accHi.assign(sum(hi, prevHi, accHi));
    accLo.assign(sum(lo, prevLo, accLo));
    const v = m.reg(`res_valid_${k}`, Bool);
    v.assign(ce.and(isEnd).and(ctl.last[at]!));
    valids.push(v);
    hiWords.push(accHi.asUInt());
    loWords.push(accLo.asUInt());
    // The next group's data arrives G cycles later: delay this node's partial sums to meet it.
    if (k < groups - 1) {
      prevHi = delayLine(m, ce, accHi, `node${k}_hi_fwd`, G - 1);
      prevLo = delayLine(m, ce, accLo, `node${k}_lo_fwd`, G - 1);
    }
  }
  m.unused(prev);
  res0.assign(pack(hiWords));
  res1.assign(pack(loWords));
  resValid.assign(pack(valids));
});
