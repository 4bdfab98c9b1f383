/**
 * Sequential (one bit per cycle) scalar units for the SFU's per-row values: a restoring divider
 * and a digit-by-digit integer square root. Both are exact: they compute floor(x / d) and
 * floor(sqrt(x)) as fixed.ts does with bigint.
 */
import { Bool, cat, defineModule, lit, log2Ceil, mux, UInt, type Expr } from '../../hdl/index.ts';

export interface DivParams {
  /** Dividend width. */
  readonly xw: number;
  /** Divisor width. */
  readonly dw: number;
  /** Quotient bits (one per cycle). */
  readonly qw: number;
}

/** Cycles from the start cycle to the cycle in which done (and q) is visible. */
export const divCycles = (p: DivParams): number => p.qw + 1;

/**
 * q = floor(x / dv) by restoring division, one quotient bit per cycle, for x < dv * 2^qw (the
 * caller guarantees it; with dv = 0 the result is all ones). start is sampled when idle; q holds
 * its value until the next start; done pulses for one cycle.
 */
export const sfuDivSeq = defineModule<DivParams>(
  'sfu_div_seq',
  (p) => `sfu_div_seq_x${p.xw}_d${p.dw}_q${p.qw}`,
  (m, p) => {
    for (const [k, v] of Object.entries(p)) if (!Number.isInteger(v) || v < 1 || v > 128) throw new RangeError(`divider ${k} must be an integer in 1..128, got ${v}`);
    m.doc(`Sequential restoring divider: q = floor(x / dv), ${p.qw} quotient bits, ${p.qw} + 1 cycles.`);
    const start = m.input('start', Bool);
    const x = m.input('x', UInt(p.xw));
    const dv = m.input('dv', UInt(p.dw));
    const busyO = m.output('busy', Bool);
    const doneO = m.output('done', Bool);
    const q = m.output('q', UInt(p.qw));

    const busy = m.reg('busy_r', Bool);
    const done = m.reg('done_r', Bool);
    const cnt = m.reg('cnt', UInt(log2Ceil(p.qw + 1)));
    const go = m.wire('go', Bool, start.and(busy.not()));
    const d = m.reg('d', UInt(p.dw), { enable: go, reset: null });
    d.assign(dv);
    // qx: the dividend bits still to shift in (high end) and the quotient bits so far (low end).
    const r = m.reg('r', UInt(p.dw), { reset: null });
    const qx = m.reg('qx', UInt(p.qw), { reset: null });
    const rInit: Expr = p.xw > p.qw ? x.slice(p.xw - 1, p.qw).resize(p.dw) : lit(0, UInt(p.dw));
    const qInit: Expr = x.resize(p.qw);
    const r2 = m.wire('r2', UInt(p.dw + 1), cat(r, qx.bit(p.qw - 1)));
    const ge = m.wire('ge', Bool, r2.ge(d));
    const rNext = mux(ge, r2.sub(d).trunc(p.dw + 1), r2).trunc(p.dw);
    const qNext = p.qw > 1 ? cat(qx.slice(p.qw - 2, 0), ge) : ge;
    r.assign(mux(go, rInit, mux(busy, rNext, r)));
    qx.assign(mux(go, qInit, mux(busy, qNext, qx)));
    const lastStep = m.wire('last_step', Bool, busy.and(cnt.eq(1)));
    cnt.assign(mux(go, lit(p.qw, cnt.type), mux(busy, cnt.sub(1).trunc(cnt.width), cnt)));
    busy.assign(mux(go, lit(1, Bool), mux(lastStep, lit(0, Bool), busy)));
    done.assign(lastStep);
    busyO.assign(busy);
    doneO.assign(done);
    q.assign(qx);
    if (p.xw > p.qw && p.xw - p.qw > p.dw) m.unused(x.slice(p.xw - 1, p.qw + p.dw));
  },
);

export interface SqrtParams {
  /** Radicand width (even). */
  readonly w: number;
}

export const sqrtCycles = (p: SqrtParams): number => p.w / 2 + 1;

/**
 * root = floor(sqrt(x)), digit by digit (two radicand bits per cycle, w/2 cycles): the partial
 * remainder gets the next two bits; if it is at least 4 * root + 1, subtract and append a 1.
 */
export const sfuIsqrtSeq = defineModule<SqrtParams>(
  'sfu_isqrt_seq',
  (p) => `sfu_isqrt_seq_w${p.w}`,
  (m, p) => {
    if (!Number.isInteger(p.w) || p.w < 2 || p.w % 2 || p.w > 128) throw new RangeError(`isqrt width must be even in 2..128, got ${p.w}`);
    const H = p.w / 2;
    const RW = H + 2;
    m.doc(`Sequential integer square root of a ${p.w}-bit value, ${H} + 1 cycles.`);
    const start = m.input('start', Bool);
    const x = m.input('x', UInt(p.w));
    const busyO = m.output('busy', Bool);
    const doneO = m.output('done', Bool);
    const rootO = m.output('root', UInt(H));

    const busy = m.reg('busy_r', Bool);
    const done = m.reg('done_r', Bool);
    const cnt = m.reg('cnt', UInt(log2Ceil(H + 1)));
    const go = m.wire('go', Bool, start.and(busy.not()));
    const xs = m.reg('xs', UInt(p.w), { reset: null });
    const rem = m.reg('rem', UInt(RW), { reset: null });
    const root = m.reg('root_r', UInt(H), { reset: null });
    const rem2 = m.wire('rem2', UInt(RW + 2), cat(rem, xs.slice(p.w - 1, p.w - 2)));
    const trial = m.wire('trial', UInt(H + 2), cat(root, lit(1, UInt(2))));
    const ge = m.wire('ge', Bool, rem2.ge(trial));
    // After a step rem <= 2 * root < 2^(H+1), and rem2 < trial < 2^(H+2) otherwise: RW bits hold both.
    const remNext = mux(ge, rem2.sub(trial).trunc(RW + 2), rem2).trunc(RW);
    const rootNext = H > 1 ? cat(root.slice(H - 2, 0), ge) : ge;
    xs.assign(mux(go, x, mux(busy, p.w > 2 ? cat(xs.slice(p.w - 3, 0), lit(0, UInt(2))) : lit(0, UInt(2)), xs)));
    rem.assign(mux(go, lit(0, UInt(RW)), mux(busy, remNext, rem)));
    root.assign(mux(go, lit(0, UInt(H)), mux(busy, rootNext, root)));
    const lastStep = m.wire('last_step', Bool, busy.and(cnt.eq(1)));
    cnt.assign(mux(go, lit(H, cnt.type), mux(busy, cnt.sub(1).trunc(cnt.width), cnt)));
    busy.assign(mux(go, lit(1, Bool), mux(lastStep, lit(0, Bool), busy)));
    done.assign(lastStep);
    busyO.assign(busy);
    doneO.assign(done);
    rootO.assign(root);
  },
);
