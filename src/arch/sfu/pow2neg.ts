import { Bool, defineModule, lit, mux, UInt } from '../../hdl/index.ts';
import { FX, POW2_FRAC_BITS, POW2_TABLE } from '../../numerics/fixed.ts';
import { named, pipe, rom, roundShiftConst, roundShiftVar } from './lib.ts';

export interface Pow2negParams {
  /** Width of the unsigned argument d (Q16). */
  readonly dWidth: number;
}

/** Cycles from d to e. */
export const POW2NEG_LATENCY = 2;

/** Largest table step POW2_TABLE[i] - POW2_TABLE[i+1] (fits the ROM's difference field). */
const DIFF_BITS = 8;

/**
 * The ROM word for index i: POW2_TABLE[i] in the high bits, POW2_TABLE[i] - POW2_TABLE[i+1] in the
 * low DIFF_BITS (one lookup gives both interpolation end points).
 */
export function pow2RomWords(): bigint[] {
  const n = 1 << POW2_FRAC_BITS;
  return Array.from({ length: n }, (_, i) => {
    const a = POW2_TABLE[i]!;
    const diff = a - POW2_TABLE[i + 1]!;
    if (diff < 0 || diff >= 1 << DIFF_BITS || a >= 1 << (FX + 1)) throw new Error(`POW2_TABLE[${i}] does not fit the SFU ROM layout`);
    return (BigInt(a) << BigInt(DIFF_BITS)) | BigInt(diff);
  });
}

/**
 * pow2neg(d) of src/numerics/fixed.ts, pipelined (one result per cycle, POW2NEG_LATENCY cycles):
 * k = d >> 16 (0 when k > 16), f = d mod 2^16 split into table index i (8 bits) and fraction fr;
 * v = T[i] - roundShift((T[i] - T[i+1]) * fr, 8); e = roundShift(v, k).
 */
export const sfuPow2neg = defineModule<Pow2negParams>(
  'sfu_pow2neg',
  (p) => `sfu_pow2neg_d${p.dWidth}`,
  (m, p) => {
    if (!Number.isInteger(p.dWidth) || p.dWidth < 17 || p.dWidth > 64) throw new RangeError(`pow2neg dWidth must be in 17..64, got ${p.dWidth}`);
    m.doc('e = 2^16 * 2^(-d / 2^16) (fixed.ts pow2neg): POW2_TABLE lookup with linear interpolation, then a rounding shift.');
    const ce = m.input('ce', Bool);
    const d = m.input('d', UInt(p.dWidth));
    const e = m.output('e', UInt(FX + 1));

    const zero = p.dWidth >= 21 ? d.ge(17 << FX) : null;
    const k = d.slice(Math.min(p.dWidth, 21) - 1, FX).resize(5);
    const i = d.slice(15, 8);
    const fr = d.slice(7, 0);
    const word = named(m, 'rom_word', rom(i, pow2RomWords(), UInt(FX + 1 + DIFF_BITS)));
    const a = word.slice(FX + DIFF_BITS, DIFF_BITS);
    const diff = word.slice(DIFF_BITS - 1, 0);
    const corr = roundShiftConst(diff.mul(fr), POW2_FRAC_BITS).trunc(DIFF_BITS + 1);
    const v = pipe(m, 'v', a.sub(corr).trunc(FX + 1), ce);
    const kr = pipe(m, 'k', k, ce);
    const zr = zero ? pipe(m, 'zero', zero, ce) : null;
    const shifted = roundShiftVar(m, 'vk', v, kr);
    const er = m.reg('e_r', UInt(FX + 1), { enable: ce, reset: null });
    er.assign(zr ? mux(zr, lit(0, UInt(FX + 1)), shifted) : shifted);
    e.assign(er);
  },
);
