import { Bool, cat, defineModule, lit, log2Ceil, mux, pack, select, split, SInt, UInt, type Expr, type Instance } from '../../hdl/index.ts';
import { checkSparseChainParams, sparseChainName, type SparseChainParams } from '../chain/sparse-chain.ts';
import { checkPackedChainParams } from '../chain/packed-chain.ts';
import { chainGeometry, indexWidth, modeTable } from '../../sparsity/pattern.ts';
import { chainUnitEntries, drainStrides, mpeChainUnit, RESULT_WIDTH } from './chain-unit.ts';

export { RESULT_WIDTH };
/** Width of the tile descriptor's count fields (rows, windows, batches, tokens). */
export const COUNT_WIDTH = 16;

export interface MpeParams extends SparseChainParams {
  /** Sparse chains (C) sharing the activation broadcast. */
  readonly chains: number;
  /** Activation buffer entries (windows of L activations). */
  readonly actDepth: number;
  /** Weight buffer entries (beats of C x L weights and indexes). */
  readonly weightDepth: number;
  /** Accumulation buffer entries (INT32 results). */
  readonly accDepth: number;
  /** 2: packed chains, two tokens per pass (two INT8 MACs per DSP); default 1. */
  readonly pack?: 1 | 2;
}

export function checkMpeParams(p: MpeParams): void {
  if ((p.pack ?? 1) === 2) checkPackedChainParams(p);
  else checkSparseChainParams(p);
  if (p.pack !== undefined && p.pack !== 1 && p.pack !== 2) throw new RangeError(`MPE pack must be 1 or 2, got ${p.pack}`);
  if (!Number.isInteger(p.chains) || p.chains < 1) throw new RangeError(`MPE chain count must be a positive integer, got ${p.chains}`);
  for (const [k, v] of [['actDepth', p.actDepth], ['weightDepth', p.weightDepth], ['accDepth', p.accDepth]] as const) {
    if (!Number.isInteger(v) || v < 2 || v > 1 << 24) throw new RangeError(`MPE ${k} must be an integer in 2..2^24, got ${v}`);
  }
}

/** Bits of one weight lane in the weight buffer: an INT8 weight and its N:M index. */
export function weightLaneBits(p: MpeParams): { weight: number; index: number } {
  return { weight: p.bWidth, index: indexWidth(modeTable(p.patterns)) };
}

/** Capture registers: one per reduction node of every chain, per token of a pass. */
export function mpeCaptureRegisters(p: MpeParams): number {
  return ((p.pack ?? 1) * p.chains * p.length) / p.groupSize;
}

/** Results written out per pass in `mode`: one per segment of every chain, per token of the pass. */
export function mpeEntries(p: MpeParams, mode: number): number {
  const modes = modeTable(p.patterns);
  const g = chainGeometry(modes[Math.min(mode, modes.length - 1)]!, p.length, p.groupSize);
  return (p.pack ?? 1) * p.chains * g.segments;
}

/**
 * Cycles from the `start` cycle to the `done` cycle of a tile of `batches` row batches,
 * `tokens` activation vectors and `windows` windows per row (the sequencer below, exactly).
 */
export function mpeTileCycles(p: MpeParams, t: { mode: number; batches: number; tokens: number; windows: number }): number {
  const runs = t.batches * Math.ceil(t.tokens / (p.pack ?? 1));
  if (runs === 0 || t.windows === 0) return 1;
  return runs * t.windows + (runs - 1) * mpeGapCycles(p, t.windows, t.mode) + p.length + 3 + packExtra(p) + mpeEntries(p, t.mode) + 4;
}

/**
 * Idle cycles between two passes. Passes normally follow back to back: a pass's results are
 * captured L+3 cycles after its last window and written out while the next pass issues its
 * windows. Short passes wait so that (a) the write-out ends before the next pass's first
 * capture and (b) the next pass ends after this pass's captures are complete.
 */
export function mpeGapCycles(p: MpeParams, windows: number, mode: number): number {
  return Math.max(0, mpeGapLimit(p, mode) - windows);
}

function mpeGapLimit(p: MpeParams, mode: number): number {
  const x = packExtra(p);
  return Math.max(p.length + 1 - p.groupSize + mpeEntries(p, mode), p.length + 4 + x);
}

/** The packed chain's reduction nodes add one register stage (the overflow adjust). */
function packExtra(p: MpeParams): number {
  return (p.pack ?? 1) === 2 ? 1 : 0;
}

const S = { idle: 0, run: 1, wait: 2, gap: 3, drain: 4, flush: 5, done: 6 } as const;

/**
 * The Matrix Processing Engine: C sparse chains fed by one activation window per cycle
 * (broadcast) and one weight-buffer beat (C x L weights with their N:M indexes), an output
 * collector per reduction node, and an INT32 accumulation buffer (accumulate or overwrite).
 * Each chain and its collector registers form one chain unit (chain-unit.ts), a module
 * instantiated C times, so that synthesis maps the per-chain logic once.
 *
 * A tile computes, for every token n < tokens and every row r < rows,
 *   out[out_base + n*out_stride + r] (+)= sum_k W[r][k] * act[n][k]
 * with row batches of C*M/N rows (each chain takes M/N rows in N:M mode), `windows` = K/L
 * windows per row read from act[act_base + n*act_stride + t] and weights from
 * w[w_base + b*windows + t]. MV (decode) is tokens = 1; MM (prefill) re-reads each weight
 * beat for every token of the activation tile.
 *
 * Sequencing per (batch, token): `windows` issue cycles, then L+3 cycles until the last
 * reduction node's result is captured. The captured results are then shifted out one per cycle
 * while the next batch already runs (it only produces results after its last window), holding
 * the next batch back only when the write-out would not finish in time (mpeHoldCycles).
 */
export const mpe = defineModule<MpeParams>(
  'mpe',
  (p) => `mpe_c${p.chains}_${sparseChainName(p).replace(/^sparse_chain_/, '')}${(p.pack ?? 1) === 2 ? '_p2' : ''}`,
  (m, p) => {
    checkMpeParams(p);
    const L = p.length;
    const G = p.groupSize;
    const C = p.chains;
    const groups = L / G;
    const E = mpeCaptureRegisters(p);
    const P = p.pack ?? 1;
    const modes = modeTable(p.patterns);
    const geoms = modes.map((q) => chainGeometry(q, L, G));
    const lane = weightLaneBits(p);
    // Per mode: the drain visits only the reduction nodes that end a segment (every
    // stride-th one), so a pass writes out P * C * segments entries.
    const strides = drainStrides(p);
    const drainLen = modes.map((_, k) => mpeEntries(p, k));
    const modeW = log2Ceil(modes.length);
    const actAW = log2Ceil(p.actDepth);
    const wAW = log2Ceil(p.weightDepth);
    const accAW = log2Ceil(p.accDepth);
    m.doc(`Matrix processing engine: ${C} sparse chains of ${L} MACs (modes ${modes.map((q) => (q === 'dense' ? 'dense' : `${q.n}:${q.m}`)).join(', ')}), INT32 accumulation buffer of ${p.accDepth}.`);

    // Handshake and tile descriptor (sampled on start).
    const start = m.input('start', Bool);
    const dMode = m.input('t_mode', UInt(modeW));
    const dRows = m.input('t_rows', UInt(COUNT_WIDTH));
    const dBatches = m.input('t_batches', UInt(COUNT_WIDTH));
    const dWindows = m.input('t_windows', UInt(COUNT_WIDTH));
    const dTokens = m.input('t_tokens', UInt(COUNT_WIDTH));
    const dActBase = m.input('t_act_base', UInt(actAW));
    const dActStride = m.input('t_act_stride', UInt(actAW));
    const dWBase = m.input('t_w_base', UInt(wAW));
    const dOutBase = m.input('t_out_base', UInt(accAW));
    const dOutStride = m.input('t_out_stride', UInt(accAW));
    const dAcc = m.input('t_accumulate', Bool);
    const busy = m.output('busy', Bool);
    const done = m.output('done', Bool);
    // Buffer read ports (data one cycle after the address) and the result port.
    const actRdEn = m.output('act_rd_en', Bool);
    const actRdAddr = m.output('act_rd_addr', UInt(actAW));
    const actRdData = m.input('act_rd_data', UInt(L * p.aWidth));
    // Packed: the pass's second token is read through a second activation port.
    const act2RdAddr = P === 2 ? m.output('act2_rd_addr', UInt(actAW)) : undefined;
    const act2RdData = P === 2 ? m.input('act2_rd_data', UInt(L * p.aWidth)) : undefined;
    const wRdEn = m.output('w_rd_en', Bool);
    const wRdAddr = m.output('w_rd_addr', UInt(wAW));
    const wRdData = m.input('w_rd_data', UInt(C * L * (lane.weight + lane.index)));
    const resWrEn = m.output('res_wr_en', Bool);
    const resWrAddr = m.output('res_wr_addr', UInt(accAW));
    const resWrData = m.output('res_wr_data', SInt(RESULT_WIDTH));

    const state = m.reg('state', UInt(3));
    const is = (s: number) => state.eq(s);
    const startNow = m.wire('start_now', Bool, start.and(is(S.idle)));
    // A tile with a zero count has no work: it completes at once instead of wrapping a counter.
    const empty = m.wire('tile_empty', Bool, dBatches.eq(0).or(dWindows.eq(0)).or(dTokens.eq(0)));
    const tMode = m.reg('tile_mode', UInt(modeW), { enable: startNow });
    const tRows = m.reg('tile_rows', UInt(COUNT_WIDTH), { enable: startNow });
    const tBatches = m.reg('tile_batches', UInt(COUNT_WIDTH), { enable: startNow });
    const tWindows = m.reg('tile_windows', UInt(COUNT_WIDTH), { enable: startNow });
    const tTokens = m.reg('tile_tokens', UInt(COUNT_WIDTH), { enable: startNow });
    const tActStride = m.reg('tile_act_stride', UInt(actAW), { enable: startNow });
    const tOutBase = m.reg('tile_out_base', UInt(accAW), { enable: startNow });
    const tOutStride = m.reg('tile_out_stride', UInt(accAW), { enable: startNow });
    const tAcc = m.reg('tile_accumulate', Bool, { enable: startNow });
    const actBase = m.reg('tile_act_base', UInt(actAW), { enable: startNow });
    const wBase = m.reg('tile_w_base', UInt(wAW), { enable: startNow });
    for (const [r, d] of [[tMode, dMode], [tRows, dRows], [tBatches, dBatches], [tWindows, dWindows], [tTokens, dTokens], [tActStride, dActStride], [tOutBase, dOutBase], [tOutStride, dOutStride], [tAcc, dAcc], [actBase, dActBase], [wBase, dWBase]] as const) r.assign(d);

    // Loop counters: window t, token n, batch b, and running address offsets.
    const t = m.reg('win', UInt(COUNT_WIDTH));
    const n = m.reg('tok', UInt(COUNT_WIDTH));
    const b = m.reg('batch', UInt(COUNT_WIDTH));
    const actTokOff = m.reg('act_tok_off', UInt(actAW));
    const wBatchOff = m.reg('w_batch_off', UInt(wAW));
    const waitCnt = m.reg('wait_cnt', UInt(log2Ceil(L + 4)));
    const e = m.reg('entry', UInt(log2Ceil(E + 1)));
    const lastWindow = m.wire('last_window', Bool, t.eq(tWindows.sub(1).trunc(COUNT_WIDTH)));
    const perModeCount = (values: number[]) => select(tMode, values.map((v) => lit(v, e.type)));
    const lastEntry = m.wire('last_entry', Bool, e.eq(perModeCount(drainLen.map((d) => d - 1))));
    // The last pass over the tokens: n + pack >= tokens (packed passes take two tokens).
    const lastTok = m.wire('last_tok', Bool, n.add(P).ge(tTokens));
    const lastBatch = m.wire('last_batch', Bool, b.eq(tBatches.sub(1).trunc(COUNT_WIDTH)));
    const flushCnt = m.reg('flush_cnt', Bool);

    const inc = (x: Expr, by: Expr | number) => x.add(by).trunc(x.width);

    // The write-out (drain) of a pass's captured results runs beside the sequencer: a capture
    // timer starts at each pass's last window and the drain starts when it expires.
    const drainActive = m.reg('drain_active', Bool);
    const capBusy = m.reg('cap_busy', Bool);
    const passEnd = m.wire('pass_end', Bool, is(S.run).and(lastWindow));
    const capDone = m.wire('cap_done', Bool, capBusy.and(waitCnt.eq(0)));
    const lastRun = m.wire('last_run', Bool, lastTok.and(lastBatch));
    const nextTok = m.wire('next_tok', Bool, passEnd.and(lastTok.not()));
    const nextBatch = m.wire('next_batch', Bool, passEnd.and(lastTok).and(lastBatch.not()));
    // Gap before the next pass (mpeGapCycles): a per-mode limit minus the windows, if positive.
    const ew = COUNT_WIDTH + 2;
    const gapLimit = m.wire('gap_limit', UInt(ew), select(tMode, modes.map((_, k) => lit(mpeGapLimit(p, k), UInt(ew)))));
    const needGap = m.wire('need_gap', Bool, gapLimit.gt(tWindows.resize(ew)));
    const gapCnt = m.reg('gap_cnt', UInt(ew));
    const u3 = (v: number) => lit(v, UInt(3));
    state.assign(
      select(state, [
        mux(start, mux(empty, u3(S.done), u3(S.run)), u3(S.idle)),
        mux(lastWindow, mux(lastRun, u3(S.wait), mux(needGap, u3(S.gap), u3(S.run))), u3(S.run)),
        mux(capDone, u3(S.drain), u3(S.wait)),
        mux(gapCnt.eq(0), u3(S.run), u3(S.gap)),
        mux(drainActive, u3(S.drain), u3(S.flush)),
        mux(flushCnt, u3(S.done), u3(S.flush)),
        u3(S.idle),
      ]),
    );
    // gap_cnt counts the gap's cycles down to 0 (the gap's last cycle).
    gapCnt.assign(mux(passEnd, gapLimit.sub(tWindows.resize(ew)).sub(1).trunc(ew), mux(gapCnt.eq(0), gapCnt, inc(gapCnt, lit(2 ** ew - 1, UInt(ew))))));
    t.assign(mux(is(S.run), mux(lastWindow, lit(0, UInt(COUNT_WIDTH)), inc(t, 1)), mux(startNow, lit(0, UInt(COUNT_WIDTH)), t)));
    n.assign(mux(startNow.or(nextBatch), lit(0, UInt(COUNT_WIDTH)), mux(nextTok, inc(n, P), n)));
    b.assign(mux(startNow, lit(0, UInt(COUNT_WIDTH)), mux(nextBatch, inc(b, 1), b)));
    actTokOff.assign(mux(startNow.or(nextBatch), lit(0, UInt(actAW)), mux(nextTok, inc(actTokOff, P === 2 ? tActStride.shl(1).trunc(actAW) : tActStride), actTokOff)));
    wBatchOff.assign(mux(startNow, lit(0, UInt(wAW)), mux(nextBatch, inc(wBatchOff, tWindows.resize(wAW)), wBatchOff)));
    waitCnt.assign(mux(passEnd, lit(L + 2 + packExtra(p), waitCnt.type), mux(waitCnt.eq(0), waitCnt, inc(waitCnt, lit((1 << waitCnt.width) - 1, waitCnt.type)))));
    capBusy.assign(mux(passEnd, lit(1, Bool), mux(capDone, lit(0, Bool), capBusy)));
    drainActive.assign(mux(capDone, lit(1, Bool), mux(drainActive.and(lastEntry), lit(0, Bool), drainActive)));
    e.assign(mux(drainActive.and(lastEntry.not()), inc(e, 1), lit(0, e.type)));
    flushCnt.assign(is(S.flush).and(flushCnt.not()));
    busy.assign(state.ne(S.idle));
    done.assign(is(S.done));

    // Buffer reads in RUN; the data and the window flags reach the chains one cycle later.
    const issuing = is(S.run);
    actRdEn.assign(issuing);
    wRdEn.assign(issuing);
    actRdAddr.assign(inc(inc(actBase, actTokOff), t.resize(actAW)));
    act2RdAddr?.assign(inc(actRdAddr, tActStride));
    wRdAddr.assign(inc(inc(wBase, wBatchOff), t.resize(wAW)));
    const feedFirst = m.reg('feed_first', Bool);
    const feedLast = m.reg('feed_last', Bool);
    feedFirst.assign(issuing.and(t.eq(0)));
    feedLast.assign(issuing.and(lastWindow));

    // The chain units: chain c with its capture registers, one per reduction node
    // (chain-unit.ts). Their captures form one shift register, drained from unit 0: unit c
    // shifts in from unit c+1, the last unit from zeros. Capture order: all of the first token's
    // entries (unit by unit), then the second token's, so with --pack 2 the last unit's first
    // half shifts in from unit 0's second half.
    const beats = split(wRdData, C);
    const unitParams = { length: L, groupSize: G, patterns: p.patterns, aWidth: p.aWidth, bWidth: p.bWidth, backend: p.backend, ...(P === 2 ? { pack: P } : {}) };
    const N = chainUnitEntries(unitParams);
    const shifting = drainActive;
    const units: Instance[] = [];
    for (let c = 0; c < C; c++) {
      const lanes = split(beats[c]!, L);
      units.push(
        m.instance(`unit_${c}`, mpeChainUnit, unitParams, {
          mode: tMode,
          first: feedFirst,
          last: feedLast,
          act: actRdData,
          ...(act2RdData ? { act2: act2RdData } : {}),
          w: pack(lanes.map((x) => x.slice(lane.weight - 1, 0))),
          idx: pack(lanes.map((x) => x.slice(lane.weight + lane.index - 1, lane.weight))),
          shift: shifting,
        }),
      );
    }
    const secondHalf0 = (port: string, w: number) => units[0]!.out(port).slice(N * w - 1, groups * w);
    for (let c = 0; c < C; c++) {
      if (c + 1 < C) {
        units[c]!.bind({ next_val: units[c + 1]!.out('val'), next_ok: units[c + 1]!.out('ok') });
      } else if (P === 2) {
        units[c]!.bind({ next_val: cat(lit(0, UInt(groups * RESULT_WIDTH)), secondHalf0('val', RESULT_WIDTH)), next_ok: cat(lit(0, UInt(groups)), secondHalf0('ok', 1)) });
      } else {
        units[c]!.bind({ next_val: lit(0, UInt(N * RESULT_WIDTH)), next_ok: lit(0, UInt(N)) });
      }
    }
    // The entry being written: the first segment-ending node of what is left (always in unit 0,
    // whose other entries are only read inside the unit and, packed, by the last unit).
    const head = split(units[0]!.out('val'), N);
    const headOks = split(units[0]!.out('ok'), N);
    m.unused(units[0]!.out('val'), units[0]!.out('ok'));
    const headVal = m.wire('head_val', UInt(RESULT_WIDTH), select(tMode, strides.map((st) => head[st - 1]!)));
    const headOk = m.wire('head_ok', Bool, select(tMode, strides.map((st) => headOks[st - 1]!)));

    // Row of the entry being written: batch_off + chain_off + segment index.
    const segs = m.wire('segs', UInt(COUNT_WIDTH), select(tMode, geoms.map((g) => lit(g.segments, UInt(COUNT_WIDTH)))));
    const segIdx = m.reg('seg_idx', UInt(COUNT_WIDTH));
    const chainOff = m.reg('chain_off', UInt(COUNT_WIDTH));
    const batchOff = m.reg('batch_off', UInt(COUNT_WIDTH));
    const tokOff = m.reg('tok_out_off', UInt(accAW));
    // Offsets of the pass being written out: noted at its last window, handed to the drain
    // when its captures are complete (the sequencer has moved on by then).
    const pendBatchOff = m.reg('pend_batch_off', UInt(COUNT_WIDTH), { enable: passEnd });
    const pendTokOff = m.reg('pend_tok_off', UInt(accAW), { enable: passEnd });
    const pendHasSecond = m.reg('pend_has_second', Bool, { enable: passEnd });
    const drainBatchOff = m.reg('drain_batch_off', UInt(COUNT_WIDTH), { enable: capDone });
    const drainTokOff = m.reg('drain_tok_off', UInt(accAW), { enable: capDone });
    const drainHasSecond = m.reg('drain_has_second', Bool, { enable: capDone });
    pendBatchOff.assign(batchOff);
    pendTokOff.assign(tokOff);
    pendHasSecond.assign(n.add(1).lt(tTokens));
    drainBatchOff.assign(pendBatchOff);
    drainTokOff.assign(pendTokOff);
    drainHasSecond.assign(pendHasSecond);
    const lastSeg = m.wire('last_seg', Bool, segIdx.eq(segs.sub(1).trunc(COUNT_WIDTH)));
    const halfEnd = m.wire('half_end', Bool, e.eq(perModeCount(drainLen.map((d) => d / P - 1))).or(lastEntry));
    segIdx.assign(mux(shifting.and(lastSeg.not()).and(halfEnd.not()), inc(segIdx, 1), lit(0, UInt(COUNT_WIDTH))));
    chainOff.assign(mux(shifting, mux(halfEnd, lit(0, UInt(COUNT_WIDTH)), mux(lastSeg, inc(chainOff, segs), chainOff)), lit(0, UInt(COUNT_WIDTH))));
    // Packed: entries past the first half belong to the pass's second token (if it exists).
    const secondHalf = P === 2 ? m.wire('second_half', Bool, e.ge(perModeCount(drainLen.map((d) => d / 2)))) : lit(0, Bool);
    if (P === 1) m.unused(drainHasSecond);
    batchOff.assign(mux(startNow, lit(0, UInt(COUNT_WIDTH)), mux(nextBatch, inc(batchOff, segs.mul(C).trunc(COUNT_WIDTH)), batchOff)));
    tokOff.assign(mux(startNow.or(nextBatch), lit(0, UInt(accAW)), mux(nextTok, inc(tokOff, P === 2 ? tOutStride.shl(1).trunc(accAW) : tOutStride), tokOff)));
    const row = m.wire('entry_row', UInt(COUNT_WIDTH), inc(inc(drainBatchOff, chainOff), segIdx));
    const entryOk = m.wire('entry_ok', Bool, shifting.and(headOk).and(row.lt(tRows)).and(secondHalf.not().or(drainHasSecond)));
    const tokAddr = P === 2 ? mux(secondHalf, inc(drainTokOff, tOutStride), drainTokOff) : drainTokOff;
    const entryAddr = m.wire('entry_addr', UInt(accAW), inc(inc(tOutBase, tokAddr), row.resize(accAW)));

    // Accumulation buffer: read-modify-write in two stages.
    const acc = m.memory('acc_buf', { depth: p.accDepth, type: SInt(RESULT_WIDTH), readLatency: 1, style: 'block' });
    const old = acc.read('acc_old', entryAddr, entryOk);
    const s1Ok = m.reg('rmw_ok', Bool);
    const s1Addr = m.reg('rmw_addr', UInt(accAW));
    const s1Val = m.reg('rmw_val', SInt(RESULT_WIDTH));
    s1Ok.assign(entryOk);
    s1Addr.assign(entryAddr);
    s1Val.assign(headVal.asSInt());
    const sum = m.wire('rmw_sum', SInt(RESULT_WIDTH), mux(tAcc, old, lit(0, SInt(RESULT_WIDTH))).add(s1Val).trunc(RESULT_WIDTH));
    acc.write(s1Addr, sum, s1Ok);
    const oEn = m.reg('out_en', Bool);
    const oAddr = m.reg('out_addr', UInt(accAW));
    const oData = m.reg('out_data', SInt(RESULT_WIDTH));
    oEn.assign(s1Ok);
    oAddr.assign(s1Addr);
    oData.assign(sum);
    resWrEn.assign(oEn);
    resWrAddr.assign(oAddr);
    resWrData.assign(oData);
  },
);
