import { Bool, defineModule, lit, mux, pack, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { FX, GELU_K_Q16, LOG2E_Q16 } from '../../numerics/fixed.ts';
import { SFU_OPS } from '../../isa/table.ts';
import { delay, named, OTYPE_WIDTH, pipe, roundShiftConst, satS, validReg } from './lib.ts';
import { POW2NEG_LATENCY, sfuPow2neg } from './pow2neg.ts';
import { RECIP_LATENCY, sfuRecip } from './recip.ts';
import { SCALE_LATENCY, SCALE_SH_WIDTH, sfuScale } from './scale.ts';

export interface SfuElemParams {
  /** Elements per beat (parallel lanes). */
  readonly lanes: number;
}

export function checkLanes(lanes: number, what = 'SFU lanes'): void {
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > 64) throw new RangeError(`${what} must be an integer in 1..64, got ${lanes}`);
}

/** The ISA's SFU function code of an op name. */
export const fnCode = (name: (typeof SFU_OPS)[number]): number => SFU_OPS.indexOf(name);
/** Width of the fn input (the ISA's 4-bit fn field). */
export const FN_WIDTH = 4;
/** Element-wise functions of sfu_elem (other codes behave as copy). */
export const ELEM_FNS = ['copy', 'add', 'mul', 'silu', 'gelu', 'requant'] as const;

/** Beyond this |t| (Q16) the sigmoid's exponent argument is >= 17 * 2^16 and e = 0 (772248 <= 2^20). */
const SIG_ABS_BITS = 20;
/** Cycles from a beat entering (in_valid & in_ready) to its result (out_valid), when out_ready stays high. */
export const ELEM_LATENCY = 2 + POW2NEG_LATENCY + RECIP_LATENCY + 2 + SCALE_LATENCY;

/**
 * The SFU's element-wise unit: `lanes` independent lanes, one element per lane per cycle, a
 * fixed ELEM_LATENCY-cycle pipeline for every function, bit-exact with src/numerics/fixed.ts:
 *
 * | fn (ISA code) | result before conversion                      |
 * |---------------|-----------------------------------------------|
 * | copy (0)      | a                                              |
 * | add (1)       | sat(a + b, 32)                                 |
 * | mul (2)       | sat(mulShift(a, b, 16), 32)                    |
 * | silu (6)      | siluFx(a)                                      |
 * | gelu (7)      | geluFx(a)                                      |
 * | requant (9)   | a, converted with the lane's column scale rq   |
 *
 * then out = sat(mulShift(v, m, sh), bits(otype)) with (m, sh) = (imm, shift) when imm != 0,
 * else the lane's column scale (rq: m bits 0..15, sh bits 16..21, fixed.ts packColumnScale) for
 * requant, else (1, 0) (saturation only). The controls (fn, otype, imm, shift) travel with each
 * beat, so consecutive beats may use different functions.
 *
 * Handshake: valid/ready with a pipeline-wide stall: in_ready = out_ready, and every stage holds
 * while out_ready is low.
 *
 * sigmoid pipeline per lane: t = a (silu) or roundShift(a * GELU_K, 16) (gelu); d =
 * roundShift(|t| * LOG2E, 16) (forced to 17 * 2^16 when |t| >= 2^20, where e is 0 anyway);
 * e = pow2neg(d) (sfu_pow2neg); q = floor(2^32 / (2^16 + e)) (sfu_recip, exact division);
 * s = q or 2^16 - q by the sign of t; the result a * s shares the multiplier with mul.
 */
export const sfuElem = defineModule<SfuElemParams>(
  'sfu_elem',
  (p) => `sfu_elem_l${p.lanes}`,
  (m, p) => {
    checkLanes(p.lanes);
    const L = p.lanes;
    m.doc(`SFU element-wise unit, ${L} lanes: copy/add/mul/silu/gelu/requant + output conversion; latency ${ELEM_LATENCY}.`);
    const inValid = m.input('in_valid', Bool);
    const outReady = m.input('out_ready', Bool);
    const fn = m.input('fn', UInt(FN_WIDTH));
    const otype = m.input('otype', UInt(OTYPE_WIDTH));
    const imm = m.input('imm', UInt(16));
    const shift = m.input('shift', SInt(6));
    const aBus = m.input('a', UInt(32 * L));
    const bBus = m.input('b', UInt(32 * L));
    const rqBus = m.input('rq', UInt(22 * L));
    const inReady = m.output('in_ready', Bool);
    const outValid = m.output('out_valid', Bool);
    const outData = m.output('out_data', UInt(32 * L));

    const ce = named(m, 'ce', outReady);
    inReady.assign(outReady);

    // Controls, shared by the lanes, travel with the data.
    const pre = 2 + POW2NEG_LATENCY + RECIP_LATENCY; // stages before M1
    const ctl = (name: string, e: Expr, depth: number) => delay(m, name, e, ce, depth);
    const fn1 = pipe(m, 'fn_s1', fn, ce);
    const fnM1 = delay(m, 'fn_m', fn1, ce, pre - 1);
    const fnM2 = pipe(m, 'fn_m2', fnM1, ce);
    const isGelu0 = fn.eq(fnCode('gelu'));
    const isMulM1 = named(m, 'is_mul_m1', fnM1.eq(fnCode('mul')));
    const sigM2 = named(m, 'sig_m2', fnM2.eq(fnCode('silu')).or(fnM2.eq(fnCode('gelu'))).or(fnM2.eq(fnCode('mul'))));
    const addM2 = named(m, 'add_m2', fnM2.eq(fnCode('add')));
    const rqM2 = named(m, 'rq_m2', fnM2.eq(fnCode('requant')));
    const depthToScale = pre + 2; // input -> scale input
    const otS = ctl('otype_p', otype, depthToScale);
    const immS = ctl('imm_p', imm, depthToScale - 1);
    const shiftS = ctl('shift_p', shift, depthToScale - 1);
    const immNz = named(m, 'imm_nz', immS.ne(0));

    const as = split(aBus, L, SInt(32));
    const bs = split(bBus, L, SInt(32));
    const rqs = split(rqBus, L);
    const outs: Expr[] = [];
    for (let l = 0; l < L; l++) {
      const n = (s: string) => `l${l}_${s}`;
      const a = as[l]!;
      // Stage 1: the sigmoid argument t (34 bits: |t| <= 1.702 * 2^31 < 2^32).
      const g = roundShiftConst(a.mul(GELU_K_Q16), FX).trunc(34);
      const t1 = pipe(m, n('t1'), mux(isGelu0, g, a.ext(34)), ce);
      const a1 = pipe(m, n('a1'), a, ce);
      const b1 = pipe(m, n('b1'), bs[l]!, ce);
      const rq1 = pipe(m, n('rq1'), rqs[l]!, ce);
      // Stage 2: d = roundShift(|t| * LOG2E, 16), saturated where pow2neg gives 0.
      const neg1 = named(m, n('neg1'), t1.lt(0));
      const mag = named(m, n('mag'), mux(neg1, t1.neg(), t1.ext(35)).trunc(33).asUInt());
      const big = mag.slice(32, SIG_ABS_BITS).reduceOr();
      const dprod = mag.slice(SIG_ABS_BITS - 1, 0).mul(LOG2E_Q16); // UInt(37)
      const dval = roundShiftConst(dprod, FX).trunc(22);
      const d2 = pipe(m, n('d2'), mux(big, lit(17 << FX, UInt(22)), dval), ce);
      const neg2 = pipe(m, n('neg2'), neg1, ce);
      const a2 = pipe(m, n('a2'), a1, ce);
      const b2 = pipe(m, n('b2'), b1, ce);
      // e = pow2neg(d), q = floor(2^32 / (2^16 + e)).
      const p2 = m.instance(n('pow2'), sfuPow2neg, { dWidth: 22 }, { ce, d: d2 });
      const rc = m.instance(n('recip'), sfuRecip, {}, { ce, e: p2.out('e') });
      const q = rc.out('q');
      const negQ = delay(m, n('neg'), neg2, ce, POW2NEG_LATENCY + RECIP_LATENCY);
      const aQ = delay(m, n('a'), a2, ce, POW2NEG_LATENCY + RECIP_LATENCY);
      const bQ = delay(m, n('b'), b2, ce, POW2NEG_LATENCY + RECIP_LATENCY);
      const sig = mux(negQ, lit(1 << FX, UInt(FX + 1)).sub(q).trunc(FX + 1), q); // UInt(17)
      // Stage M1: one multiplier for mul (a * b) and silu/gelu (a * s); the add.
      const y = mux(isMulM1, bQ.ext(33), sig.toSInt().ext(33));
      const prod = pipe(m, n('prod'), aQ.mul(y), ce); // SInt(65)
      const sum = pipe(m, n('sum'), aQ.add(bQ), ce); // SInt(33)
      const aM = pipe(m, n('a_m'), aQ, ce);
      // Stage M2: pick the function's int32 result.
      const mulRes = satS(roundShiftConst(prod, FX), 32);
      const v = pipe(m, n('v'), mux(sigM2, mulRes, mux(addM2, satS(sum, 32), aM)), ce);
      const rqM = delay(m, n('rq'), rq1, ce, pre);
      const colM = rqM.slice(15, 0);
      const colSh = rqM.slice(21, 16);
      const mSel = pipe(m, n('m_sel'), mux(immNz, immS, mux(rqM2, colM, lit(1, UInt(16)))), ce);
      const shSel = pipe(m, n('sh_sel'), mux(immNz, shiftS.ext(SCALE_SH_WIDTH), mux(rqM2, colSh.toSInt(), lit(0, SInt(SCALE_SH_WIDTH)))), ce);
      const sc = m.instance(n('scale'), sfuScale, {}, { ce, v, m: mSel, sh: shSel, otype: otS });
      outs.push(sc.out('y'));
    }
    outData.assign(pack(outs));

    let vld: Expr = inValid;
    for (let s = 0; s < ELEM_LATENCY; s++) vld = validReg(m, `valid_s${s + 1}`, vld, ce);
    outValid.assign(vld);
  },
);
