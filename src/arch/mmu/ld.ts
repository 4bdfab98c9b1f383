/**
 * The LD engine (docs/accelerator.md): copies rows from external memory (AXI read master) into
 * an on-chip buffer, exactly as golden transfer() (src/golden/machine.ts) does.
 *
 * Pipeline (every stage one row after the other, no bubbles between rows):
 *   1. AR: an address walker over the loop nest; each row's aligned beats
 *      [ea / AB, (ea + rowBytes - 1) / AB] go out as bursts of at most 16 beats that never
 *      cross 4 KiB. A burst is issued only when the read FIFO has room for all its beats
 *      (credits), so returned data never waits on the bus, and up to LD_FIFO_BEATS beats are
 *      in flight (latency hiding).
 *   2. R FIFO (LD_FIFO_BEATS + 1 beats) takes m_r_data; m_r_ready = FIFO not full.
 *   3. Realign: a second walker knows each row's ea mod AB; the stage drops the leading bytes of
 *      the row's first beat (shift right) and counts the row's valid bytes of each beat.
 *   4. Gearbox: a byte queue of ldGeometry().gearboxBytes bytes; a beat's valid bytes append at
 *      the fill level, the consumer takes bytes from the head. Rows follow each other byte-exact.
 *   5. Consumer (a third walker gives each row's on-chip address):
 *      element buffers: one write of n = min(wmax(buf, dtype), elements left) elements per cycle
 *        on the ld_wr port (held while ld_wr_ready is low);
 *      weight/meta: steps of u(dtype) lanes assembled into a C*L-lane beat, written whole on
 *        ld_wbeat / ld_mbeat (one cycle after its last step);
 *      grp: per 32-lane block (payload + k0 + k1 bytes) steps of ug lanes, lane = value * k.
 */
import { Bool, cat, defineModule, lit, log2Ceil, mux, pack, select, UInt, type Expr, type Signal } from '../../hdl/index.ts';
import { BUFFERS, DTYPES } from '../../isa/table.ts';
import type { GenConfig } from '../config.ts';
import { ELEM_ADDR_BITS } from './buffer.ts';
import { accelGeometry } from './buffers.ts';
import { AXI_ADDR_BITS, AXI_CHAN_BITS, AXI_LEN_BITS, burstBeats, bytesOf, COUNT_BITS, DTYPE_BITS, EXT_BITS, GRP_BLOCK_BYTES, ramFifo, ROW_BYTES_BITS, rowAddresses, shlBytes, shrBytes, umin, XFER_IMMEDIATE_DONE_CYCLES, xferFront, xferModuleName, xferWalker, xferRowBytes, type XferOperands } from './xfer.ts';

/** Beats of the R FIFO's RAM (the head register adds one): bursts in flight at most. */
export const LD_FIFO_BEATS = 64;

export interface LdGeometry {
  readonly axiBytes: number;
  /** Lanes of a weight/meta step per dtype (int4, int8, int16, int32): a divisor of C*L. */
  readonly beatStep: readonly number[];
  /** Lanes of a grp step (a divisor of 32 and of C*L). */
  readonly grpStep: number;
  /** Elements per ld_wr write, per buffer name and dtype (0: LD cannot write that buffer). */
  readonly wmax: Readonly<Record<string, readonly number[]>>;
  /** Bytes of the gearbox between the realigner and the consumer. */
  readonly gearboxBytes: number;
  /** Credits: beats the R FIFO holds (bursts are issued only when all their beats fit). */
  readonly fifoBeats: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The LD engine's derived numbers (also what a performance model needs). */
export function ldGeometry(c: GenConfig): LdGeometry {
  const g = accelGeometry(c);
  const AB = g.axiBytes;
  const CL = g.CL;
  const beatStep = DTYPE_BITS.map((bits) => {
    let best = 0;
    for (let u = 1; u <= CL; u++) if (CL % u === 0 && u * bits <= 8 * AB && (bits !== 4 || u % 2 === 0)) best = u;
    if (best === 0) throw new RangeError(`LD engine: int4 loads into the weight/meta buffers need an even C x L (got ${CL})`);
    return best;
  });
  const wmax: Record<string, number[]> = {};
  for (const b of Object.values(g.buffers)) {
    wmax[b.name] = DTYPE_BITS.map((bits) => {
      if (b.ldLanes === 0) return 0;
      const w = Math.min(b.ldLanes, Math.floor((8 * AB) / bits));
      return bits === 4 ? w - (w % 2) : w;
    });
    if (b.ldLanes > 0 && wmax[b.name]![0] === 0) throw new RangeError(`LD engine: the ${b.name} buffer takes ${b.ldLanes} element per cycle; int4 loads need at least 2`);
  }
  return { axiBytes: AB, beatStep, grpStep: gcd(32, CL), wmax, gearboxBytes: AB + 2 * Math.max(AB, GRP_BLOCK_BYTES.int8), fifoBeats: LD_FIFO_BEATS + 1 };
}

/** LD cycles besides the memory latency and the streaming (start to first AR 4, R beat to first write 4, last write to done 2, minus 1). */
export const LD_FIXED_CYCLES = 9;

/**
 * LD cycles from the `start` cycle to the `done` cycle (inclusive of done, exclusive of start)
 * with no stalls (m_ar_ready and ld_wr_ready high), for a memory whose first R beat comes
 * `readLatency` cycles after the AR handshake and which returns one beat per cycle:
 *   LD_FIXED_CYCLES + readLatency + max(B, S + W)
 * B = AXI beats (per row ceil((ea mod AB + rowBytes) / AB)), S = consumer steps (per row
 * ceil(len / wmax) writes, or len / u beat steps, grp: len / ug), W = beats the first step waits
 * for beyond the first (grp int8 blocks of 34 bytes span two beats). Exact when one of B and S
 * dominates every row (the common cases), an estimate otherwise. The R FIFO holds
 * LD_FIFO_BEATS + 1 beats, so full rate needs readLatency below about LD_FIFO_BEATS.
 * Refused or empty instructions: XFER_IMMEDIATE_DONE_CYCLES.
 */
export function ldCycles(c: GenConfig, x: XferOperands, readLatency: number): number {
  const geo = ldGeometry(c);
  const AB = geo.axiBytes;
  const bits = 4 << DTYPES.indexOf(x.dtype);
  const rb = xferRowBytes(x);
  const rows = rowAddresses(x);
  if (rows.length === 0 || rb === 0) return XFER_IMMEDIATE_DONE_CYCLES;
  const beat = x.buf === 'weight' || x.buf === 'meta';
  const step = x.grp ? geo.grpStep : beat ? geo.beatStep[DTYPES.indexOf(x.dtype)]! : geo.wmax[x.buf]![DTYPES.indexOf(x.dtype)]!;
  const rowSteps = beat ? x.len / step : Math.ceil(x.len / step);
  const B = rows.reduce((s, ea) => s + Math.ceil(((ea % AB) + rb) / AB), 0);
  const S = rows.length * rowSteps;
  const need = x.grp ? (bits === 4 ? GRP_BLOCK_BYTES.int4 : GRP_BLOCK_BYTES.int8) : (Math.min(step, x.len) * bits) / 8;
  const W = Math.ceil(((rows[0]! % AB) + Math.min(need, rb)) / AB) - 1;
  return LD_FIXED_CYCLES + readLatency + Math.max(B, S + W);
}

export const ldEngine = defineModule<GenConfig>(
  'ld_engine',
  (c) => xferModuleName('ld_engine', c, { fifo: LD_FIFO_BEATS }),
  (m, c) => {
    const fr = xferFront(m, c, true);
    const { g, f } = fr;
    const geo = ldGeometry(c);
    const AB = g.axiBytes;
    const lgAB = Math.log2(AB);
    const CL = g.CL;
    const B = g.buffers;
    const ww = c.weightWidth;
    const mb = B.meta.bits;
    const laneW = Math.max(ww, mb);
    const WBA = log2Ceil(c.weightDepth);
    const SAW = Math.max(ELEM_ADDR_BITS, WBA);
    const CAP = geo.gearboxBytes;
    const BW = EXT_BITS - lgAB;
    const LL = g.ldLanes;
    const isInt4 = f.dtype.eq(0);
    m.doc(`LD engine: AXI ${8 * AB}-bit reads into the on-chip buffers (${LL}-lane element port, ${CL}-lane beat ports).`);

    // Ports.
    const arValidO = m.output('m_ar_valid', Bool);
    const arReady = m.input('m_ar_ready', Bool);
    const arAddrO = m.output('m_ar_addr', UInt(AXI_ADDR_BITS));
    const arLenO = m.output('m_ar_len', UInt(AXI_LEN_BITS));
    const arChanO = m.output('m_ar_chan', UInt(AXI_CHAN_BITS));
    const rValid = m.input('m_r_valid', Bool);
    const rReadyO = m.output('m_r_ready', Bool);
    const rData = m.input('m_r_data', UInt(8 * AB));
    const rLast = m.input('m_r_last', Bool);
    m.unused(rLast);
    const wrEnO = m.output('ld_wr_en', Bool);
    const wrBufO = m.output('ld_wr_buf', UInt(3));
    const wrAddrO = m.output('ld_wr_addr', UInt(ELEM_ADDR_BITS));
    const wrCountO = m.output('ld_wr_count', UInt(log2Ceil(LL + 1)));
    const wrDataO = m.output('ld_wr_data', UInt(32 * LL));
    const wrReady = m.input('ld_wr_ready', Bool);
    const wbEnO = m.output('ld_wbeat_en', Bool);
    const wbAddrO = m.output('ld_wbeat_addr', UInt(WBA));
    const wbDataO = m.output('ld_wbeat_data', UInt(CL * ww));
    const mbEnO = m.output('ld_mbeat_en', Bool);
    const mbAddrO = m.output('ld_mbeat_addr', UInt(WBA));
    const mbDataO = m.output('ld_mbeat_data', UInt(CL * mb));

    const walker = (name: string, extWidth: number, extBase: Expr, extStrides: Expr[], bufWidth: number, bufBase: Expr, bufStrides: Expr[], ready: Expr) =>
      xferWalker(m, fr, name, { width: extWidth, base: extBase, strides: extStrides }, { width: bufWidth, base: bufBase, strides: bufStrides }, ready);
    const zero = (w: number) => lit(0, UInt(w));
    const rowBytes = fr.rowBytes;
    const lit1 = lit(1, Bool);
    const lit0 = lit(0, Bool);

    // ---- 1. AR: bursts of each row's beats, within the FIFO credits.
    const arNext = m.wire('ar_next', Bool);
    const arw = walker('ar_walk', EXT_BITS, f.addr, f.estride.map((e) => e.ext(EXT_BITS)), AXI_CHAN_BITS, f.chan, [zero(AXI_CHAN_BITS), zero(AXI_CHAN_BITS), f.chstep.ext(AXI_CHAN_BITS)], arNext);
    m.unused(arw.out('last'), arw.out('done'));
    const ea = arw.out('ext_addr');
    const NBW = log2Ceil(Math.floor((AB - 1 + 2 ** ROW_BYTES_BITS - 1 + AB - 1) / AB) + 1);
    const beatsOfRow = (o: Expr) => o.ext(ROW_BYTES_BITS + 2).add(rowBytes.ext(ROW_BYTES_BITS + 2)).add(AB - 1).trunc(ROW_BYTES_BITS + 2).shr(lgAB).resize(NBW);
    const nb0 = m.wire('ar_row_beats', UInt(NBW), beatsOfRow(ea.trunc(lgAB)));
    const arActive = m.reg('ar_active', Bool);
    const arBeat = m.reg('ar_beat', UInt(BW), { reset: null });
    const arLeft = m.reg('ar_left', UInt(NBW), { reset: null });
    const curB = m.wire('ar_cur_beat', UInt(BW), mux(arActive, arBeat, ea.shr(lgAB)));
    const curLeft = m.wire('ar_cur_left', UInt(NBW), mux(arActive, arLeft, nb0));
    const n = burstBeats(m, 'ar_n', curB, curLeft, AB);
    const OW = log2Ceil(geo.fifoBeats + 1);
    const outstanding = m.reg('rd_outstanding', UInt(OW));
    const credit = outstanding.ext(OW + 1).add(n.ext(OW + 1)).le(geo.fifoBeats);
    const arValid = m.wire('ar_valid', Bool, arw.out('valid').and(credit));
    const arFire = m.wire('ar_fire', Bool, arValid.and(arReady));
    const lastBurst = m.wire('ar_last_burst', Bool, n.ext(Math.max(5, NBW)).eq(curLeft.ext(Math.max(5, NBW))));
    arNext.assign(arFire.and(lastBurst));
    arActive.assign(mux(fr.go, lit0, mux(arFire, lastBurst.not(), arActive)));
    arBeat.assign(mux(arFire, curB.add(n.ext(BW)).trunc(BW), arBeat));
    arLeft.assign(mux(arFire, curLeft.sub(n.ext(NBW)).trunc(NBW), arLeft));
    arValidO.assign(arValid);
    arAddrO.assign(cat(f.space, curB, zero(lgAB)));
    arLenO.assign(n.sub(1).trunc(5).ext(AXI_LEN_BITS));
    arChanO.assign(arw.out('buf_addr'));

    // ---- 2. R FIFO.
    const rPop = m.wire('r_pop', Bool);
    const rPush = m.wire('r_push', Bool);
    const fifo = ramFifo(m, 'rq', LD_FIFO_BEATS, 8 * AB, rPush, rData, rPop, 'block');
    rReadyO.assign(fifo.full.not());
    rPush.assign(rValid.and(fifo.full.not()));
    outstanding.assign(outstanding.add(mux(arFire, n, zero(5)).ext(OW)).sub(rPop.ext(OW)).trunc(OW));

    // ---- 3. Realign: drop the row's leading bytes, count its bytes per beat.
    const rNext = m.wire('r_next', Bool);
    const rw = walker('r_walk', lgAB, f.addr.trunc(lgAB), f.estride.map((e) => e.trunc(lgAB)), 1, zero(1), [zero(1), zero(1), zero(1)], rNext);
    m.unused(rw.out('valid'), rw.out('buf_addr'), rw.out('last'), rw.out('done'));
    const rMid = m.reg('r_mid', Bool);
    const rBytesLeft = m.reg('r_bytes_left', UInt(ROW_BYTES_BITS), { reset: null });
    const curBL = m.wire('r_cur_bytes', UInt(ROW_BYTES_BITS), mux(rMid, rBytesLeft, rowBytes));
    const lo = m.wire('r_lo', UInt(lgAB), mux(rMid, zero(lgAB), rw.out('ext_addr')));
    const cnt = m.wire('r_cnt', UInt(lgAB + 1), umin(lit(AB, UInt(lgAB + 1)).sub(lo.ext(lgAB + 1)).trunc(lgAB + 1), curBL).trunc(lgAB + 1));
    const sv = m.reg('s_valid', Bool);
    const sd = m.reg('s_data', UInt(8 * AB), { enable: rPop, reset: null });
    const sc = m.reg('s_count', UInt(lgAB + 1), { enable: rPop, reset: null });
    const FW = log2Ceil(CAP + 1);
    const fill = m.reg('gb_fill', UInt(FW));
    const gbAppend = m.wire('gb_append', Bool);
    rPop.assign(fifo.valid.and(sv.not().or(gbAppend)));
    const rRowEnd = curBL.eq(cnt.ext(ROW_BYTES_BITS));
    rNext.assign(rPop.and(rRowEnd));
    rMid.assign(mux(fr.go, lit0, mux(rPop, rRowEnd.not(), rMid)));
    rBytesLeft.assign(mux(rPop, curBL.sub(cnt.ext(ROW_BYTES_BITS)).trunc(ROW_BYTES_BITS), rBytesLeft));
    sd.assign(shrBytes(m, 'r_shift', fifo.data, lo));
    sc.assign(cnt);
    sv.assign(mux(fr.go, lit0, mux(rPop, lit1, mux(gbAppend, lit0, sv))));

    // ---- 4. Gearbox.
    const G = m.reg('gb', UInt(8 * CAP), { reset: null });
    const byteAt = (i: number) => G.slice(8 * i + 7, 8 * i);
    /** Element j of the head in a dtype of `bits` (undefined past the gearbox). */
    const elemAt = (bits: number, j: number): Expr | undefined => (bits * (j + 1) <= 8 * CAP ? G.slice(bits * (j + 1) - 1, bits * j) : undefined);

    // ---- 5. Consumer.
    const cNext = m.wire('c_next', Bool);
    const cw = walker('c_walk', 1, zero(1), [zero(1), zero(1), zero(1)], SAW, f.sram.ext(SAW), f.istride.map((s) => s.ext(SAW)), cNext);
    m.unused(cw.out('ext_addr'), cw.out('last'));
    const cValid = cw.out('valid');
    const beatMode = fr.beatBuf;
    const grpMode = m.wire('grp_mode', Bool, beatMode.and(f.grp));
    const cMid = m.reg('c_mid', Bool);
    const cLeft = m.reg('c_left', UInt(COUNT_BITS), { reset: null });
    const cPos = m.reg('c_pos', UInt(SAW), { reset: null });
    const rowLeft = m.wire('c_cur_left', UInt(COUNT_BITS), mux(cMid, cLeft, f.len));
    const pos = m.wire('c_cur_pos', UInt(SAW), mux(cMid, cPos, cw.out('buf_addr')));

    // Element writes.
    const CW = log2Ceil(LL + 1);
    const wmax = m.wire('wmax', UInt(CW), select(f.buf, BUFFERS.map((b) => select(f.dtype, geo.wmax[b]!.map((w) => lit(w, UInt(CW)))))));
    const wn = m.wire('wr_n', UInt(CW), umin(wmax, rowLeft).trunc(CW));
    const wNeed = m.wire('wr_need', UInt(CW + 2), bytesOf(wn, f.dtype));
    const wrValid = m.wire('wr_valid', Bool, cValid.and(beatMode.not()).and(fill.ext(Math.max(FW, CW + 2)).ge(wNeed.ext(Math.max(FW, CW + 2)))));
    const takeE = m.wire('take_elem', Bool, wrValid.and(wrReady));

    // Beat steps.
    const SW = log2Ceil(Math.max(...geo.beatStep, geo.grpStep) + 1);
    const uStep = m.wire('u_step', UInt(SW), mux(grpMode, lit(geo.grpStep, UInt(SW)), select(f.dtype, geo.beatStep.map((u) => lit(u, UInt(SW))))));
    const blockBytes = mux(isInt4, lit(GRP_BLOCK_BYTES.int4, UInt(6)), lit(GRP_BLOCK_BYTES.int8, UInt(6)));
    const bNeedW = Math.max(SW + 2, 6, FW);
    const bNeed = m.wire('beat_need', UInt(bNeedW), mux(grpMode, blockBytes.ext(bNeedW), bytesOf(uStep, f.dtype).ext(bNeedW)));
    const bValid = m.wire('beat_valid', Bool, cValid.and(beatMode).and(fill.ext(bNeedW).ge(bNeed)));
    const spb = geo.beatStep.map((u) => CL / u);
    const spbG = CL / geo.grpStep;
    const bsG = 32 / geo.grpStep;
    const PW = log2Ceil(Math.max(...spb, spbG) + 1);
    const p = m.reg('beat_step', UInt(PW));
    const pLast = m.wire('beat_step_last', Bool, mux(grpMode, p.eq(spbG - 1), select(f.dtype, spb.map((s) => p.eq(s - 1)))));
    const GSW = log2Ceil(bsG + 1);
    const s = m.reg('grp_step', UInt(GSW));
    const sLast = m.wire('grp_step_last', Bool, s.eq(bsG - 1));
    const takeB = bValid;

    // Consumption and row bookkeeping.
    const take = m.wire('c_take', Bool, takeE.or(takeB));
    const nStepW = Math.max(CW, SW);
    const nStep = m.wire('c_step', UInt(nStepW), mux(beatMode, uStep.ext(nStepW), wn.ext(nStepW)));
    const cRowEnd = m.wire('c_row_end', Bool, rowLeft.ext(Math.max(COUNT_BITS, nStepW)).eq(nStep.ext(Math.max(COUNT_BITS, nStepW))));
    cNext.assign(take.and(cRowEnd));
    cMid.assign(mux(fr.go, lit0, mux(take, cRowEnd.not(), cMid)));
    cLeft.assign(mux(take, rowLeft.sub(nStep.ext(COUNT_BITS)).trunc(COUNT_BITS), cLeft));
    cPos.assign(mux(takeE, pos.add(wn.ext(SAW)).trunc(SAW), mux(takeB, mux(pLast, pos.add(1).trunc(SAW), pos), cPos)));
    p.assign(mux(fr.go, zero(PW), mux(takeB, mux(pLast, zero(PW), p.add(1).trunc(PW)), p)));
    s.assign(mux(fr.go, zero(GSW), mux(takeB.and(grpMode), mux(sLast, zero(GSW), s.add(1).trunc(GSW)), s)));
    const CWID = Math.max(CW + 2, bNeedW, FW);
    const consumed = m.wire(
      'gb_consumed',
      UInt(CWID),
      mux(takeE, wNeed.ext(CWID), mux(takeB.and(grpMode.not().or(sLast)), bNeed.ext(CWID), zero(CWID))),
    );
    // Append the stage's bytes at the fill level (decided on registers only), then consume
    // from the head. Appending whenever fill <= CAP - AB keeps a full-rate stream going: the
    // gearbox holds twice the largest step (AB bytes, or a 34-byte grp block) plus a beat.
    gbAppend.assign(sv.and(fill.le(CAP - AB)));
    const placed = shlBytes(m, 'gb_place', sd.ext(8 * CAP), fill);
    const merged = m.wire('gb_merged', UInt(8 * CAP), pack(Array.from({ length: CAP }, (_, i) => mux(fill.gt(i), G.slice(8 * i + 7, 8 * i), placed.slice(8 * i + 7, 8 * i)))));
    G.assign(shrBytes(m, 'gb_shift', merged, consumed));
    const FX = Math.max(FW, CWID) + 1;
    fill.assign(mux(fr.go, zero(FW), fill.ext(FX).add(mux(gbAppend, sc, zero(lgAB + 1)).ext(FX)).sub(consumed.ext(FX)).trunc(FW)));

    // Element port.
    wrEnO.assign(wrValid);
    wrBufO.assign(f.buf);
    wrAddrO.assign(pos.trunc(ELEM_ADDR_BITS));
    wrCountO.assign(wn);
    const wmaxAll = DTYPE_BITS.map((_, d) => Math.max(...Object.values(geo.wmax).map((w) => w[d]!)));
    const lanes: Expr[] = [];
    for (let j = 0; j < LL; j++) {
      lanes.push(
        select(
          f.dtype,
          DTYPE_BITS.map((bits, d) => {
            const e = j < wmaxAll[d]! ? elemAt(bits, j) : undefined;
            return e ? e.asSInt().ext(32).asUInt() : zero(32);
          }),
        ),
      );
    }
    wrDataO.assign(pack(lanes));

    // Beat assembly: lane i takes step lane (i mod u) in step floor(i / u).
    const toLane = (e: Expr) => (e.width >= laneW ? e.trunc(laneW) : mux(fr.isMeta, e.ext(laneW), e.asSInt().ext(laneW).asUInt()));
    const stepLanes = geo.beatStep.map((u, d) =>
      Array.from({ length: u }, (_, j) => m.wire(`bl${DTYPE_BITS[d]}_${j}`, UInt(laneW), toLane(elemAt(DTYPE_BITS[d]!, j)!))),
    );
    const ug = geo.grpStep;
    const grpLanes: Signal[] = [];
    for (let j = 0; j < ug; j++) {
      const qs = Array.from({ length: bsG }, (_, k) => k * ug + j);
      const v8 = select(s, qs.map((q) => byteAt(q)));
      const v4 = select(s, qs.map((q) => G.slice(4 * q + 3, 4 * q)));
      const k8 = select(s, qs.map((q) => byteAt(q < 16 ? 32 : 33)));
      const k4 = select(s, qs.map((q) => byteAt(q < 16 ? 16 : 17)));
      const v = m.wire(`gv_${j}`, UInt(8), mux(isInt4, v4.asSInt().ext(8).asUInt(), v8));
      const k = m.wire(`gk_${j}`, UInt(8), mux(isInt4, k4, k8));
      // Lanes narrower than 8 bits keep only the product's low bits, which the low bits decide.
      if (laneW < 8) m.unused(v.slice(7, laneW), k.slice(7, laneW));
      grpLanes.push(m.wire(`gl_${j}`, UInt(laneW), v.asSInt().mul(k.ext(9).asSInt()).resize(laneW).asUInt()));
    }
    const pEq = Array.from({ length: Math.max(...spb, spbG) }, (_, k) => m.wire(`beat_step_is${k}`, Bool, p.eq(k)));
    const asm: Signal[] = [];
    for (let i = 0; i < CL; i++) {
      const en = takeB.and(mux(grpMode, pEq[Math.floor(i / ug)]!, select(f.dtype, geo.beatStep.map((u) => pEq[Math.floor(i / u)]!))));
      const val = mux(grpMode, grpLanes[i % ug]!, select(f.dtype, geo.beatStep.map((u, d) => stepLanes[d]![i % u]!)));
      const r = m.reg(`asm_${i}`, UInt(laneW), { enable: en, reset: null });
      r.assign(val);
      asm.push(r);
    }
    const beatV = m.reg('beat_wr', Bool);
    beatV.assign(takeB.and(pLast));
    const beatAddr = m.reg('beat_addr', UInt(WBA), { enable: takeB.and(pLast), reset: null });
    beatAddr.assign(pos.trunc(WBA));
    wbEnO.assign(beatV.and(fr.isMeta.not()));
    mbEnO.assign(beatV.and(fr.isMeta));
    wbAddrO.assign(beatAddr);
    mbAddrO.assign(beatAddr);
    wbDataO.assign(pack(asm.map((x) => x.trunc(ww))));
    mbDataO.assign(pack(asm.map((x) => x.trunc(mb))));

    // Done one cycle after the consumer's walker finishes (the last write is in that cycle).
    fr.finish(cw.out('done'));
  },
);
