import { Bool, defineModule, lit, mux, UInt, type Expr } from '../../hdl/index.ts';

/** Loop levels of an LD/ST address pattern (FlightLLM's LD has three). */
export const ADDR_GEN_LEVELS = 3;

export interface AddrGenParams {
  /** External (HBM/DDR) byte-address width. */
  readonly extWidth: number;
  /** On-chip buffer address width. */
  readonly bufWidth: number;
  /** Width of each loop count. */
  readonly countWidth: number;
}

export function checkAddrGenParams(p: AddrGenParams): void {
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isInteger(v) || v < 1 || v > 48) throw new RangeError(`address generator ${k} must be an integer in 1..48, got ${v}`);
  }
}

/**
 * The MMU's strided address generator: for i2 < n2, i1 < n1, i0 < n0 (i0 innermost) it emits
 *   ext = ext_base + i2*ext_stride2 + i1*ext_stride1 + i0*ext_stride0
 *   buf = buf_base + i2*buf_stride2 + i1*buf_stride1 + i0*buf_stride0
 * one pair per cycle while `ready` is high (valid/ready handshake, `last` on the final pair),
 * wrapping at the address widths. Running sums instead of multipliers: each level keeps the
 * address where its current iteration started. A pattern with a zero count emits nothing and
 * signals `done` at once.
 */
export const addrGen = defineModule<AddrGenParams>(
  'addr_gen',
  (p) => `addr_gen_e${p.extWidth}_b${p.bufWidth}_n${p.countWidth}`,
  (m, p) => {
    checkAddrGenParams(p);
    m.doc('Three-level strided address generator (LD/ST patterns).');
    const start = m.input('start', Bool);
    const ready = m.input('ready', Bool);
    const ext = { base: m.input('ext_base', UInt(p.extWidth)), stride: [0, 1, 2].map((l) => m.input(`ext_stride${l}`, UInt(p.extWidth))) };
    const buf = { base: m.input('buf_base', UInt(p.bufWidth)), stride: [0, 1, 2].map((l) => m.input(`buf_stride${l}`, UInt(p.bufWidth))) };
    const counts = [0, 1, 2].map((l) => m.input(`count${l}`, UInt(p.countWidth)));
    const valid = m.output('valid', Bool);
    const extAddr = m.output('ext_addr', UInt(p.extWidth));
    const bufAddr = m.output('buf_addr', UInt(p.bufWidth));
    const last = m.output('last', Bool);
    const done = m.output('done', Bool);

    const busy = m.reg('busy', Bool);
    const startNow = m.wire('start_now', Bool, start.and(busy.not()));
    const empty = m.wire('empty', Bool, counts.map((c) => c.eq(0)).reduce((a, b) => a.or(b)));
    const n = counts.map((c, l) => m.reg(`n${l}`, c.type, { enable: startNow }));
    n.forEach((r, l) => r.assign(counts[l]!));
    const es = ext.stride.map((s, l) => m.reg(`ext_s${l}`, s.type, { enable: startNow }));
    const bs = buf.stride.map((s, l) => m.reg(`buf_s${l}`, s.type, { enable: startNow }));
    es.forEach((r, l) => r.assign(ext.stride[l]!));
    bs.forEach((r, l) => r.assign(buf.stride[l]!));

    const i = [0, 1, 2].map((l) => m.reg(`i${l}`, UInt(p.countWidth)));
    const atEnd = i.map((r, l) => m.wire(`end${l}`, Bool, r.eq(n[l]!.sub(1).trunc(p.countWidth))));
    const fire = m.wire('fire', Bool, busy.and(ready));
    const isLast = m.wire('is_last', Bool, atEnd[0]!.and(atEnd[1]!).and(atEnd[2]!));
    // Level l advances when all inner levels wrap: step[0] = fire, step[l] = step[l-1] & end[l-1].
    const step: Expr[] = [fire];
    for (let l = 1; l < ADDR_GEN_LEVELS; l++) step.push(m.wire(`step${l}`, Bool, step[l - 1]!.and(atEnd[l - 1]!)));
    i.forEach((r, l) => r.assign(mux(startNow, lit(0, r.type), mux(step[l]!, mux(atEnd[l]!, lit(0, r.type), r.add(1).trunc(p.countWidth)), r))));

    // at[l]: where level l's current iteration started (at[0] is the emitted address). When
    // level l steps it moves by its stride, or, if it wraps, to where the level above moves.
    const walk = (name: string, base: Expr, strides: Expr[], w: number) => {
      const at = [0, 1, 2].map((l) => m.reg(`${name}_at${l}`, UInt(w)));
      let next: Expr = at[ADDR_GEN_LEVELS - 1]!.add(strides[ADDR_GEN_LEVELS - 1]!).trunc(w);
      const nextAt: Expr[] = [];
      for (let l = ADDR_GEN_LEVELS - 1; l >= 0; l--) {
        next = l === ADDR_GEN_LEVELS - 1 ? next : mux(atEnd[l]!, next, at[l]!.add(strides[l]!).trunc(w));
        nextAt[l] = next;
      }
      at.forEach((r, l) => r.assign(mux(startNow, base, mux(step[l]!, nextAt[l]!, r))));
      return at[0]!;
    };
    extAddr.assign(walk('ext', ext.base, es, p.extWidth));
    bufAddr.assign(walk('buf', buf.base, bs, p.bufWidth));

    busy.assign(mux(startNow, empty.not(), mux(fire.and(isLast), lit(0, Bool), busy)));
    const doneReg = m.reg('done_pulse', Bool);
    doneReg.assign(startNow.and(empty).or(fire.and(isLast)));
    valid.assign(busy);
    last.assign(busy.and(isLast));
    done.assign(doneReg);
  },
);
