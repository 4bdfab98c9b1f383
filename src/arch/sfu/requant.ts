/**
 * The two datapaths of dynamic per-row scaling (docs/sfu.md "SFU engine"):
 *
 * - sfu_requant_erd: requant with a row-scale factor (SFU `erd`): per lane
 *   y = sat(mulShift(mulShift(a, m, sh), um, ush), bits(otype)), with (m, sh) = (imm, shift) when
 *   imm != 0, else the lane's column scale rq (fixed.ts packColumnScale), and (um, ush) the row's
 *   unscale multiplier. The inner mulShift is not saturated (as in the golden model), so it is
 *   kept exact: |a m| < 2^47, shifted left by at most 32 (SInt(81)).
 * - sfu_quantize: rowQuantize, y = sat(mulShift(v, recip, 32), bits) for int8/int16 results.
 *
 * Both are fully pipelined (one beat of `lanes` elements per cycle, fixed latency, no stalls).
 */
import { Bool, defineModule, lit, mux, pack, SInt, split, UInt, type Expr, type ModuleBuilder } from '../../hdl/index.ts';
import { checkLanes } from './elem.ts';
import { delayValid, named, OTYPE_WIDTH, pipe, satOtype, satS, shlVar, shrVar } from './lib.ts';
import { RECIP_BITS, UNSCALE_SH_WIDTH } from './rowscale.ts';

/** Cycles from a beat entering sfu_requant_erd to its result. */
export const ERD_LATENCY = 6;
/** Cycles from a beat entering sfu_quantize to its result. */
export const QUANT_LATENCY = 2;

/** Shift amounts of the erd unit's left branches: any value above 33 saturates like 33. */
const LEFT_CLAMP = 33;

/**
 * sat(roundShift(x, sh), 32) for a signed x and a signed shift sh (any value of its type),
 * split over two pipeline stages: returns (stage-1 registered parts, final combinational
 * function of the stage-2 inputs). Right shifts (sh >= 1): the barrel shift x >> (sh - 1) and
 * the final (t + 1) >> 1; left shifts (sh <= 0): x clamped to 33 bits (an out-of-range clamped
 * value stays out of range after any left shift) shifted by min(-sh, 33) with an int32
 * overflow test, as in sfu_scale.
 */
function roundShiftSat32(m: ModuleBuilder, name: string, x: Expr, sh: Expr, ce: Expr): Expr {
  const right = named(m, `${name}_right`, sh.gt(0));
  const shW = sh.width;
  const ramt = named(m, `${name}_ramt`, sh.sub(1).trunc(shW).asUInt()); // sh - 1 when right
  const rs = shrVar(m, `${name}_rsh`, x, ramt);
  const negSh = named(m, `${name}_neg`, sh.neg().trunc(shW + 1).asUInt()); // -sh when !right
  const k = named(m, `${name}_k`, mux(negSh.gt(LEFT_CLAMP), lit(LEFT_CLAMP, UInt(6)), negSh.trunc(6)));
  const pc = named(m, `${name}_pc`, satS(x, 33));
  const sign = pc.bit(32);
  const over = Array.from({ length: 32 }, (_, i) => (i === 31 ? pc.bit(i).xor(sign) : k.ge(31 - i).and(pc.bit(i).xor(sign))));
  const ovf = named(m, `${name}_ovf`, over.reduce((a, b) => a.or(b)).or(k.ge(32).and(sign)));
  const ls = shlVar(m, `${name}_lsh`, pc.trunc(32), k);
  const left = mux(ovf, mux(sign, lit(-(2 ** 31), SInt(32)), lit(2 ** 31 - 1, SInt(32))), ls);
  const rR = pipe(m, `${name}_r2`, rs, ce);
  const lR = pipe(m, `${name}_l2`, left, ce);
  const rightR = pipe(m, `${name}_right2`, right, ce);
  return named(m, `${name}_val`, mux(rightR, satS(rR.add(1).shr(1), 32), lR));
}

export interface SfuLanesParams {
  readonly lanes: number;
}

/**
 * sfu_requant_erd (ERD_LATENCY cycles): `a` (32 x lanes), `rq` (22 x lanes) column scales,
 * `imm`/`shift` (imm != 0 overrides the column scales), the row's `um` (16) / `ush` (SInt 8)
 * and `otype` travel with each beat.
 */
export const sfuRequantErd = defineModule<SfuLanesParams>(
  'sfu_requant_erd',
  (p) => `sfu_requant_erd_l${p.lanes}`,
  (m, p) => {
    checkLanes(p.lanes);
    const L = p.lanes;
    m.doc(`SFU requant with a row-scale factor (erd), ${L} lanes: sat(mulShift(mulShift(a, m, sh), um, ush)); latency ${ERD_LATENCY}.`);
    const inValid = m.input('in_valid', Bool);
    const aBus = m.input('a', UInt(32 * L));
    const rqBus = m.input('rq', UInt(22 * L));
    const imm = m.input('imm', UInt(16));
    const shift = m.input('shift', SInt(6));
    const um = m.input('um', UInt(16));
    const ush = m.input('ush', SInt(UNSCALE_SH_WIDTH));
    const otype = m.input('otype', UInt(OTYPE_WIDTH));
    const outValid = m.output('out_valid', Bool);
    const outData = m.output('out_data', UInt(32 * L));
    const one = lit(1, Bool);

    // Controls shared by the lanes, one register per stage.
    const immNz = imm.ne(0);
    const ctl = (name: string, e: Expr, n: number) => {
      const out: Expr[] = [e];
      for (let i = 1; i <= n; i++) out.push(pipe(m, `${name}_s${i}`, out[i - 1]!, one));
      return out;
    };
    const immNzS = ctl('imm_nz', immNz, 1);
    const immS = ctl('imm', imm, 1);
    const shiftS = ctl('shift', shift, 1);
    const umS = ctl('um', um, 3);
    const ushS = ctl('ush', ush, 4);
    const otS = ctl('ot', otype, ERD_LATENCY - 1);

    const as = split(aBus, L, SInt(32));
    const rqs = split(rqBus, L);
    const outs = as.map((a, l) => {
      const n = (s: string) => `l${l}_${s}`;
      // S1: the lane's (m, sh).
      const rq = pipe(m, n('rq'), rqs[l]!, one);
      const a1 = pipe(m, n('a1'), a, one);
      const m1 = named(m, n('m1'), mux(immNzS[1]!, immS[1]!, rq.slice(15, 0)));
      const sh1 = named(m, n('sh1'), mux(immNzS[1]!, shiftS[1]!.ext(7), rq.slice(21, 16).toSInt()));
      // S2: p = a m (SInt(49)).
      const p2 = pipe(m, n('p'), a1.mul(m1.toSInt()), one);
      const sh2 = pipe(m, n('sh2'), sh1, one);
      // S3: v = roundShift(p, sh), exact: sh in -32..63, so v fits SInt(81).
      const right = sh2.gt(0);
      const t = shrVar(m, n('vr'), p2, sh2.sub(1).trunc(6).asUInt());
      const vRight = named(m, n('v_right'), t.add(1).shr(1).ext(81));
      const kL = mux(sh2.lt(-32), lit(32, UInt(6)), sh2.neg().trunc(6).asUInt()); // -sh (>= -32 always)
      const vLeft = shlVar(m, n('vl'), p2.ext(81), kL);
      const v3 = pipe(m, n('v'), mux(right, vRight, vLeft), one);
      // S4: X = v um (SInt(98)); S5/S6: sat(roundShift(X, ush), 32), then sat to otype.
      const x4 = pipe(m, n('x'), v3.mul(umS[3]!.toSInt()), one);
      const val = roundShiftSat32(m, n('rs'), x4, ushS[4]!, one);
      return pipe(m, n('y'), satOtype(m, n('y'), val, otS[ERD_LATENCY - 1]!), one);
    });
    outData.assign(pack(outs.map((o) => o.asUInt())));
    outValid.assign(delayValid(m, 'valid', inValid, one, ERD_LATENCY));
  },
);

/**
 * sfu_quantize (QUANT_LATENCY cycles): y = sat(mulShift(v, recip, 32), int16 ? 16 : 8) per lane,
 * fixed.ts rowQuantize for recip < 2^47.
 */
export const sfuQuantize = defineModule<SfuLanesParams>(
  'sfu_quantize',
  (p) => `sfu_quantize_l${p.lanes}`,
  (m, p) => {
    checkLanes(p.lanes);
    const L = p.lanes;
    m.doc(`SFU dynamic row quantization, ${L} lanes: sat(mulShift(v, recip, 32)); latency ${QUANT_LATENCY}.`);
    const inValid = m.input('in_valid', Bool);
    const vBus = m.input('v', UInt(32 * L));
    const recip = m.input('recip', UInt(RECIP_BITS));
    const int16 = m.input('int16', Bool);
    const outValid = m.output('out_valid', Bool);
    const outData = m.output('out_data', UInt(32 * L));
    const one = lit(1, Bool);
    const int16R = pipe(m, 'int16_s1', int16, one);
    const outs = split(vBus, L, SInt(32)).map((v, l) => {
      const prod = pipe(m, `l${l}_prod`, v.mul(recip.toSInt()), one); // SInt(80)
      const r = prod.add(2n ** 31n).shr(32); // SInt(49)
      const s16 = satS(r, 16).ext(32);
      const s8 = satS(r, 8).ext(32);
      return pipe(m, `l${l}_y`, mux(int16R, s16, s8), one);
    });
    outData.assign(pack(outs.map((o) => o.asUInt())));
    outValid.assign(delayValid(m, 'valid', inValid, one, QUANT_LATENCY));
  },
);
