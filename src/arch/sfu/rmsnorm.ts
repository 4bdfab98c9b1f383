import { Bool, defineModule, lit, mux, pack, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { FX, NORM_EPS_Q32 } from '../../numerics/fixed.ts';
import { checkLanes } from './elem.ts';
import { delay, delayValid, named, OTYPE_WIDTH, roundShiftConst, satS } from './lib.ts';
import { SCALE_LATENCY, SCALE_SH_WIDTH, sfuScale } from './scale.ts';
import { divCycles, sfuDivSeq, sfuIsqrtSeq, sqrtCycles, type DivParams, type SqrtParams } from './seq.ts';
import type { SfuRowParams } from './softmax.ts';

/** floor(ss / n) (ss < n 2^62 < 2^78) and, for layernorm, floor(|s| (+ n - 1) / n). */
const DIV_MEAN: DivParams = { xw: 78, dw: 16, qw: 63 };
/** isqrt(mean + eps), mean + eps < 2^63. */
const SQRT: SqrtParams = { w: 64 };
/** floor(2^40 / s), s >= isqrt(NORM_EPS_Q32) = 207 > 2^7: quotient < 2^33. */
const DIV_RECIP: DivParams = { xw: 41, dw: 32, qw: 33 };
/** Cycles from a beat to the running sums including it being readable. */
const SQ_PIPE = 3;
const MEAN_PIPE = 2;

/** Cycles from the last sum-of-squares beat (cycle c) to the first cycle the OUT pass can start (c + NORM_GAP). */
export const NORM_GAP = SQ_PIPE + divCycles(DIV_MEAN) + sqrtCycles(SQRT) + divCycles(DIV_RECIP) + 1;
/** LayerNorm: cycles from the last MEAN-pass beat to the first cycle the sum-of-squares pass can start. */
export const NORM_MEAN_GAP = MEAN_PIPE + divCycles(DIV_MEAN) + 1;
/** Cycles from an OUT-pass beat being accepted to its result on out_data. */
export const NORM_OUT_LATENCY = 4 + SCALE_LATENCY;

/** Cycles per row from start to the next row's start, beats back to back (first beat in the cycle after start). */
export function normRowCycles(len: number, lanes: number, layernorm = false): number {
  if (len === 0) return 1;
  const b = Math.ceil(len / lanes);
  return layernorm ? 3 * b + NORM_MEAN_GAP - 1 + NORM_GAP : 2 * b + NORM_GAP;
}

const S = { idle: 0, mean: 1, mdrain: 2, mdiv: 3, sq: 4, sdrain: 5, div1: 6, sqrt: 7, div2: 8, out: 9 } as const;

/**
 * RMSNorm and LayerNorm of one row (src/numerics/fixed.ts rmsnormRow / layernormRow, then the
 * output conversion), `lanes` elements per beat, reading the row from the input stream:
 *
 * - layernorm only, MEAN pass: s = sum x; mean = floor(s / n) (sequential divider on |s|, with
 *   n - 1 added for negative s); from here on the row is c_j = sat(x_j - mean, 32);
 * - SQ pass: ss = sum v_j^2 (v = x, or c for layernorm; 78 bits), then on sequential units
 *   ms = floor(ss / n) + NORM_EPS_Q32, s = isqrt(ms), r = floor(2^40 / s);
 * - OUT pass (with gamma on in_gamma): y_j = sat(roundShift(roundShift(v_j r, 24) gamma_j, 16), 32),
 *   then sat(mulShift(y_j, imm, shift), bits) when imm != 0 (sfu_scale).
 *
 * Interface as sfu_softmax: `start` latches len, ln (1: layernorm), otype, imm, shift; the row
 * is sent 2 (rmsnorm) or 3 (layernorm) times; in_ready drops between passes for NORM_GAP
 * (before OUT) and NORM_MEAN_GAP (layernorm, before SQ) cycles; in_gamma is read with the OUT
 * pass beats; results on out_valid/out_last, NORM_OUT_LATENCY cycles after each OUT beat.
 */
export const sfuRmsnorm = defineModule<SfuRowParams>(
  'sfu_rmsnorm',
  (p) => `sfu_rmsnorm_l${p.lanes}`,
  (m, p) => {
    checkLanes(p.lanes);
    const L = p.lanes;
    m.doc(`SFU RMSNorm/LayerNorm row unit, ${L} lanes: (mean pass,) sum-of-squares pass, mean/isqrt/reciprocal (sequential), output pass.`);
    const start = m.input('start', Bool);
    const len = m.input('len', UInt(16));
    const ln = m.input('ln', Bool);
    const otype = m.input('otype', UInt(OTYPE_WIDTH));
    const imm = m.input('imm', UInt(16));
    const shift = m.input('shift', SInt(6));
    const inValid = m.input('in_valid', Bool);
    const inData = m.input('in_data', UInt(32 * L));
    const inGamma = m.input('in_gamma', UInt(32 * L));
    const inReady = m.output('in_ready', Bool);
    const outValid = m.output('out_valid', Bool);
    const outLast = m.output('out_last', Bool);
    const outData = m.output('out_data', UInt(32 * L));
    const busyO = m.output('busy', Bool);

    const SW = 4;
    const state = m.reg('state', UInt(SW));
    const is = (s: number) => state.eq(s);
    const st = (s: number) => lit(s, UInt(SW));
    const idle = named(m, 'idle', is(S.idle));
    const go = named(m, 'go', start.and(idle).and(len.ne(0)));
    const latch = <T extends Expr>(name: string, e: T) => {
      const r = m.reg(name, e.type, { enable: go, reset: null });
      r.assign(e);
      return r;
    };
    const lenR = latch('len_r', len);
    const lnR = latch('ln_r', ln);
    const otypeR = latch('otype_r', otype);
    const immR = latch('imm_r', imm);
    const shiftR = latch('shift_r', shift);

    const ready = named(m, 'ready', is(S.mean).or(is(S.sq)).or(is(S.out)));
    inReady.assign(ready);
    busyO.assign(idle.not());
    const fire = named(m, 'fire', inValid.and(ready));
    const j0 = m.reg('j0', UInt(17));
    const lastBeat = named(m, 'last_beat', j0.add(L).ge(lenR));
    const passEnd = named(m, 'pass_end', fire.and(lastBeat));
    const laneValid = Array.from({ length: L }, (_, l) => named(m, `lv${l}`, j0.add(l).lt(lenR)));
    const x = split(inData, L, SInt(32));
    const gamma = split(inGamma, L, SInt(32));
    const one = lit(1, Bool);

    // Sequential scalar units.
    const mean = m.reg('mean', SInt(32), { reset: null });
    const wc = m.reg('wc', UInt(2));
    const meanStart = named(m, 'mean_start', is(S.mdrain).and(wc.eq(MEAN_PIPE - 1)));
    const msStart = named(m, 'ms_start', is(S.sdrain).and(wc.eq(SQ_PIPE - 1)));
    wc.assign(mux(is(S.mdrain).or(is(S.sdrain)), wc.add(1).trunc(2), lit(0, UInt(2))));

    // The element as the norm sees it: x, or c = sat(x - mean, 32) for layernorm.
    const v = x.map((xi, l) => named(m, `v${l}`, mux(lnR, satS(xi.sub(mean), 32), xi)));

    // MEAN pass (layernorm): s = sum x over the valid lanes.
    const meanFire = fire.and(is(S.mean));
    const xm = x.map((xi, l) => mux(laneValid[l]!, xi, lit(0, SInt(32))));
    const lsW = 32 + Math.ceil(Math.log2(L));
    const laneSum = m.reg('lane_sum', SInt(lsW), { reset: null });
    laneSum.assign(xm.reduce<Expr>((s, e) => s.add(e), lit(0, SInt(1))).resize(lsW));
    const laneSumV = delayValid(m, 'lane_sum', meanFire, one, 1);
    const sumX = m.reg('sum_x', SInt(48));
    sumX.assign(mux(go, lit(0, SInt(48)), mux(laneSumV, sumX.add(laneSum).trunc(48), sumX)));
    const sNeg = named(m, 's_neg', sumX.lt(0));
    const sAbs = named(m, 's_abs', mux(sNeg, sumX.neg(), sumX.ext(49)).trunc(48).asUInt());
    const lnX = sAbs.add(mux(sNeg, lenR.sub(1).trunc(16), lit(0, UInt(16)))); // UInt(49)

    // SQ pass: ss = sum v^2.
    const sqFire = fire.and(is(S.sq));
    const sqs = v.map((vi, l) => {
      const sq = vi.mul(vi).trunc(63).asUInt(); // <= 2^62
      return delay(m, `sq${l}`, mux(laneValid[l]!, sq, lit(0, UInt(63))), one, 1);
    });
    const sqW = 63 + Math.ceil(Math.log2(L));
    const sqSum = m.reg('sq_sum', UInt(sqW), { reset: null });
    sqSum.assign(sqs.reduce<Expr>((s, e) => s.add(e), lit(0, UInt(1))).resize(sqW));
    const sqSumV = delayValid(m, 'sq_sum', sqFire, one, 2);
    const ss = m.reg('ss', UInt(DIV_MEAN.xw));
    ss.assign(mux(go, lit(0, UInt(DIV_MEAN.xw)), mux(sqSumV, ss.add(sqSum).trunc(DIV_MEAN.xw), ss)));

    const div1 = m.instance('div_mean', sfuDivSeq, DIV_MEAN, { start: meanStart.or(msStart), x: mux(is(S.mdrain), lnX.ext(DIV_MEAN.xw), ss), dv: lenR });
    const q1 = div1.out('q');
    const q1Lo = q1.slice(31, 0).asSInt(); // |mean| <= 2^31; the 32-bit pattern of +-q is mean
    const meanDone = named(m, 'mean_done', is(S.mdiv).and(div1.out('done')));
    mean.assign(mux(meanDone, mux(sNeg, q1Lo.neg().trunc(32), q1Lo), mean));
    const sqrtStart = named(m, 'sqrt_start', is(S.div1).and(div1.out('done')));
    const sqrt = m.instance('sqrt', sfuIsqrtSeq, SQRT, { start: sqrtStart, x: q1.add(NORM_EPS_Q32).trunc(SQRT.w) });
    const recipStart = named(m, 'recip_start', is(S.sqrt).and(sqrt.out('done')));
    const div2 = m.instance('div_recip', sfuDivSeq, DIV_RECIP, { start: recipStart, x: lit(2n ** 40n, UInt(DIV_RECIP.xw)), dv: sqrt.out('root') });
    const r = div2.out('q');
    m.unused(div1.out('busy'), sqrt.out('busy'), div2.out('busy'));

    state.assign(
      mux(
        go,
        mux(ln, st(S.mean), st(S.sq)),
        mux(
          passEnd.and(is(S.mean)),
          st(S.mdrain),
          mux(
            meanStart,
            st(S.mdiv),
            mux(
              meanDone,
              st(S.sq),
              mux(
                passEnd.and(is(S.sq)),
                st(S.sdrain),
                mux(msStart, st(S.div1), mux(sqrtStart, st(S.sqrt), mux(recipStart, st(S.div2), mux(is(S.div2).and(div2.out('done')), st(S.out), mux(passEnd.and(is(S.out)), st(S.idle), state))))),
              ),
            ),
          ),
        ),
      ),
    );
    j0.assign(mux(go.or(passEnd), lit(0, UInt(17)), mux(fire, j0.add(L).trunc(17), j0)));

    // OUT pass: y = sat(roundShift(roundShift(v r, 24) gamma, 16), 32), then the conversion.
    const outFire = fire.and(is(S.out));
    const otS = delay(m, 'ot', otypeR, one, 4);
    const immS = delay(m, 'imm', immR, one, 4);
    const shiftS = delay(m, 'shift', shiftR, one, 4);
    const immNz = named(m, 'imm_nz', immS.ne(0));
    const scM = mux(immNz, immS, lit(1, UInt(16)));
    const scSh = mux(immNz, shiftS.ext(SCALE_SH_WIDTH), lit(0, SInt(SCALE_SH_WIDTH)));
    const outs = v.map((vi, l) => {
      const p1 = delay(m, `p1_${l}`, vi.mul(r.toSInt()), one, 1); // SInt(66)
      const t = delay(m, `t${l}`, roundShiftConst(p1, 24).trunc(42), one, 1); // |v r / 2^24| < 2^40
      const g = delay(m, `g${l}`, gamma[l]!, one, 2);
      const p2 = delay(m, `p2_${l}`, t.mul(g), one, 1); // SInt(74)
      const y = delay(m, `y${l}`, satS(roundShiftConst(p2, FX), 32), one, 1);
      return m.instance(`scale${l}`, sfuScale, {}, { ce: one, v: y, m: scM, sh: scSh, otype: otS }).out('y');
    });
    outData.assign(pack(outs));
    outValid.assign(delayValid(m, 'ov', outFire, one, 4 + SCALE_LATENCY));
    outLast.assign(delayValid(m, 'ol', outFire.and(lastBeat), one, 4 + SCALE_LATENCY));
  },
);
