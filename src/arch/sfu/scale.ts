import { Bool, defineModule, lit, mux, SInt, UInt } from '../../hdl/index.ts';
import { named, OTYPE_WIDTH, pipe, satOtype, satS, shlVar, shrVar } from './lib.ts';

/** Cycles from (v, m, sh) to y. */
export const SCALE_LATENCY = 3;
/** Shift operand: signed, -64..63 (the ISA's int6 output shift and the 6-bit column shift both fit). */
export const SCALE_SH_WIDTH = 7;

/**
 * The SFU's output conversion and requantizer, y = sat(mulShift(v, m, sh), bits(otype)) of
 * src/numerics/fixed.ts for an int32 v, an unsigned 16-bit m and -64 <= sh <= 63, pipelined
 * (one per cycle, SCALE_LATENCY cycles).
 *
 * Stage 1: P = v * m (49-bit signed). Stage 2: for sh >= 1 the barrel shift P >> (sh - 1); for
 * sh <= 0 the left shift by k = min(-sh, 33) of P clamped to 33 bits (a clamped value that is
 * out of the 32-bit range stays out of it after any left shift, and any non-zero value shifted
 * by 33 saturates, so the saturated result is unchanged), as an int32 overflow test on the top
 * k + 1 bits plus a 32-bit shifter. Stage 3: the final half-up step (t + 1) >> 1 and the
 * saturation to int8/int16/int32 (otype code 0/1/2, 3 = int32).
 * The identity conversion is m = 1, sh = 0.
 */
export const sfuScale = defineModule<Record<string, never>>(
  'sfu_scale',
  () => 'sfu_scale',
  (m) => {
    m.doc('y = sat(mulShift(v, m, sh), otype): output scaling / requantization (fixed.ts scaleSat).');
    const ce = m.input('ce', Bool);
    const v = m.input('v', SInt(32));
    const mul = m.input('m', UInt(16));
    const sh = m.input('sh', SInt(SCALE_SH_WIDTH));
    const otype = m.input('otype', UInt(OTYPE_WIDTH));
    const y = m.output('y', SInt(32));

    // Stage 1: the product.
    const p1 = pipe(m, 'p1', v.mul(mul.toSInt()), ce); // SInt(49)
    const sh1 = pipe(m, 'sh1', sh, ce);
    const ot1 = pipe(m, 'ot1', otype, ce);

    // Stage 2: the shifts.
    const right = named(m, 'right', sh1.gt(0));
    const ramt = sh1.sub(1).trunc(6).asUInt(); // sh - 1 in 0..62 when right
    const rs = shrVar(m, 'rsh', p1, ramt);
    const negSh = named(m, 'neg_sh', sh1.neg().trunc(SCALE_SH_WIDTH + 1).asUInt()); // -sh in 0..64 when !right
    const k = named(m, 'k', mux(negSh.gt(33), lit(33, UInt(6)), negSh.trunc(6)));
    // Left: Pc = P clamped to 33 bits; Pc * 2^k fits int32 iff bits 32..31-k of Pc equal the sign
    // (k <= 31), or Pc = 0 (k >= 32). Then the low 32 bits of Pc << k are the value.
    const pc = named(m, 'pc', satS(p1, 33));
    const sign = pc.bit(32);
    const over = Array.from({ length: 32 }, (_, i) => (i === 31 ? pc.bit(i).xor(sign) : k.ge(31 - i).and(pc.bit(i).xor(sign))));
    const ovf = named(m, 'ovf', over.reduce((a, b) => a.or(b)).or(k.ge(32).and(sign)));
    const ls = shlVar(m, 'lsh', pc.trunc(32), k);
    const left = mux(ovf, mux(sign, lit(-(2 ** 31), SInt(32)), lit(2 ** 31 - 1, SInt(32))), ls);
    const p2r = pipe(m, 'p2_right', rs, ce);
    const p2l = pipe(m, 'p2_left', left, ce);
    const right2 = pipe(m, 'right2', right, ce);
    const ot2 = pipe(m, 'ot2', ot1, ce);

    // Stage 3: finish the rounding, saturate.
    const rounded = satS(p2r.add(1).shr(1), 32); // SInt(49) -> int32
    const val = named(m, 'val', mux(right2, rounded, p2l));
    const out = pipe(m, 'y_r', satOtype(m, 'sat', val, ot2), ce);
    y.assign(out);
  },
);
