import { Bool, defineModule, lit, mux, pack, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { FX, INT32_MAX } from '../../numerics/fixed.ts';
import { checkLanes } from './elem.ts';
import { delay, delayValid, named, OTYPE_WIDTH, roundShiftConst } from './lib.ts';
import { POW2NEG_LATENCY, sfuPow2neg } from './pow2neg.ts';
import { SCALE_LATENCY, SCALE_SH_WIDTH, sfuScale } from './scale.ts';
import { divCycles, sfuDivSeq, type DivParams } from './seq.ts';

export interface SfuRowParams {
  /** Elements per beat. */
  readonly lanes: number;
}

/** The reciprocal floor(2^46 / sum): sum < 2^32, quotient < 2^31 (sum >= 2^16 for a non-empty row). */
const DIV: DivParams = { xw: 47, dw: 32, qw: 31 };
/** Cycles from a SUM-pass beat to the running sum including it being readable. */
const SUM_PIPE = POW2NEG_LATENCY + 2;
/**
 * Cycles from the last SUM-pass beat (accepted in cycle c) to the first cycle in which the OUT
 * pass's first beat can be accepted (c + SOFTMAX_GAP): the sum pipeline drains, then the divider.
 */
export const SOFTMAX_GAP = SUM_PIPE + divCycles(DIV) + 1;
/** Cycles from an OUT-pass beat being accepted to its result on out_data. */
export const SOFTMAX_OUT_LATENCY = POW2NEG_LATENCY + 2 + SCALE_LATENCY;

/**
 * Cycles per row of `len` elements with beats back to back, from the start cycle to the cycle in
 * which the next row's start is accepted: three passes of ceil(len / lanes) beats (the first
 * beat in the cycle after start) plus the SUM-to-OUT gap. The last results leave
 * SOFTMAX_OUT_LATENCY cycles after the last OUT beat, overlapping the next row.
 */
export function softmaxRowCycles(len: number, lanes: number): number {
  if (len === 0) return 1;
  const b = Math.ceil(len / lanes);
  return 3 * b + SOFTMAX_GAP;
}

const S = { idle: 0, max: 1, sum: 2, drain: 3, div: 4, out: 5 } as const;

/**
 * Softmax of one row (src/numerics/fixed.ts softmaxRow, then the output conversion), `lanes`
 * elements per beat, reading the row three times from the input stream:
 *
 * 1. MAX: the maximum of the valid elements (j < len and, with causal, j <= limit);
 * 2. SUM: sum of e_j = pow2neg(max - z_j) over the valid elements, then q = floor(2^46 / sum)
 *    on a sequential divider;
 * 3. OUT: e_j recomputed, p_j = min(hi, roundShift(e_j * q, 46 - ob)) (0 where masked), then
 *    sat(mulShift(p_j, imm, shift), bits) when imm != 0 (sfu_scale), streamed out in order.
 *
 * Interface: `start` (accepted while busy is low) latches len, causal, limit, otype, imm and
 * shift; then the row is sent three times as beats of `lanes` elements (element j in lane
 * j mod lanes of beat floor(j / lanes); lanes past len are ignored) on in_valid/in_ready.
 * in_ready is high during the three passes except between SUM and OUT (SOFTMAX_GAP cycles after
 * the last SUM beat). Results come out on out_valid (no backpressure) with out_last on the final
 * beat; a row of len = 0 produces nothing. The next row's start is accepted in the cycle after
 * the last OUT beat, while the last results are still in the pipeline.
 */
export const sfuSoftmax = defineModule<SfuRowParams>(
  'sfu_softmax',
  (p) => `sfu_softmax_l${p.lanes}`,
  (m, p) => {
    checkLanes(p.lanes);
    const L = p.lanes;
    m.doc(`SFU softmax row unit, ${L} lanes: max pass, exp/sum pass, reciprocal (sequential divider), output pass.`);
    const start = m.input('start', Bool);
    const len = m.input('len', UInt(16));
    const causal = m.input('causal', Bool);
    const limit = m.input('limit', UInt(17));
    const otype = m.input('otype', UInt(OTYPE_WIDTH));
    const imm = m.input('imm', UInt(16));
    const shift = m.input('shift', SInt(6));
    const inValid = m.input('in_valid', Bool);
    const inData = m.input('in_data', UInt(32 * L));
    const inReady = m.output('in_ready', Bool);
    const outValid = m.output('out_valid', Bool);
    const outLast = m.output('out_last', Bool);
    const outData = m.output('out_data', UInt(32 * L));
    const busyO = m.output('busy', Bool);

    const state = m.reg('state', UInt(3));
    const is = (s: number) => state.eq(s);
    const idle = named(m, 'idle', is(S.idle));
    const go = named(m, 'go', start.and(idle).and(len.ne(0)));
    const lenR = m.reg('len_r', UInt(16), { enable: go, reset: null });
    const causalR = m.reg('causal_r', Bool, { enable: go, reset: null });
    const limitR = m.reg('limit_r', UInt(17), { enable: go, reset: null });
    const otypeR = m.reg('otype_r', UInt(OTYPE_WIDTH), { enable: go, reset: null });
    const immR = m.reg('imm_r', UInt(16), { enable: go, reset: null });
    const shiftR = m.reg('shift_r', SInt(6), { enable: go, reset: null });
    lenR.assign(len);
    causalR.assign(causal);
    limitR.assign(limit);
    otypeR.assign(otype);
    immR.assign(imm);
    shiftR.assign(shift);

    const ready = named(m, 'ready', is(S.max).or(is(S.sum)).or(is(S.out)));
    inReady.assign(ready);
    const fire = named(m, 'fire', inValid.and(ready));
    // Element index of lane 0 in this pass; the beat is the pass's last when j0 + L >= len.
    const j0 = m.reg('j0', UInt(17));
    const lastBeat = named(m, 'last_beat', j0.add(L).ge(lenR));
    const laneValid = Array.from({ length: L }, (_, l) => {
      const j = j0.add(l);
      return named(m, `lv${l}`, j.lt(lenR).and(causalR.not().or(j.le(limitR))));
    });
    const z = split(inData, L, SInt(32));

    // MAX pass: a (valid, value) maximum tree over the lanes, folded into (any, zmax).
    let level = z.map((v, l) => ({ v: laneValid[l]! as Expr, x: v as Expr }));
    let lvl = 0;
    while (level.length > 1) {
      const next: { v: Expr; x: Expr }[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const a = level[i]!;
        const b = level[i + 1];
        if (!b) {
          next.push(a);
          continue;
        }
        const takeA = a.v.and(b.v.not().or(a.x.ge(b.x)));
        next.push({ v: named(m, `mx${lvl}_${i}_v`, a.v.or(b.v)), x: named(m, `mx${lvl}_${i}_x`, mux(takeA, a.x, b.x)) });
      }
      level = next;
      lvl++;
    }
    const bAny = level[0]!.v;
    const bMax = level[0]!.x;
    const any = m.reg('any', Bool);
    const zmax = m.reg('zmax', SInt(32), { reset: null });
    const maxFire = named(m, 'max_fire', fire.and(is(S.max)));
    const takeB = named(m, 'take_b', maxFire.and(bAny).and(any.not().or(bMax.gt(zmax))));
    zmax.assign(mux(takeB, bMax, zmax));
    any.assign(mux(go, lit(0, Bool), any.or(maxFire.and(bAny))));

    // SUM and OUT passes: e_j = pow2neg(zmax - z_j) on every lane (32-bit argument).
    const es = z.map((v, l) => {
      const dArg = zmax.sub(v).trunc(32).asUInt();
      return m.instance(`p2_${l}`, sfuPow2neg, { dWidth: 32 }, { ce: lit(1, Bool), d: dArg }).out('e');
    });
    const one = lit(1, Bool);
    const lvE = laneValid.map((v, l) => delay(m, `lv${l}_e`, v, one, POW2NEG_LATENCY));
    const eMasked = es.map((e, l) => named(m, `em${l}`, mux(lvE[l]!, e, lit(0, e.type))));

    const sumFireE = delayValid(m, 'sum_fire', fire.and(is(S.sum)), one, POW2NEG_LATENCY);
    const beatSum = m.reg('beat_sum', UInt(17 + Math.ceil(Math.log2(L)) + 1), { reset: null });
    beatSum.assign(eMasked.reduce<Expr>((s, e) => s.add(e), lit(0, UInt(1))).resize(beatSum.width));
    const beatSumV = m.reg('beat_sum_v', Bool);
    beatSumV.assign(sumFireE);
    const sum = m.reg('sum', UInt(32));
    sum.assign(mux(go, lit(0, UInt(32)), mux(beatSumV, sum.add(beatSum).trunc(32), sum)));

    // State machine.
    const wc = m.reg('wc', UInt(3));
    const divStart = named(m, 'div_start', is(S.drain).and(wc.eq(SUM_PIPE - 1)));
    const div = m.instance('div', sfuDivSeq, DIV, { start: divStart, x: lit(2n ** 46n, UInt(DIV.xw)), dv: sum });
    m.unused(div.out('busy'));
    const recip = div.out('q');
    wc.assign(mux(is(S.drain), wc.add(1).trunc(3), lit(0, UInt(3))));
    const passEnd = fire.and(lastBeat);
    const nextState = mux(
      go,
      lit(S.max, UInt(3)),
      mux(
        passEnd.and(is(S.max)),
        lit(S.sum, UInt(3)),
        mux(passEnd.and(is(S.sum)), lit(S.drain, UInt(3)), mux(divStart, lit(S.div, UInt(3)), mux(is(S.div).and(div.out('done')), lit(S.out, UInt(3)), mux(passEnd.and(is(S.out)), lit(S.idle, UInt(3)), state))))),
    );
    state.assign(nextState);
    j0.assign(mux(go.or(passEnd), lit(0, UInt(17)), mux(fire, j0.add(L).trunc(17), j0)));
    busyO.assign(idle.not());

    // OUT pass: p_j = min(hi, roundShift(e_j * q, 46 - ob)), then the conversion.
    const outFire = fire.and(is(S.out));
    const outFireE = delayValid(m, 'out_fire', outFire, one, POW2NEG_LATENCY);
    const lastE = delayValid(m, 'out_lastb', outFire.and(lastBeat), one, POW2NEG_LATENCY);
    const otE = delay(m, 'ot', otypeR, one, POW2NEG_LATENCY + 1);
    const immE = delay(m, 'imm', immR, one, POW2NEG_LATENCY + 2);
    const shiftE = delay(m, 'shift', shiftR, one, POW2NEG_LATENCY + 2);
    const otS = delay(m, 'ot_s', otE, one, 1);
    const immNz = named(m, 'imm_nz', immE.ne(0));
    const scM = mux(immNz, immE, lit(1, UInt(16)));
    const scSh = mux(immNz, shiftE.ext(SCALE_SH_WIDTH), lit(0, SInt(SCALE_SH_WIDTH)));
    const outs = eMasked.map((e, l) => {
      const prod = delay(m, `prod${l}`, e.mul(recip), one, 1); // UInt(48)
      const r8 = roundShiftConst(prod, 46 - 7);
      const r16 = roundShiftConst(prod, 46 - 15);
      const r32 = roundShiftConst(prod, 46 - FX);
      // min(hi, r); skipped where r cannot reach hi (int32: r <= 2^16).
      const minHi = (r: Expr, hi: number) => (r.width <= Math.log2(hi + 1) ? r.resize(31) : mux(r.gt(hi), lit(hi, UInt(31)), r.resize(31)));
      const pv = mux(otE.eq(0), minHi(r8, 127), mux(otE.eq(1), minHi(r16, 32767), minHi(r32, INT32_MAX)));
      const pr = delay(m, `p${l}`, pv.toSInt().trunc(32), one, 1);
      return m.instance(`scale${l}`, sfuScale, {}, { ce: one, v: pr, m: scM, sh: scSh, otype: otS }).out('y');
    });
    outData.assign(pack(outs));
    outValid.assign(delayValid(m, 'ov', outFireE, one, 2 + SCALE_LATENCY));
    outLast.assign(delayValid(m, 'ol', lastE, one, 2 + SCALE_LATENCY));
  },
);
