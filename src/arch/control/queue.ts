import { Bool, defineModule, lit, log2Ceil, mux, UInt, type Expr } from '../../hdl/index.ts';

export interface FifoParams {
  /** Bits per entry. */
  readonly width: number;
  /** Entries. */
  readonly depth: number;
}

/**
 * A first-word-fall-through FIFO on an inferred RAM (LUT/block RAM instead of a register per
 * bit): `head` shows the oldest entry whenever `count` > 0, in the cycle after its push at the
 * earliest. The RAM reads the entry that will be the head in the next cycle; when that entry is
 * written in the same cycle (the RAM would return the old word), a bypass register supplies it.
 *
 * `push` only while not full (or full and popping), `pop` only while not empty; `flush` empties
 * the FIFO and wins over both.
 */
export const ctrlFifo = defineModule<FifoParams>(
  'ctrl_fifo',
  (p) => `ctrl_fifo_w${p.width}_d${p.depth}`,
  (m, p) => {
    if (!Number.isInteger(p.depth) || p.depth < 1 || p.depth > 4096) throw new RangeError(`FIFO depth must be an integer in 1..4096, got ${p.depth}`);
    if (!Number.isInteger(p.width) || p.width < 1) throw new RangeError(`FIFO width must be a positive integer, got ${p.width}`);
    m.doc(`First-word-fall-through FIFO, ${p.depth} x ${p.width} bits.`);
    const push = m.input('push', Bool);
    const din = m.input('din', UInt(p.width));
    const pop = m.input('pop', Bool);
    const flush = m.input('flush', Bool);
    const headO = m.output('head', UInt(p.width));
    const countO = m.output('count', UInt(log2Ceil(p.depth + 1)));

    const ram = m.memory('ram', { depth: Math.max(2, p.depth), type: UInt(p.width), style: 'distributed' });
    const aw = ram.addrWidth;
    const wptr = m.reg('wptr', UInt(aw));
    const rptr = m.reg('rptr', UInt(aw));
    const count = m.reg('count_r', UInt(countO.width));
    const inc = (ptr: Expr) => mux(ptr.eq(p.depth - 1), lit(0, UInt(aw)), ptr.add(1).trunc(aw));
    const rptrNext = m.wire('rptr_next', UInt(aw), mux(flush, lit(0, UInt(aw)), mux(pop, inc(rptr), rptr)));
    ram.write(wptr, din, push.and(flush.not()));
    const rd = ram.read('ram_q', rptrNext);
    const bypass = m.reg('bypass', Bool);
    bypass.assign(push.and(flush.not()).and(wptr.eq(rptrNext)));
    const bypassData = m.reg('bypass_data', UInt(p.width), { enable: push, reset: null });
    bypassData.assign(din);

    wptr.assign(mux(flush, lit(0, UInt(aw)), mux(push, inc(wptr), wptr)));
    rptr.assign(rptrNext);
    count.assign(mux(flush, lit(0, count.type), count.add(push).sub(pop).trunc(count.width)));
    headO.assign(mux(bypass, bypassData, rd));
    countO.assign(count);
  },
);
