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
 *
 * With config.ldPorts = N > 1 (docs/accelerator.md, "LD read ports") the engine has N AXI read
 * ports (m0_*, m1_*, ...) and N copies of stages 1-5 (ld_pipe modules) behind one front end:
 * row i of the loop nest goes to pipeline i mod N (when no two rows can overlap in the buffer,
 * ldStriped; else every row to pipeline 0). Each stage's walker hands a row over when the stage
 * starts it and skips the other pipelines' rows one per cycle. Element writes and finished
 * beats go through round-robin arbiters onto the single ld_wr and beat ports; a pipeline whose
 * beat waits takes no step. done: every pipeline's walkers are through and nothing is pending.
 */
import { Bool, cat, defineModule, lit, log2Ceil, mux, pack, select, UInt, type Expr, type Instance, type ModuleBuilder, type Signal } from '../../hdl/index.ts';
import { fieldSpec } from '../../isa/hdl-fields.ts';
import { BUFFERS, DTYPES, slices } from '../../isa/table.ts';
import type { GenConfig } from '../config.ts';
import { ELEM_ADDR_BITS } from './buffer.ts';
import { accelGeometry, type AccelGeometry } from './buffers.ts';
import { AXI_ADDR_BITS, AXI_CHAN_BITS, AXI_LEN_BITS, burstBeats, bytesOf, COUNT_BITS, DTYPE_BITS, EXT_BITS, GRP_BLOCK_BYTES, ramFifo, ROW_BYTES_BITS, rowAddresses, shlBytes, shrBytes, umin, XFER_IMMEDIATE_DONE_CYCLES, xferFront, xferModuleName, xferWalker, xferRowBytes, type XferFields, type XferFront, type XferOperands } from './xfer.ts';

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

/** What a read pipeline takes from the engine: the decoded instruction (front end, or the inputs of an ld_pipe). */
interface PipeCtx {
  readonly g: AccelGeometry;
  readonly f: XferFields;
  readonly rowBytes: Expr;
  readonly go: Expr;
  readonly beatBuf: Expr;
  readonly isMeta: Expr;
}

/** The AXI read port of a pipeline and the acceptance of its element writes. */
interface PipeIo {
  readonly arReady: Expr;
  readonly rValid: Expr;
  readonly rData: Expr;
  readonly rLast: Expr;
  /** The element write the pipeline requests (wrValid) is taken this cycle if valid. */
  readonly wrReady: Expr;
}

/** Row striping (ldPorts > 1): which rows are this pipeline's, and the beat port's grant. */
interface Striping {
  readonly ports: number;
  /** Row i belongs to pipeline i mod ports; low: every row belongs to pipeline 0 (rows overlap on chip). */
  readonly striped: Expr;
  /** This pipeline's index (a constant). */
  readonly index: Expr;
  /** The pipeline's finished beat (`beat`) is written this cycle. */
  readonly beatGrant: Expr;
}

interface PipeOut {
  readonly arValid: Expr;
  readonly arAddr: Expr;
  readonly arLen: Expr;
  readonly arChan: Expr;
  readonly rReady: Expr;
  readonly wrValid: Expr;
  readonly wrAddr: Expr;
  readonly wrCount: Expr;
  readonly wrData: Expr;
  /** One pipeline: a beat is written this cycle. Striped: a finished beat waits for the beat port. */
  readonly beat: Expr;
  readonly beatAddr: Expr;
  /** The assembly registers: C*L lanes of max(weightWidth, meta bits). */
  readonly asm: readonly Signal[];
  /** One pipeline: the consumer walker's done pulse. Striped: every row of this pipeline is written. */
  readonly finish: Expr;
}

/**
 * One read pipeline (stages 1-5 of the file comment) inside module `m`. Alone (no striping) it
 * takes every row and its walkers step when a stage finishes a row. Striped, each stage's walker
 * hands a row over when the stage starts it, then skips the rows of the other pipelines (one per
 * cycle) while the stage works, and waits at the next row of its own.
 */
function ldPipeline(m: ModuleBuilder, c: GenConfig, fr: PipeCtx, io: PipeIo, st?: Striping): PipeOut {
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
  m.unused(io.rLast);

  const walker = (name: string, extWidth: number, extBase: Expr, extStrides: Expr[], bufWidth: number, bufBase: Expr, bufStrides: Expr[], ready: Expr) =>
    xferWalker(m, fr, name, { width: extWidth, base: extBase, strides: extStrides }, { width: bufWidth, base: bufBase, strides: bufStrides }, ready);
  const zero = (w: number) => lit(0, UInt(w));
  const rowBytes = fr.rowBytes;
  const lit1 = lit(1, Bool);
  const lit0 = lit(0, Bool);
  /** Striped: the walker's current row is this pipeline's (a row counter mod ports). */
  const ownRow = (name: string, w: Instance, ready: Expr): Expr => {
    if (!st) return lit1;
    const PB = Math.log2(st.ports);
    const ph = m.reg(`${name}_row`, UInt(PB));
    ph.assign(mux(fr.go, zero(PB), mux(w.out('valid').and(ready), ph.add(1).trunc(PB), ph)));
    return m.wire(`${name}_own`, Bool, mux(st.striped, ph.eq(st.index), st.index.eq(0)));
  };

  // ---- 1. AR: bursts of each row's beats, within the FIFO credits.
  const arNext = m.wire('ar_next', Bool);
  const arw = walker('ar_walk', EXT_BITS, f.addr, f.estride.map((e) => e.ext(EXT_BITS)), AXI_CHAN_BITS, f.chan, [zero(AXI_CHAN_BITS), zero(AXI_CHAN_BITS), f.chstep.ext(AXI_CHAN_BITS)], arNext);
  m.unused(arw.out('last'), arw.out('done'));
  const arOwn = ownRow('ar_walk', arw, arNext);
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
  const arValid = m.wire('ar_valid', Bool, (st ? arActive.or(arw.out('valid').and(arOwn)) : arw.out('valid')).and(credit));
  const arFire = m.wire('ar_fire', Bool, arValid.and(io.arReady));
  const lastBurst = m.wire('ar_last_burst', Bool, n.ext(Math.max(5, NBW)).eq(curLeft.ext(Math.max(5, NBW))));
  let arChan: Expr = arw.out('buf_addr');
  if (st) {
    // The walker moves on at a row's first burst: its channel is kept for the others.
    const arStart = m.wire('ar_row_start', Bool, arFire.and(arActive.not()));
    arNext.assign(arOwn.not().or(arStart));
    const chanR = m.reg('ar_chan', UInt(AXI_CHAN_BITS), { enable: arStart, reset: null });
    chanR.assign(arw.out('buf_addr'));
    arChan = mux(arActive, chanR, arw.out('buf_addr'));
  } else arNext.assign(arFire.and(lastBurst));
  arActive.assign(mux(fr.go, lit0, mux(arFire, lastBurst.not(), arActive)));
  arBeat.assign(mux(arFire, curB.add(n.ext(BW)).trunc(BW), arBeat));
  arLeft.assign(mux(arFire, curLeft.sub(n.ext(NBW)).trunc(NBW), arLeft));

  // ---- 2. R FIFO.
  const rPop = m.wire('r_pop', Bool);
  const rPush = m.wire('r_push', Bool);
  const fifo = ramFifo(m, 'rq', LD_FIFO_BEATS, 8 * AB, rPush, io.rData, rPop, 'block');
  rPush.assign(io.rValid.and(fifo.full.not()));
  outstanding.assign(outstanding.add(mux(arFire, n, zero(5)).ext(OW)).sub(rPop.ext(OW)).trunc(OW));

  // ---- 3. Realign: drop the row's leading bytes, count its bytes per beat.
  const rNext = m.wire('r_next', Bool);
  const rw = walker('r_walk', lgAB, f.addr.trunc(lgAB), f.estride.map((e) => e.trunc(lgAB)), 1, zero(1), [zero(1), zero(1), zero(1)], rNext);
  m.unused(...(st ? [] : [rw.out('valid')]), rw.out('buf_addr'), rw.out('last'), rw.out('done'));
  const rOwn = ownRow('r_walk', rw, rNext);
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
  const rRowEnd = curBL.eq(cnt.ext(ROW_BYTES_BITS));
  if (st) {
    // A row's first beat waits until the walker shows the row (it may still be skipping).
    rPop.assign(fifo.valid.and(sv.not().or(gbAppend)).and(rMid.or(rw.out('valid').and(rOwn))));
    rNext.assign(rOwn.not().or(rPop.and(rMid.not())));
  } else {
    rPop.assign(fifo.valid.and(sv.not().or(gbAppend)));
    rNext.assign(rPop.and(rRowEnd));
  }
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

  // ---- 5. Consumer (a third walker gives each row's on-chip address).
  const cNext = m.wire('c_next', Bool);
  const cw = walker('c_walk', 1, zero(1), [zero(1), zero(1), zero(1)], SAW, f.sram.ext(SAW), f.istride.map((s) => s.ext(SAW)), cNext);
  m.unused(cw.out('ext_addr'), cw.out('last'));
  if (st) m.unused(cw.out('done'));
  const cOwn = ownRow('c_walk', cw, cNext);
  const beatMode = fr.beatBuf;
  const grpMode = m.wire('grp_mode', Bool, beatMode.and(f.grp));
  const cMid = m.reg('c_mid', Bool);
  const cValid = st ? m.wire('c_valid', Bool, cMid.or(cw.out('valid').and(cOwn))) : cw.out('valid');
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
  const takeE = m.wire('take_elem', Bool, wrValid.and(io.wrReady));

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
  // Striped: a finished beat waiting for the beat port holds the assembly registers.
  const pend = st ? m.reg('beat_pend', Bool) : undefined;
  const takeB = pend ? m.wire('take_beat', Bool, bValid.and(pend.and(st!.beatGrant.not()).not())) : bValid;

  // Consumption and row bookkeeping.
  const take = m.wire('c_take', Bool, takeE.or(takeB));
  const nStepW = Math.max(CW, SW);
  const nStep = m.wire('c_step', UInt(nStepW), mux(beatMode, uStep.ext(nStepW), wn.ext(nStepW)));
  const cRowEnd = m.wire('c_row_end', Bool, rowLeft.ext(Math.max(COUNT_BITS, nStepW)).eq(nStep.ext(Math.max(COUNT_BITS, nStepW))));
  cNext.assign(st ? cOwn.not().or(take.and(cMid.not())) : take.and(cRowEnd));
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
  let beat: Signal;
  if (pend) {
    pend.assign(mux(fr.go, lit0, takeB.and(pLast).or(pend.and(st!.beatGrant.not()))));
    beat = pend;
  } else {
    beat = m.reg('beat_wr', Bool);
    beat.assign(takeB.and(pLast));
  }
  const beatAddr = m.reg('beat_addr', UInt(WBA), { enable: takeB.and(pLast), reset: null });
  beatAddr.assign(pos.trunc(WBA));

  // Alone: done one cycle after the consumer's walker finishes (the last write is in that
  // cycle). Striped: when the walkers are through, no row is half consumed and no beat waits.
  const finish = st
    ? m.wire('pipe_finish', Bool, arw.out('valid').or(rw.out('valid')).or(cw.out('valid')).or(cMid).or(pend!.and(st.beatGrant.not())).not())
    : cw.out('done');
  return {
    arValid,
    arAddr: cat(f.space, curB, zero(lgAB)),
    arLen: n.sub(1).trunc(5).ext(AXI_LEN_BITS),
    arChan,
    rReady: fifo.full.not(),
    wrValid,
    wrAddr: pos.trunc(ELEM_ADDR_BITS),
    wrCount: wn,
    wrData: pack(lanes),
    beat,
    beatAddr,
    asm,
    finish,
  };
}

/** Rows of the LD can go to different pipelines: no two rows overlap on chip (see ldStriped). */
function stripedCheck(m: ModuleBuilder, c: GenConfig, fr: XferFront): Expr {
  const CL = accelGeometry(c).CL;
  const f = fr.f;
  const unitW = log2Ceil(CL + 1);
  const W = 2 * COUNT_BITS + unitW + 3;
  const units = (x: Expr) => (CL === 1 ? x.ext(W) : mux(fr.beatBuf, x.ext(W).mul(lit(CL, UInt(unitW))).trunc(W), x.ext(W)));
  const len = f.len.ext(W);
  const ext1 = units(fr.prods[0]!).add(len).trunc(W);
  const ext2 = units(fr.prods[1]!).add(ext1).trunc(W);
  const ok = (k: number, extent: Expr) => f.count[k]!.le(1).or(units(f.istride[k]!).ge(extent));
  return m.wire('rows_disjoint', Bool, ok(0, len).and(ok(1, ext1)).and(ok(2, ext2)));
}

/**
 * Whether the rows of an LD are striped over the pipelines: true when no two rows overlap in
 * the buffer, by the sufficient test the RTL makes at the start (loop levels in order, each
 * level's stride at least the extent of the level inside it; counts of 1 pass). Rows that may
 * overlap all go to pipeline 0, in order, so later rows overwrite earlier ones as in the golden
 * model.
 */
export function ldStriped(c: GenConfig, x: XferOperands): boolean {
  const unit = x.buf === 'weight' || x.buf === 'meta' ? accelGeometry(c).CL : 1;
  const counts = [x.count0, x.count1, x.count2];
  const strides = [x.istride0, x.istride1, x.istride2];
  let extent = x.len;
  const ok0 = counts[0]! <= 1 || strides[0]! * unit >= extent;
  extent += (counts[0]! - 1) * strides[0]! * unit;
  const ok1 = counts[1]! <= 1 || strides[1]! * unit >= extent;
  extent += (counts[1]! - 1) * strides[1]! * unit;
  const ok2 = counts[2]! <= 1 || strides[2]! * unit >= extent;
  return ok0 && ok1 && ok2;
}

/** A round-robin arbiter: one-hot grants among `req`, starting the search after the last grant taken. */
function roundRobin(m: ModuleBuilder, name: string, req: readonly Expr[], taken: (any: Expr) => Expr): { grant: Signal[]; any: Signal } {
  const N = req.length;
  const PB = Math.log2(N);
  const ptr = m.reg(`${name}_ptr`, UInt(PB));
  const r = m.wire(`${name}_req`, UInt(N), pack(req));
  const mask = pack(Array.from({ length: N }, (_, i) => (i === N - 1 ? lit(1, Bool) : ptr.le(i))));
  const hi = m.wire(`${name}_hi`, UInt(N), r.and(mask));
  const pick = m.wire(`${name}_pick`, UInt(N), mux(hi.ne(0), hi, r));
  const onehot = m.wire(`${name}_grant`, UInt(N), pick.and(pick.not().add(1).trunc(N)));
  const grant = Array.from({ length: N }, (_, i) => m.wire(`${name}_grant${i}`, Bool, onehot.bit(i)));
  const idx = pack(Array.from({ length: PB }, (_, b) => grant.filter((_, i) => (i >> b) & 1).reduce((a: Expr, x) => a.or(x), lit(0, Bool))));
  const any = m.wire(`${name}_any`, Bool, r.ne(0));
  ptr.assign(mux(taken(any), idx.add(1).trunc(PB), ptr));
  return { grant, any };
}

/** AND-OR multiplexer of `xs` by one-hot `sel`. */
const oneHotMux = (sel: readonly Expr[], xs: readonly Expr[]): Expr =>
  xs.map((x, i) => mux(sel[i]!, x, lit(0, UInt(x.width)))).reduce((a, b) => a.or(b));

/** Widths of the LD fields an ld_pipe takes. */
const fieldWidth = (name: string) => slices(fieldSpec('LD', name)).reduce((a, x) => a + x.width, 0);

/**
 * One read pipeline of a striped LD engine (ldPorts > 1): the instruction comes decoded from
 * the engine, element writes and finished beats go back to the engine's arbiters.
 */
export const ldPipe = defineModule<GenConfig>(
  'ld_pipe',
  (c) => xferModuleName('ld_pipe', c, { fifo: LD_FIFO_BEATS, ports: c.ldPorts }),
  (m, c) => {
    const g = accelGeometry(c);
    const AB = g.axiBytes;
    const CL = g.CL;
    m.doc(`LD read pipeline (one of ${c.ldPorts}): AXI ${8 * AB}-bit port, R FIFO, realigner, gearbox, element writes and ${CL}-lane beat assembly.`);
    const inp = (name: string, w: number) => m.input(name, w === 1 ? Bool : UInt(w));
    const fld = (name: string) => inp(`i_${name}`, fieldWidth(name));
    const f: XferFields = {
      buf: fld('buf'),
      dtype: fld('dtype'),
      space: fld('space'),
      addr: fld('addr'),
      chan: fld('chan'),
      chstep: fld('chstep'),
      sram: fld('sram'),
      len: fld('len'),
      grp: fld('grp'),
      count: [0, 1, 2].map((k) => fld(`count${k}`)),
      istride: [0, 1, 2].map((k) => fld(`istride${k}`)),
      estride: [0, 1, 2].map((k) => fld(`estride${k}`)),
    };
    const ctx: PipeCtx = { g, f, rowBytes: inp('row_bytes', ROW_BYTES_BITS), go: inp('go', 1), beatBuf: inp('beat_buf', 1), isMeta: inp('is_meta', 1) };
    const st: Striping = { ports: c.ldPorts, striped: inp('striped', 1), index: inp('index', Math.log2(c.ldPorts)), beatGrant: inp('beat_grant', 1) };
    const io: PipeIo = { arReady: inp('m_ar_ready', 1), rValid: inp('m_r_valid', 1), rData: inp('m_r_data', 8 * AB), rLast: inp('m_r_last', 1), wrReady: inp('wr_ready', 1) };
    const o = ldPipeline(m, c, ctx, io, st);
    const out = (name: string, x: Expr) => m.output(name, x.type).assign(x);
    out('m_ar_valid', o.arValid);
    out('m_ar_addr', o.arAddr);
    out('m_ar_len', o.arLen);
    out('m_ar_chan', o.arChan);
    out('m_r_ready', o.rReady);
    out('o_wr_valid', o.wrValid);
    out('o_wr_addr', o.wrAddr);
    out('o_wr_count', o.wrCount);
    out('o_wr_data', o.wrData);
    out('o_beat_pend', o.beat);
    out('o_beat_addr', o.beatAddr);
    out('o_beat_lanes', pack(o.asm));
    out('o_finish', o.finish);
  },
);

/** Port name prefix of LD read port `p`: `m` with one port, `m0`, `m1`, ... with several. */
export const ldPortPrefix = (c: Pick<GenConfig, 'ldPorts'>, p: number): string => (c.ldPorts === 1 ? 'm' : `m${p}`);

export const ldEngine = defineModule<GenConfig>(
  'ld_engine',
  (c) => xferModuleName('ld_engine', c, c.ldPorts === 1 ? { fifo: LD_FIFO_BEATS } : { fifo: LD_FIFO_BEATS, ports: c.ldPorts }),
  (m, c) => {
    const fr = xferFront(m, c, true);
    const { g, f } = fr;
    const AB = g.axiBytes;
    const CL = g.CL;
    const B = g.buffers;
    const ww = c.weightWidth;
    const mb = B.meta.bits;
    const laneW = Math.max(ww, mb);
    const WBA = log2Ceil(c.weightDepth);
    const LL = g.ldLanes;
    const N = c.ldPorts;
    m.doc(
      N === 1
        ? `LD engine: AXI ${8 * AB}-bit reads into the on-chip buffers (${LL}-lane element port, ${CL}-lane beat ports).`
        : `LD engine: ${N} AXI ${8 * AB}-bit read ports, rows striped over ${N} read pipelines, into the on-chip buffers (${LL}-lane element port, ${CL}-lane beat ports, round-robin).`,
    );

    // AXI read ports.
    const axiIn = (pre: string): Omit<PipeIo, 'wrReady'> & { out: (o: Pick<PipeOut, 'arValid' | 'arAddr' | 'arLen' | 'arChan' | 'rReady'>) => void } => {
      const arValidO = m.output(`${pre}_ar_valid`, Bool);
      const arReady = m.input(`${pre}_ar_ready`, Bool);
      const arAddrO = m.output(`${pre}_ar_addr`, UInt(AXI_ADDR_BITS));
      const arLenO = m.output(`${pre}_ar_len`, UInt(AXI_LEN_BITS));
      const arChanO = m.output(`${pre}_ar_chan`, UInt(AXI_CHAN_BITS));
      const rValid = m.input(`${pre}_r_valid`, Bool);
      const rReadyO = m.output(`${pre}_r_ready`, Bool);
      const rData = m.input(`${pre}_r_data`, UInt(8 * AB));
      const rLast = m.input(`${pre}_r_last`, Bool);
      return {
        arReady,
        rValid,
        rData,
        rLast,
        out: (o) => {
          arValidO.assign(o.arValid);
          arAddrO.assign(o.arAddr);
          arLenO.assign(o.arLen);
          arChanO.assign(o.arChan);
          rReadyO.assign(o.rReady);
        },
      };
    };

    const axi = Array.from({ length: N }, (_, p) => axiIn(ldPortPrefix(c, p)));

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
    wrBufO.assign(f.buf);
    const beatPorts = (en: Expr, addr: Expr, ls: readonly Expr[]) => {
      wbEnO.assign(en.and(fr.isMeta.not()));
      mbEnO.assign(en.and(fr.isMeta));
      wbAddrO.assign(addr);
      mbAddrO.assign(addr);
      wbDataO.assign(pack(ls.map((x) => x.trunc(ww))));
      mbDataO.assign(pack(ls.map((x) => x.trunc(mb))));
    };

    if (N === 1) {
      const o = ldPipeline(m, c, fr, { ...axi[0]!, wrReady });
      axi[0]!.out(o);
      wrEnO.assign(o.wrValid);
      wrAddrO.assign(o.wrAddr);
      wrCountO.assign(o.wrCount);
      wrDataO.assign(o.wrData);
      beatPorts(o.beat, o.beatAddr, o.asm);
      // Done one cycle after the consumer's walker finishes (the last write is in that cycle).
      fr.finish(o.finish);
      return;
    }

    // Striped: N pipelines, rows i -> pipeline i mod N when no two rows overlap on chip.
    const disjoint = stripedCheck(m, c, fr);
    const striped = m.reg('striped', Bool, { enable: fr.go });
    striped.assign(disjoint);
    const fieldIn: Record<string, Expr> = {};
    for (const k of ['buf', 'dtype', 'space', 'addr', 'chan', 'chstep', 'sram', 'len', 'grp'] as const) fieldIn[`i_${k}`] = f[k];
    for (let k = 0; k < 3; k++) {
      fieldIn[`i_count${k}`] = f.count[k]!;
      fieldIn[`i_istride${k}`] = f.istride[k]!;
      fieldIn[`i_estride${k}`] = f.estride[k]!;
    }
    const pipes = Array.from({ length: N }, (_, p) => {
      const io = axi[p]!;
      const inst = m.instance(`pipe${p}`, ldPipe, c, {
        ...fieldIn,
        row_bytes: fr.rowBytes,
        go: fr.go,
        beat_buf: fr.beatBuf,
        is_meta: fr.isMeta,
        striped,
        index: lit(p, UInt(Math.log2(N))),
        m_ar_ready: io.arReady,
        m_r_valid: io.rValid,
        m_r_data: io.rData,
        m_r_last: io.rLast,
      });
      io.out({ arValid: inst.out('m_ar_valid'), arAddr: inst.out('m_ar_addr'), arLen: inst.out('m_ar_len'), arChan: inst.out('m_ar_chan'), rReady: inst.out('m_r_ready') });
      return inst;
    });
    // Element writes: one per cycle, round-robin over the requesting pipelines.
    const wr = roundRobin(m, 'wr_arb', pipes.map((x) => x.out('o_wr_valid')), (any) => any.and(wrReady));
    pipes.forEach((x, p) => x.bind({ wr_ready: wr.grant[p]!.and(wrReady) }));
    wrEnO.assign(wr.any);
    wrAddrO.assign(oneHotMux(wr.grant, pipes.map((x) => x.out('o_wr_addr'))));
    wrCountO.assign(oneHotMux(wr.grant, pipes.map((x) => x.out('o_wr_count'))));
    wrDataO.assign(oneHotMux(wr.grant, pipes.map((x) => x.out('o_wr_data'))));
    // Finished beats: one per cycle on the beat port, round-robin.
    const bt = roundRobin(m, 'beat_arb', pipes.map((x) => x.out('o_beat_pend')), (any) => any);
    pipes.forEach((x, p) => x.bind({ beat_grant: bt.grant[p]! }));
    const lanes = m.wire('beat_lanes', UInt(CL * laneW), oneHotMux(bt.grant, pipes.map((x) => x.out('o_beat_lanes'))));
    beatPorts(bt.any, oneHotMux(bt.grant, pipes.map((x) => x.out('o_beat_addr'))), Array.from({ length: CL }, (_, i) => lanes.slice(laneW * (i + 1) - 1, laneW * i)));
    fr.finish(pipes.map((x): Expr => x.out('o_finish')).reduce((a, b) => a.and(b)));
  },
);
