/**
 * Dynamic per-row scaling (SFU `ewr`, src/numerics/fixed.ts rowScale) in hardware form.
 *
 * rowScale(row, n, imm, shift, bits) needs, for the row's largest magnitude M:
 *
 *   recip = floor(qmax * 2^32 / M)                    (qmax = 2^(bits-1) - 1)
 *   unscale = (m, sh): the largest sh with m = floor(imm * 2^(32 - shift + sh) / recip) < 2^16
 *
 * fixed.ts finds sh with a floating-point estimate and two bounded search loops. The hardware
 * uses the closed form (rowScaleHw below, checked against rowScale in the tests):
 *
 * - mAt(sh) = floor(rho * 2^E), rho = imm / recip, E = 32 - shift + sh, is non-decreasing in sh
 *   and mAt(sh + 1) <= 2 mAt(sh) + 1, so the largest sh with mAt(sh) < 2^16 has
 *   mAt(sh) >= 2^15: it is the unique E* with rho 2^E* in [2^15, 2^16), E* = 15 - floor(log2 rho).
 * - The estimate of fixed.ts, floor(log2(65535 recip / imm)) - (32 - shift), is E* - 32 + shift
 *   or one less (log2 65535 = 16 - 2.2e-5), plus at most one for rounding of the float log, so
 *   its loops (4 steps each way) always end at that sh: rowScale is exactly this closed form.
 * - With li = floor(log2 imm), lr = floor(log2 recip) and the mantissas imm_n = imm << (15 - li)
 *   (16 bits, top bit set), recip_n = recip << (46 - lr) (47 bits, top bit set):
 *   c = (imm_n * 2^31 < recip_n) ? 1 : 0, floor(log2 rho) = li - lr - c, and
 *   m = floor(imm_n * 2^(46 + c) / recip_n)  (a 16-bit quotient: the ratio is in [2^15, 2^16)),
 *   sh = lr - li + c - 17 + shift  (in -57..61: recip is in 254..2^47 for M in 1..2^31).
 * - M = 0 gives recip = 0 and unscale (0, 0) (fixed.ts returns that before dividing).
 *
 * Only int8 and int16 results (qmax * 2^32 < 2^47): there fixed.ts's float division is exact.
 * For int32 results fixed.ts divides ~2^63 by M in floating point, which is not the exact floor,
 * so the engine refuses ewr with an int32 otype (ERR.format; the ISA describes ewr for INT8/INT16
 * results). See docs/sfu.md "SFU engine".
 *
 * The RTL (sfu_rowscale): a sequential restoring divider for recip (47 quotient bits), the
 * normalization (two leading-one searches and shifts, registered), and a second divider for m
 * (16 quotient bits).
 */
import { Bool, cat, defineModule, lit, mux, SInt, UInt, type Expr, type ModuleBuilder } from '../../hdl/index.ts';
import { named } from './lib.ts';
import { divCycles, sfuDivSeq, type DivParams } from './seq.ts';

/** The unscale shift range (SInt(8) in the row-scale register file). */
export const UNSCALE_SH_WIDTH = 8;

export interface RowScaleHw {
  /** floor(qmax * 2^32 / M) (exact), 0 for M = 0. */
  readonly recip: bigint;
  readonly m: number;
  readonly sh: number;
}

const bitLength = (x: bigint): number => (x === 0n ? 0 : x.toString(2).length);

/** What sfu_rowscale computes, step by step as the RTL does (bigint, exact). */
export function rowScaleHw(M: number, imm: number, shift: number, bits: number): RowScaleHw {
  if (!Number.isInteger(M) || M < 0 || M > 2 ** 31) throw new RangeError(`row maximum must be in 0..2^31, got ${M}`);
  if (bits !== 8 && bits !== 16) throw new RangeError(`dynamic row scaling produces int8 or int16 results, not ${bits} bits`);
  const qmax = (1n << BigInt(bits - 1)) - 1n;
  if (M === 0 || imm === 0) return { recip: 0n, m: 0, sh: 0 };
  const recip = (qmax << 32n) / BigInt(M);
  const lr = bitLength(recip) - 1;
  const li = bitLength(BigInt(imm)) - 1;
  const recipN = recip << BigInt(RECIP_BITS - 1 - lr);
  const immN = BigInt(imm) << BigInt(15 - li);
  const c = immN << BigInt(RECIP_BITS - 16) < recipN ? 1 : 0;
  const m = (immN << BigInt(RECIP_BITS - 1 + c)) / recipN;
  if (m < 1n << 15n || m >= 1n << 16n) throw new Error(`rowScaleHw: m = ${m} outside [2^15, 2^16)`);
  return { recip, m: Number(m), sh: lr - li + c - 17 + shift };
}

/** Bits of recip = floor(qmax 2^32 / M) for qmax <= 32767. */
export const RECIP_BITS = 47;
/** Divider of qmax * 2^32 (< 2^47) by M (1..2^31). */
export const RECIP_DIV: DivParams = { xw: RECIP_BITS, dw: 32, qw: RECIP_BITS };
/** Divider of imm_n * 2^(46 + c) (< 2^63) by recip_n (47 bits). */
export const UNSCALE_DIV: DivParams = { xw: RECIP_BITS + 16, dw: RECIP_BITS, qw: 16 };
/** Cycles from start to recip_valid. */
export const ROWSCALE_RECIP_CYCLES = 1 + divCycles(RECIP_DIV);
/** Cycles from start to done (the unscale (m, sh) valid). */
export const ROWSCALE_CYCLES = ROWSCALE_RECIP_CYCLES + 3 + divCycles(UNSCALE_DIV);

/** Leading-one normalization of x (UInt(w)): shifts x left until its top bit is set; returns (x << z, z). */
function normalize(m: ModuleBuilder, name: string, x: Expr): { norm: Expr; zeros: Expr } {
  const w = x.width;
  let cur: Expr = x;
  const zbits: Expr[] = [];
  for (let s = 2 ** Math.floor(Math.log2(w - 1)); s >= 1; s /= 2) {
    const top = cur.slice(w - 1, w - s).reduceOr().not();
    zbits.push(top);
    cur = named(m, `${name}_n${s}`, mux(top, cat(cur.slice(w - 1 - s, 0), lit(0, UInt(s))), cur));
  }
  return { norm: cur, zeros: cat(...zbits) };
}

/**
 * sfu_rowscale: start (while busy is low) with the row maximum mabs (0..2^31), imm (non-zero),
 * shift and int16 (low: int8 results); recip_valid pulses ROWSCALE_RECIP_CYCLES after
 * start with recip (held until the next start), done pulses ROWSCALE_CYCLES after start with
 * m and sh (held). busy is high from the cycle after start through the done cycle.
 */
export const sfuRowScale = defineModule<Record<string, never>>(
  'sfu_rowscale',
  () => 'sfu_rowscale',
  (m) => {
    m.doc('Dynamic row scaling (fixed.ts rowScale): recip = floor(qmax 2^32 / M) and the unscale multiplier (m, sh), sequential dividers.');
    const start = m.input('start', Bool);
    const mabs = m.input('mabs', UInt(32));
    const imm = m.input('imm', UInt(16));
    const shift = m.input('shift', SInt(6));
    const int16 = m.input('int16', Bool);
    const busyO = m.output('busy', Bool);
    const recipValidO = m.output('recip_valid', Bool);
    const recipO = m.output('recip', UInt(RECIP_BITS));
    const doneO = m.output('done', Bool);
    const mO = m.output('m', UInt(16));
    const shO = m.output('sh', SInt(UNSCALE_SH_WIDTH));

    // Phases: 0 idle, 1 recip division, 2 normalize, 3 compare, 4 start the unscale division,
    // 5 unscale division, 6 done.
    const PW = 3;
    const phase = m.reg('phase', UInt(PW));
    const is = (p: number) => phase.eq(p);
    const ph = (p: number) => lit(p, UInt(PW));
    const go = named(m, 'go', start.and(is(0)));
    const latch = (name: string, e: Expr) => {
      const r = m.reg(name, e.type, { enable: go, reset: null });
      r.assign(e);
      return r;
    };
    const zeroR = latch('zero_r', mabs.eq(0).or(imm.eq(0)));
    const immR = latch('imm_r', imm);
    const shiftR = latch('shift_r', shift);
    const RB = RECIP_BITS;
    const qmaxShifted = mux(int16, lit(32767n << 32n, UInt(RB)), lit(127n << 32n, UInt(RB)));
    const divA = m.instance('div_recip', sfuDivSeq, RECIP_DIV, { start: go, x: qmaxShifted, dv: mabs });
    const aDone = named(m, 'a_done', is(1).and(divA.out('done')));
    const recip = m.reg('recip_r', UInt(RB), { enable: aDone, reset: null });
    recip.assign(mux(zeroR, lit(0, UInt(RB)), divA.out('q')));

    // Phase 2: normalize: recip_n = recip << zr (lr = 46 - zr), imm_n = imm << zi (li = 15 - zi).
    const rn = normalize(m, 'rn', recip);
    const inorm = normalize(m, 'in', immR);
    const recipN = m.reg('recip_n', UInt(RB), { enable: is(2), reset: null });
    recipN.assign(rn.norm);
    const immN = m.reg('imm_n', UInt(16), { enable: is(2), reset: null });
    immN.assign(inorm.norm);
    // sh - c = lr - li - 17 + shift = (46 - zr) - (15 - zi) - 17 + shift = 14 - zr + zi + shift.
    const shBase = m.reg('sh_base', SInt(UNSCALE_SH_WIDTH), { enable: is(2), reset: null });
    shBase.assign(lit(RB - 1 - 15 - 17, SInt(8)).sub(rn.zeros.toSInt()).add(inorm.zeros.toSInt()).add(shiftR).resize(UNSCALE_SH_WIDTH));
    // Phase 3: c = imm_n * 2^31 < recip_n.
    const c = m.reg('c_r', Bool, { enable: is(3), reset: null });
    c.assign(cat(immN, lit(0, UInt(RB - 16))).lt(recipN));
    // Phase 4: m = floor(imm_n * 2^(46 + c) / recip_n), 16 quotient bits.
    const xB = mux(c, cat(immN, lit(0, UInt(RB))), cat(lit(0, UInt(1)), immN, lit(0, UInt(RB - 1))));
    const divB = m.instance('div_unscale', sfuDivSeq, UNSCALE_DIV, { start: is(4), x: xB, dv: recipN });
    const bDone = named(m, 'b_done', is(5).and(divB.out('done')));
    const mR = m.reg('m_r', UInt(16), { enable: bDone, reset: null });
    mR.assign(mux(zeroR, lit(0, UInt(16)), divB.out('q')));
    const shR = m.reg('sh_r', SInt(UNSCALE_SH_WIDTH), { enable: bDone, reset: null });
    shR.assign(mux(zeroR, lit(0, SInt(UNSCALE_SH_WIDTH)), shBase.add(c.toSInt()).trunc(UNSCALE_SH_WIDTH)));
    m.unused(divA.out('busy'), divB.out('busy'));

    phase.assign(
      mux(
        go,
        ph(1),
        mux(aDone, ph(2), mux(is(2), ph(3), mux(is(3), ph(4), mux(is(4), ph(5), mux(bDone, ph(6), mux(is(6), ph(0), phase)))))),
      ),
    );
    busyO.assign(is(0).not());
    recipValidO.assign(is(2));
    recipO.assign(recip);
    doneO.assign(is(6));
    mO.assign(mR);
    shO.assign(shR);
  },
);
