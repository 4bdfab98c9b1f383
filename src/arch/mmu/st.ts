/**
 * The ST engine (docs/accelerator.md): copies rows from an on-chip buffer to external memory
 * (AXI write master), exactly as golden transfer() (src/golden/machine.ts) does.
 *
 *   1. Reads: a walker over the loop nest issues element reads of n = min(rmax(dtype), left)
 *      elements per cycle on the st_rd port, only while the read FIFO has room for the data
 *      (it returns BUFFER_READ_LATENCY cycles later and cannot be stalled).
 *   2. Packer: a second walker knows each row's ea; the elements are packed to the dtype
 *      (int4: two per byte, low nibble first) and placed at the row's byte offset in the beat;
 *      whole beats go to the W channel with the row's bytes strobed; a row's last, partial beat
 *      follows (one extra cycle when that entry also completed a beat). It splits the beats
 *      into the same bursts as the AW side (16 beats, 4 KiB pages) for m_w_last, so W never
 *      waits for AW.
 *   3. AW: a third walker issues each row's bursts (at most ST_MAX_PENDING unacknowledged).
 *   4. done when every AW is issued, every W beat sent and every B response received.
 */
import { Bool, cat, defineModule, lit, log2Ceil, mux, pack, select, split, UInt, type Expr } from '../../hdl/index.ts';
import { DTYPES } from '../../isa/table.ts';
import type { GenConfig } from '../config.ts';
import { ELEM_ADDR_BITS } from './buffer.ts';
import { accelGeometry, BUFFER_READ_LATENCY } from './buffers.ts';
import { AXI_ADDR_BITS, AXI_CHAN_BITS, AXI_LEN_BITS, burstBeats, bytesOf, COUNT_BITS, DTYPE_BITS, EXT_BITS, PAGE_BYTES, ramFifo, ROW_BYTES_BITS, rowAddresses, shlBytes, umin, XFER_IMMEDIATE_DONE_CYCLES, xferFront, xferModuleName, xferWalker, xferRowBytes, type XferOperands } from './xfer.ts';

/** Entries of the read-data FIFO's RAM (plus its head register). */
export const ST_FIFO_ENTRIES = 8;
/** Bursts issued on AW and not yet acknowledged on B, at most. */
export const ST_MAX_PENDING = 64;

/** Elements per st_rd read per dtype (int4, int8, int16, int32): at most one AXI beat of bytes. */
export function stReadLanes(c: GenConfig): number[] {
  const g = accelGeometry(c);
  return DTYPE_BITS.map((bits) => {
    const r = Math.min(g.stLanes, Math.floor((8 * g.axiBytes) / bits));
    const even = bits === 4 ? r - (r % 2) : r;
    if (even === 0) throw new RangeError(`ST engine: int4 stores need at least 2 read lanes (stLanes ${g.stLanes})`);
    return even;
  });
}

/** Fixed cycles of an ST besides the reads and the write response latency. */
export const ST_FIXED_CYCLES = 10;

/**
 * ST cycles from the `start` cycle to the `done` cycle with no stalls (AW, W ready, B as soon
 * as the memory answers), for a memory that responds on B `writeLatency` cycles after the
 * burst's last W beat:
 *   ST_FIXED_CYCLES + writeLatency + sum over rows (reads + flush)
 * reads = ceil(len / rmax(dtype)) (stReadLanes), flush = 1 when the row's last read both
 * completes a beat and leaves bytes for one more (its last beat needs an extra cycle). The
 * W channel carries at most one beat per read, so this is also >= the row's beats.
 * Refused or empty instructions: XFER_IMMEDIATE_DONE_CYCLES.
 */
export function stCycles(c: GenConfig, x: XferOperands, writeLatency: number): number {
  const AB = accelGeometry(c).axiBytes;
  const d = DTYPES.indexOf(x.dtype);
  const bits = DTYPE_BITS[d]!;
  const r = stReadLanes(c)[d]!;
  const rb = xferRowBytes(x);
  const rows = rowAddresses(x);
  if (rows.length === 0 || rb === 0) return XFER_IMMEDIATE_DONE_CYCLES;
  const reads = Math.ceil(x.len / r);
  const lastBytes = ((x.len - (reads - 1) * r) * bits) / 8;
  let n = 0;
  for (const ea of rows) {
    const before = ((ea % AB) + rb - lastBytes) % AB;
    n += reads + (before + lastBytes > AB ? 1 : 0);
  }
  return ST_FIXED_CYCLES + writeLatency + n;
}

export const stEngine = defineModule<GenConfig>(
  'st_engine',
  (c) => xferModuleName('st_engine', c, { fifo: ST_FIFO_ENTRIES, pend: ST_MAX_PENDING }),
  (m, c) => {
    if (BUFFER_READ_LATENCY !== 2) throw new Error('st_engine assumes a buffer read latency of 2');
    const fr = xferFront(m, c, false);
    const { g, f } = fr;
    const AB = g.axiBytes;
    const lgAB = Math.log2(AB);
    const SL = g.stLanes;
    const rmax = stReadLanes(c);
    const BW = EXT_BITS - lgAB;
    const PGW = Math.log2(PAGE_BYTES);
    m.doc(`ST engine: ${SL}-lane buffer reads to AXI ${8 * AB}-bit writes.`);

    const awValidO = m.output('m_aw_valid', Bool);
    const awReady = m.input('m_aw_ready', Bool);
    const awAddrO = m.output('m_aw_addr', UInt(AXI_ADDR_BITS));
    const awLenO = m.output('m_aw_len', UInt(AXI_LEN_BITS));
    const awChanO = m.output('m_aw_chan', UInt(AXI_CHAN_BITS));
    const wValidO = m.output('m_w_valid', Bool);
    const wReady = m.input('m_w_ready', Bool);
    const wDataO = m.output('m_w_data', UInt(8 * AB));
    const wStrbO = m.output('m_w_strb', UInt(AB));
    const wLastO = m.output('m_w_last', Bool);
    const bValid = m.input('m_b_valid', Bool);
    const bReadyO = m.output('m_b_ready', Bool);
    const rdEnO = m.output('st_rd_en', Bool);
    const rdBufO = m.output('st_rd_buf', UInt(3));
    const rdAddrO = m.output('st_rd_addr', UInt(ELEM_ADDR_BITS));
    const rdData = m.input('st_rd_data', UInt(32 * SL));

    const walker = (name: string, extWidth: number, extBase: Expr, extStrides: Expr[], bufWidth: number, bufBase: Expr, bufStrides: Expr[], ready: Expr) =>
      xferWalker(m, fr, name, { width: extWidth, base: extBase, strides: extStrides }, { width: bufWidth, base: bufBase, strides: bufStrides }, ready);
    const zero = (w: number) => lit(0, UInt(w));
    const lit0 = lit(0, Bool);
    const lit1 = lit(1, Bool);
    const rowBytes = fr.rowBytes;
    const NBW = log2Ceil(Math.floor((AB - 1 + 2 ** ROW_BYTES_BITS - 1 + AB - 1) / AB) + 1);
    const beatsOfRow = (o: Expr) => o.ext(ROW_BYTES_BITS + 2).add(rowBytes.ext(ROW_BYTES_BITS + 2)).add(AB - 1).trunc(ROW_BYTES_BITS + 2).shr(lgAB).resize(NBW);
    const RW = log2Ceil(SL + 1);
    const rmaxD = m.wire('rd_max', UInt(RW), select(f.dtype, rmax.map((r) => lit(r, UInt(RW)))));
    /** Elements of the next read of a row with `left` elements to go. */
    const readN = (name: string, left: Expr) => m.wire(name, UInt(RW), umin(rmaxD, left).trunc(RW));

    // ---- 1. Buffer reads.
    const rdNext = m.wire('rd_next', Bool);
    const rdw = walker('rd_walk', 1, zero(1), [zero(1), zero(1), zero(1)], ELEM_ADDR_BITS, f.sram, f.istride.map((s) => s.ext(ELEM_ADDR_BITS)), rdNext);
    m.unused(rdw.out('ext_addr'), rdw.out('last'), rdw.out('done'));
    const rdMid = m.reg('rd_mid', Bool);
    const rdLeft = m.reg('rd_left', UInt(COUNT_BITS), { reset: null });
    const rdPos = m.reg('rd_pos', UInt(ELEM_ADDR_BITS), { reset: null });
    const rdCurLeft = m.wire('rd_cur_left', UInt(COUNT_BITS), mux(rdMid, rdLeft, f.len));
    const rdCurPos = m.wire('rd_cur_pos', UInt(ELEM_ADDR_BITS), mux(rdMid, rdPos, rdw.out('buf_addr')));
    const rn = readN('rd_n', rdCurLeft);
    const pop = m.wire('sq_pop', Bool);
    const v1 = m.reg('rd_v1', Bool);
    const v2 = m.reg('rd_v2', Bool);
    // The FIFO keeps the bits some dtype packs: lane j's low max{bits : j < rmax(dtype)} bits.
    const laneBits = Array.from({ length: SL }, (_, j) => Math.max(...DTYPE_BITS.map((bits, d) => (j < rmax[d]! ? bits : 0))));
    const rdLanes = split(rdData, SL);
    rdLanes.forEach((l, j) => laneBits[j]! < 32 && m.unused(l.slice(31, laneBits[j]!)));
    const kept = cat(...rdLanes.map((l, j) => l.trunc(laneBits[j]!)).reverse());
    const fifo = ramFifo(m, 'sq', ST_FIFO_ENTRIES, kept.width, v2, kept, pop);
    const OW = log2Ceil(fifo.capacity + 1);
    const outstanding = m.reg('rd_outstanding', UInt(OW));
    const issue = m.wire('rd_issue', Bool, rdw.out('valid').and(outstanding.lt(fifo.capacity)));
    const rdRowEnd = rdCurLeft.eq(rn.ext(COUNT_BITS));
    rdNext.assign(issue.and(rdRowEnd));
    rdMid.assign(mux(fr.go, lit0, mux(issue, rdRowEnd.not(), rdMid)));
    rdLeft.assign(mux(issue, rdCurLeft.sub(rn.ext(COUNT_BITS)).trunc(COUNT_BITS), rdLeft));
    rdPos.assign(mux(issue, rdCurPos.add(rn.ext(ELEM_ADDR_BITS)).trunc(ELEM_ADDR_BITS), rdPos));
    v1.assign(issue);
    v2.assign(v1);
    outstanding.assign(outstanding.add(issue.ext(OW)).sub(pop.ext(OW)).trunc(OW));
    m.unused(fifo.full);
    rdEnO.assign(issue);
    rdBufO.assign(f.buf);
    rdAddrO.assign(rdCurPos);

    // ---- 2. Packer and W channel.
    const pkNext = m.wire('pk_next', Bool);
    const pkw = walker('pk_walk', PGW, f.addr.trunc(PGW), f.estride.map((e) => e.trunc(PGW)), 1, zero(1), [zero(1), zero(1), zero(1)], pkNext);
    m.unused(pkw.out('valid'), pkw.out('buf_addr'), pkw.out('last'));
    const pea = pkw.out('ext_addr');
    const pkMid = m.reg('pk_mid', Bool);
    const pkLeft = m.reg('pk_left', UInt(COUNT_BITS), { reset: null });
    const pkPos = m.reg('pk_pos', UInt(lgAB), { reset: null });
    const A = m.reg('pk_data', UInt(8 * AB), { reset: null });
    const S = m.reg('pk_strb', UInt(AB), { reset: null });
    const flush = m.reg('pk_flush', Bool);
    const pkCurLeft = m.wire('pk_cur_left', UInt(COUNT_BITS), mux(pkMid, pkLeft, f.len));
    const pn = readN('pk_n', pkCurLeft);
    const k = m.wire('pk_bytes', UInt(RW + 2), bytesOf(pn, f.dtype));
    const lanes: Expr[] = [];
    for (let j = 0, at = 0; j < SL; at += laneBits[j]!, j++) lanes.push(fifo.data.slice(at + laneBits[j]! - 1, at));
    const packed = select(
      f.dtype,
      DTYPE_BITS.map((bits, d) => pack(lanes.slice(0, rmax[d]!).map((l) => l.trunc(bits))).ext(16 * AB)),
    );
    const base = m.wire('pk_base', UInt(lgAB), mux(pkMid, pkPos, pea.trunc(lgAB)));
    const placed = shlBytes(m, 'pk_place', packed, base);
    const aBase = mux(pkMid, A, zero(8 * AB)).ext(16 * AB);
    const sBase = mux(pkMid, S, zero(AB)).ext(2 * AB);
    const TW = lgAB + 2;
    const total = m.wire('pk_total', UInt(TW), base.ext(TW).add(k.ext(TW)).trunc(TW));
    // base < AB: bytes from AB - 1 up are always at or past it.
    const below = (i: number) => (i < AB - 1 ? base.gt(i) : lit0);
    const a2 = m.wire('pk_merged', UInt(16 * AB), pack(Array.from({ length: 2 * AB }, (_, i) => (i < AB - 1 ? mux(below(i), aBase.slice(8 * i + 7, 8 * i), placed.slice(8 * i + 7, 8 * i)) : placed.slice(8 * i + 7, 8 * i)))));
    const s2 = m.wire('pk_strobes', UInt(2 * AB), sBase.or(pack(Array.from({ length: 2 * AB }, (_, i) => below(i).not().and(total.gt(i)))).asUInt()));
    const full = m.wire('pk_full', Bool, total.ge(AB));
    const pkRowEnd = m.wire('pk_row_end', Bool, pkCurLeft.eq(pn.ext(COUNT_BITS)));
    const wv = m.reg('w_valid', Bool);
    const canEmit = m.wire('w_can_load', Bool, wv.not().or(wReady));
    const needsEmit = full.or(pkRowEnd);
    pop.assign(fifo.valid.and(flush.not()).and(canEmit.or(needsEmit.not())));
    const emitPop = pop.and(needsEmit);
    const emitFlush = flush.and(canEmit);
    const emit = m.wire('w_emit', Bool, emitPop.or(emitFlush));
    pkNext.assign(pop.and(pkRowEnd));
    pkMid.assign(mux(fr.go, lit0, mux(pop, pkRowEnd.not(), pkMid)));
    pkLeft.assign(mux(pop, pkCurLeft.sub(pn.ext(COUNT_BITS)).trunc(COUNT_BITS), pkLeft));
    pkPos.assign(mux(pop, mux(full, total.sub(AB).trunc(TW).trunc(lgAB), total.trunc(lgAB)), pkPos));
    A.assign(mux(pop, mux(full, a2.slice(16 * AB - 1, 8 * AB), a2.trunc(8 * AB)), A));
    S.assign(mux(pop, mux(full, s2.slice(2 * AB - 1, AB), s2.trunc(AB)), S));
    flush.assign(mux(fr.go, lit0, mux(pop, full.and(pkRowEnd).and(total.gt(AB)), mux(emitFlush, lit0, flush))));

    // Burst split of the W beats (the AW side's split, recomputed).
    const KW = PGW - lgAB;
    const wRowLeft = m.reg('w_row_left', UInt(NBW), { reset: null });
    const wBeat = m.reg('w_beat', UInt(KW), { reset: null });
    const wBurstLeft = m.reg('w_burst_left', UInt(5));
    const fresh = pop.and(pkMid.not());
    const curRowLeft = m.wire('w_cur_row_left', UInt(NBW), mux(fresh, beatsOfRow(pea.trunc(lgAB)), wRowLeft));
    const curBeat = m.wire('w_cur_beat', UInt(KW), mux(fresh, pea.slice(PGW - 1, lgAB), wBeat));
    const curBurst = m.wire('w_cur_burst', UInt(5), mux(fresh.or(wBurstLeft.eq(0)), burstBeats(m, 'w_n', curBeat, curRowLeft, AB), wBurstLeft));
    wRowLeft.assign(mux(emit, curRowLeft.sub(1).trunc(NBW), mux(fresh, curRowLeft, wRowLeft)));
    wBeat.assign(mux(emit, curBeat.add(1).trunc(KW), mux(fresh, curBeat, wBeat)));
    wBurstLeft.assign(mux(fr.go, zero(5), mux(emit, curBurst.sub(1).trunc(5), mux(fresh, zero(5), wBurstLeft))));

    const wd = m.reg('w_data', UInt(8 * AB), { enable: emit, reset: null });
    wd.assign(mux(flush, A, a2.trunc(8 * AB)));
    const ws = m.reg('w_strb', UInt(AB), { enable: emit, reset: null });
    ws.assign(mux(flush, S, s2.trunc(AB)));
    const wl = m.reg('w_last', Bool, { enable: emit, reset: null });
    wl.assign(curBurst.eq(1));
    wv.assign(mux(emit, lit1, mux(wReady, lit0, wv)));
    wValidO.assign(wv);
    wDataO.assign(wd);
    wStrbO.assign(ws);
    wLastO.assign(wl);

    // ---- 3. AW.
    const awNext = m.wire('aw_next', Bool);
    const aww = walker('aw_walk', EXT_BITS, f.addr, f.estride.map((e) => e.ext(EXT_BITS)), AXI_CHAN_BITS, f.chan, [zero(AXI_CHAN_BITS), zero(AXI_CHAN_BITS), f.chstep.ext(AXI_CHAN_BITS)], awNext);
    m.unused(aww.out('last'));
    const ea = aww.out('ext_addr');
    const awActive = m.reg('aw_active', Bool);
    const awBeat = m.reg('aw_beat', UInt(BW), { reset: null });
    const awLeft = m.reg('aw_left', UInt(NBW), { reset: null });
    const aCurB = m.wire('aw_cur_beat', UInt(BW), mux(awActive, awBeat, ea.shr(lgAB)));
    const aCurLeft = m.wire('aw_cur_left', UInt(NBW), mux(awActive, awLeft, beatsOfRow(ea.trunc(lgAB))));
    const an = burstBeats(m, 'aw_n', aCurB, aCurLeft, AB);
    const PW = log2Ceil(ST_MAX_PENDING + 1);
    const pending = m.reg('b_pending', UInt(PW));
    const awValid = m.wire('aw_valid', Bool, aww.out('valid').and(pending.lt(ST_MAX_PENDING)));
    const awFire = m.wire('aw_fire', Bool, awValid.and(awReady));
    const aLast = m.wire('aw_last_burst', Bool, an.ext(Math.max(5, NBW)).eq(aCurLeft.ext(Math.max(5, NBW))));
    awNext.assign(awFire.and(aLast));
    awActive.assign(mux(fr.go, lit0, mux(awFire, aLast.not(), awActive)));
    awBeat.assign(mux(awFire, aCurB.add(an.ext(BW)).trunc(BW), awBeat));
    awLeft.assign(mux(awFire, aCurLeft.sub(an.ext(NBW)).trunc(NBW), awLeft));
    awValidO.assign(awValid);
    awAddrO.assign(cat(f.space, aCurB, zero(lgAB)));
    awLenO.assign(an.sub(1).trunc(5).ext(AXI_LEN_BITS));
    awChanO.assign(aww.out('buf_addr'));

    // ---- 4. B responses and completion.
    const bFire = bValid;
    bReadyO.assign(lit1);
    pending.assign(pending.add(awFire.ext(PW)).sub(bFire.ext(PW)).trunc(PW));
    const awDone = m.reg('aw_done', Bool);
    awDone.assign(mux(fr.go, lit0, awDone.or(aww.out('done'))));
    const pkDone = m.reg('pk_done', Bool);
    pkDone.assign(mux(fr.go, lit0, pkDone.or(pkw.out('done'))));
    fr.finish(awDone.and(pkDone).and(flush.not()).and(wv.not()).and(pending.eq(0)));
  },
);
