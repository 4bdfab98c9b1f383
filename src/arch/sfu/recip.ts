import { Bool, cat, defineModule, lit, mux, UInt, type Expr } from '../../hdl/index.ts';
import { FX } from '../../numerics/fixed.ts';
import { named, pipe } from './lib.ts';

/** Restoring-division steps per pipeline stage (17 quotient bits in all). */
export const RECIP_STEPS_PER_STAGE = 2;
const Q_BITS = FX + 1;
/** Cycles from e to q. */
export const RECIP_LATENCY = Math.ceil(Q_BITS / RECIP_STEPS_PER_STAGE);

/**
 * The sigmoid's reciprocal q = floor(2^32 / (2^16 + e)) for e in [0, 2^16] (fixed.ts sigmoidFx),
 * exact by construction: a fully pipelined restoring division of the constant 2^32 by
 * D = 2^16 + e in [2^16, 2^17]. The quotient is below 2^17, so the long division starts at
 * quotient bit 16 with partial remainder 2^16 (the higher bits are 0) and runs 17 compare/subtract
 * steps on 18-bit remainders, RECIP_STEPS_PER_STAGE per register stage.
 */
export const sfuRecip = defineModule<Record<string, never>>(
  'sfu_recip',
  () => 'sfu_recip',
  (m) => {
    m.doc('q = floor(2^32 / (2^16 + e)), e in [0, 2^16]: pipelined restoring division (fixed.ts sigmoidFx).');
    const ce = m.input('ce', Bool);
    const e = m.input('e', UInt(FX + 1));
    const q = m.output('q', UInt(Q_BITS));

    const dv = named(m, 'dv0', e.add(1 << FX).trunc(FX + 2)); // 2^16 + e: 18 bits
    let r: Expr = lit(1 << FX, UInt(FX + 2));
    let qs: Expr | undefined;
    let d: Expr = dv;
    let step = 0;
    for (let stage = 0; stage < RECIP_LATENCY; stage++) {
      for (let s = 0; s < RECIP_STEPS_PER_STAGE && step < Q_BITS; s++, step++) {
        const ge = named(m, `ge${step}`, r.ge(d));
        const rem = mux(ge, r.sub(d).trunc(FX + 2), r);
        // The remainder is below D <= 2^17, so doubling it fits 18 bits.
        r = step < Q_BITS - 1 ? named(m, `r${step}`, rem.trunc(FX + 1).shl(1)) : lit(0, UInt(1));
        qs = qs ? cat(qs, ge) : ge;
      }
      const last = stage === RECIP_LATENCY - 1;
      qs = pipe(m, `q_s${stage}`, qs!, ce);
      if (!last) {
        r = pipe(m, `r_s${stage}`, r, ce);
        d = pipe(m, `d_s${stage}`, d, ce);
      }
    }
    q.assign(qs!);
  },
);
