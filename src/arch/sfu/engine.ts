/**
 * The SFU engine (docs/sfu.md "SFU engine"): executes one SFU instruction. It checks the
 * instruction as the golden model does (src/golden/machine.ts sfu()), streams the operand rows
 * from the buffers (element read ports a and b, BUFFER_READ_LATENCY cycles, no stalls) into
 * the unit of the function (sfu_elem, sfu_requant_erd, sfu_softmax, sfu_rmsnorm, sfu_rope), as
 * many passes per row as the unit needs, and writes the results (d write port, always
 * accepted). With `ewr` (dynamic per-row scaling) a row's results go to a row scratch memory
 * first; when the row is complete its maximum gives recip and the unscale multiplier
 * (sfu_rowscale), a second pass quantizes the scratch into d and the multiplier goes to the
 * row-scale register file (7 slots x 256 entries, kept across instructions), which `erd` reads.
 */
import { createHash } from 'node:crypto';
import { Bool, cat, defineModule, lit, log2Ceil, mux, pack, select, SInt, split, UInt, type Expr } from '../../hdl/index.ts';
import { field, queueInstrBits } from '../../isa/hdl-fields.ts';
import { BUFFERS, SFU_OPS } from '../../isa/table.ts';
import type { GenConfig } from '../config.ts';
import { ERR } from '../control/status.ts';
import { ELEM_ADDR_BITS } from '../mmu/buffer.ts';
import { accelGeometry, BUFFER_READ_LATENCY } from '../mmu/buffers.ts';
import { checkLanes, ELEM_LATENCY, fnCode, sfuElem } from './elem.ts';
import { named, pipe, tree } from './lib.ts';
import { ERD_LATENCY, QUANT_LATENCY, sfuQuantize, sfuRequantErd } from './requant.ts';
import { NORM_OUT_LATENCY, normRowCycles, sfuRmsnorm } from './rmsnorm.ts';
import { ROPE_LATENCY, sfuRope } from './rope.ts';
import { ROWSCALE_CYCLES, ROWSCALE_RECIP_CYCLES, sfuRowScale, UNSCALE_SH_WIDTH } from './rowscale.ts';
import { divCycles, sfuDivSeq, type DivParams } from './seq.ts';
import { SOFTMAX_OUT_LATENCY, sfuSoftmax, softmaxRowCycles } from './softmax.ts';

/** The engine's parameters: the machine's GenConfig, optionally the longest `ewr` row. */
export type SfuEngineParams = GenConfig & {
  /** Longest row (elements) of an `ewr` instruction: the row scratch memory. Default: sfuRowMaxDefault. */
  readonly sfuRowMax?: number;
};

/** Slots (1..7) and entries per slot of the row-scale register file (golden ROW_SCALE_ENTRIES). */
export const ROW_SCALE_SLOTS = 7;
export const ROW_SCALE_ROWS = 256;
/** Cap of the default `ewr` row length. */
export const SFU_ROW_MAX_CAP = 16384;

/** RoPE pairs per beat in an SFU of `lanes` lanes (as src/arch/sfu/index.ts ropePairs). */
const ropePairsOf = (lanes: number): number => Math.max(1, Math.floor(lanes / 2));

/**
 * Default longest `ewr` row: the largest buffer the SFU may write, at most SFU_ROW_MAX_CAP
 * elements, rounded up to whole beats.
 */
export function sfuRowMax(p: SfuEngineParams): number {
  const g = accelGeometry(p);
  const L = p.sfuLanes;
  const want = p.sfuRowMax ?? Math.min(SFU_ROW_MAX_CAP, Math.max(...Object.values(g.buffers).filter((b) => b.sfuWrite).map((b) => b.elements)));
  if (!Number.isInteger(want) || want < 1 || want > 65535) throw new RangeError(`sfuRowMax must be an integer in 1..65535, got ${want}`);
  return Math.max(2 * L, Math.ceil(want / L) * L);
}

/** The rope head-size check: len mod imm, on a sequential divider. */
const HS_DIV: DivParams = { xw: 16, dw: 16, qw: 16 };

/** Cycles from start to the first operand read (decode and checks). */
export const SFU_DECODE_CYCLES = 3;
/** Extra decode cycles of rope (the head-size division). */
export const SFU_ROPE_CHECK_CYCLES = divCycles(HS_DIV) - 1;

const S = { idle: 0, dec1: 1, dec2: 2, hs: 3, run: 4, zfill: 5, done: 6 } as const;
const SW = 3;

export const sfuEngine = defineModule<SfuEngineParams>(
  'sfu_engine',
  (p) => {
    const g = accelGeometry(p);
    const key = createHash('sha256')
      .update(JSON.stringify(BUFFERS.map((n) => [g.buffers[n].elements, g.buffers[n].sfuRead, g.buffers[n].sfuWrite])))
      .digest('hex')
      .slice(0, 8);
    return `sfu_engine_l${p.sfuLanes}_r${sfuRowMax(p)}_${key}`;
  },
  (m, p) => {
    const g = accelGeometry(p);
    const L = g.sfuLanes;
    checkLanes(L);
    if (L & (L - 1)) throw new RangeError(`sfuLanes must be a power of two, got ${L}`);
    const P = ropePairsOf(L);
    const LB = Math.log2(L);
    const CW = log2Ceil(L + 1);
    const rowMax = sfuRowMax(p);
    const SD = rowMax / L;
    const AW = ELEM_ADDR_BITS;
    const bufs = BUFFERS.map((n) => g.buffers[n]);
    const EW = Math.max(21, ...bufs.map((b) => log2Ceil(b.elements + 1)));
    m.doc(`SFU engine: one SFU instruction over buffer rows, ${L} lanes, ewr rows up to ${rowMax} elements.`);

    // ---- Ports (docs/accelerator.md "Engine contract", "Buffers").
    const start = m.input('start', Bool);
    const instr = m.input('instr', UInt(queueInstrBits('SFU')));
    const busyO = m.output('busy', Bool);
    const doneO = m.output('done', Bool);
    const errorO = m.output('error', Bool);
    const errCodeO = m.output('err_code', UInt(8));
    const aRdEn = m.output('a_rd_en', Bool);
    const aRdBuf = m.output('a_rd_buf', UInt(3));
    const aRdAddr = m.output('a_rd_addr', UInt(AW));
    const aRdData = m.input('a_rd_data', UInt(32 * L));
    const bRdEn = m.output('b_rd_en', Bool);
    const bRdBuf = m.output('b_rd_buf', UInt(3));
    const bRdAddr = m.output('b_rd_addr', UInt(AW));
    const bRdData = m.input('b_rd_data', UInt(32 * L));
    const dWrEn = m.output('d_wr_en', Bool);
    const dWrBuf = m.output('d_wr_buf', UInt(3));
    const dWrAddr = m.output('d_wr_addr', UInt(AW));
    const dWrCount = m.output('d_wr_count', UInt(CW));
    const dWrData = m.output('d_wr_data', UInt(32 * L));

    const one = lit(1, Bool);
    const zero = lit(0, Bool);
    const u = (v: number | bigint, w: number) => lit(v, UInt(w));
    /** A control register (synchronous reset to 0). */
    const ctr = (name: string, w: number) => m.reg(name, UInt(w));

    // ---- Instruction.
    const state = m.reg('state', UInt(SW));
    const is = (s: number) => state.eq(s);
    const st = (s: number) => u(s, SW);
    const go = named(m, 'go', start.and(is(S.idle)));
    const ir = m.reg('ir', UInt(instr.width), { enable: go, reset: null });
    ir.assign(instr);
    const f = (name: string, type?: 'signed') => {
      const e = field(ir, 'SFU', name);
      return named(m, `f_${name}`, type ? e.asSInt() : e);
    };
    const fn = f('fn');
    const causal = f('causal');
    const itype = f('itype');
    const otype = f('otype');
    const shift = f('shift', 'signed');
    const imm = f('imm');
    const len = f('len');
    const rows = f('rows');
    const pos = f('pos');
    const abuf = f('abuf');
    const bbuf = f('bbuf');
    const dbuf = f('dbuf');
    const ewr = f('ewr');
    const erd = f('erd');
    const aBase = f('a');
    const bBase = f('b');
    const dBase = f('d');
    const dpitch = f('dpitch');
    m.unused(ir);

    const isFn = (name: (typeof SFU_OPS)[number]) => fn.eq(fnCode(name));
    const cSoftmax = named(m, 'c_softmax', isFn('softmax'));
    const cLn = named(m, 'c_ln', isFn('layernorm'));
    const cNorm = named(m, 'c_norm', isFn('rmsnorm').or(cLn));
    const cRope = named(m, 'c_rope', isFn('rope'));
    const cReq = named(m, 'c_req', isFn('requant'));
    const cErd = named(m, 'c_erd', cReq.and(erd.ne(0)));
    const cAddMul = named(m, 'c_addmul', isFn('add').or(isFn('mul')));
    const cElem = named(m, 'c_elem', cSoftmax.or(cNorm).or(cRope).or(cErd).not());
    const bUsed = named(m, 'b_used', cAddMul.or(cNorm).or(cRope).or(cReq.and(imm.eq(0))));
    const scaled = named(m, 'scaled', imm.ne(0).and(cRope.not()).and(cReq.not()));
    const dyn = named(m, 'dyn', scaled.and(ewr.ne(0)));
    const dp = named(m, 'dp', mux(dpitch.eq(0), len.ext(20), dpitch));
    const hsHalf = named(m, 'hs_half', imm.slice(15, 1)); // rope: pairs per head
    const zeroWork = named(m, 'zero_work', rows.eq(0).or(len.eq(0)));

    // ---- Checks, in the golden model's order (docs/sfu.md "SFU engine", errors).
    const dec1 = is(S.dec1);
    const nR = m.reg('n_r', UInt(32), { enable: dec1, reset: null });
    nR.assign(rows.mul(len));
    const dEndR = m.reg('d_end_r', UInt(37), { enable: dec1, reset: null });
    dEndR.assign(mux(rows.eq(0), u(0, 37), rows.sub(1).trunc(16).mul(dp).add(len).ext(37)));
    const bLenR = m.reg('b_len_r', UInt(32), { enable: dec1, reset: null });
    bLenR.assign(mux(cAddMul, rows.mul(len), mux(cRope, hsHalf.ext(32), len.ext(32))));
    // Ports carry 20-bit element addresses: a buffer's elements past 2^20 are out of range here.
    const sizeOf = (code: Expr) => select(code, bufs.map((b) => u(Math.min(b.elements, 2 ** AW), EW)));
    const flagOf = (code: Expr, pick: (b: (typeof bufs)[number]) => boolean) => select(code, bufs.map((b) => (pick(b) ? one : zero)));
    const past = (base: Expr, n: Expr, code: Expr) => base.ext(EW + 18).add(n.ext(EW + 18)).gt(sizeOf(code).ext(EW + 19));
    const aOut = named(m, 'a_out', past(aBase, nR, abuf));
    const dOut = named(m, 'd_out', past(dBase, dEndR, dbuf));
    const bOut = named(m, 'b_out', bUsed.and(past(bBase, bLenR, bbuf)));
    const fp16 = itype.eq(3).or(otype.eq(3));
    const badPitch = dpitch.ne(0).and(dpitch.lt(len.ext(20)));
    const access = flagOf(abuf, (b) => b.sfuRead).not().or(bUsed.and(flagOf(bbuf, (b) => b.sfuRead).not())).or(flagOf(dbuf, (b) => b.sfuWrite).not());
    // ewr needs imm and a function other than rope/requant (golden), and int8/int16 results (here).
    const ewrBad = ewr.ne(0).and(scaled.not().or(otype.eq(2)));
    const erdBad = erd.ne(0).and(cReq.not());
    const hsBad = cRope.and(imm.lt(2).or(imm.bit(0)));
    const ewrRows = dyn.and(rows.gt(ROW_SCALE_ROWS));
    const ewrLen = dyn.and(len.gt(rowMax));
    const e8 = (code: number) => u(code, 8);
    const prio = (cases: readonly [Expr, number][]) => cases.reduceRight<Expr>((rest, [c, code]) => mux(c, e8(code), rest), e8(ERR.none));
    const code0 = named(
      m,
      'code0',
      prio([
        [fp16, ERR.format],
        [badPitch, ERR.format],
        [access, ERR.access],
        [aOut, ERR.range],
        [dOut, ERR.range],
        [ewrBad, ERR.format],
        [erdBad, ERR.format],
        [hsBad, ERR.format],
        [cRope.not().and(bOut), ERR.range],
        [ewrRows, ERR.format],
        [ewrLen, ERR.format],
      ]),
    );
    // Rope: len mod imm on a divider, started in dec1, then the b range.
    const hsDiv = m.instance('hs_div', sfuDivSeq, HS_DIV, { start: dec1.and(cRope), x: len, dv: imm });
    m.unused(hsDiv.out('busy'));
    const hsDone = named(m, 'hs_done', is(S.hs).and(hsDiv.out('done')));
    const modBad = hsDiv.out('q').mul(imm).ne(len.ext(32));
    const code1 = named(m, 'code1', prio([[modBad, ERR.format], [bOut, ERR.range]]));
    const errCode = m.reg('err_code_r', UInt(8));
    errCode.assign(mux(go, e8(0), mux(is(S.dec2), code0, mux(hsDone, code1, errCode))));
    const enterRun = named(m, 'enter_run', is(S.dec2).and(code0.eq(0)).and(cRope.not()).and(zeroWork.not()).or(hsDone.and(code1.eq(0)).and(zeroWork.not())));
    const runFinish = m.wire('run_finish', Bool);
    const zfLast = m.wire('zf_last', Bool);
    state.assign(
      select(state, [
        mux(go, st(S.dec1), st(S.idle)),
        st(S.dec2),
        mux(code0.ne(0), st(S.done), mux(cRope, st(S.hs), mux(zeroWork.not(), st(S.run), mux(dyn.and(rows.ne(0)), st(S.zfill), st(S.done))))),
        mux(hsDone, mux(enterRun, st(S.run), st(S.done)), st(S.hs)),
        mux(runFinish, st(S.done), st(S.run)),
        mux(zfLast, st(S.done), st(S.zfill)),
        st(S.idle),
      ]),
    );
    busyO.assign(is(S.idle).not());
    doneO.assign(is(S.done));
    errorO.assign(is(S.done).and(errCode.ne(0)));
    errCodeO.assign(errCode);

    // ---- Read side: rows x passes x beats of L elements (a, and b where the function uses it).
    const passesM1 = named(m, 'passes_m1', mux(cSoftmax.or(cLn), u(2, 2), mux(cNorm, u(1, 2), u(0, 2))));
    const rdActive = ctr('rd_active', 1);
    const cachePend = ctr('cache_pend', 1);
    const rr = ctr('rr', 16);
    const rp = ctr('rp', 2);
    const rj = ctr('rj', 16);
    const aRow = ctr('a_row', AW);
    const bRow = ctr('b_row', AW);
    const k0 = ctr('k0', 16);
    const cred = ctr('cred', 2);
    const q2Starts = ctr('q2_starts', 16);
    const accept = m.wire('accept', Bool);
    const credOk = named(m, 'cred_ok', cred.ne(3).or(accept));
    const rowOk = named(m, 'row_ok', dyn.not().or(rr.le(q2Starts)));
    const rdIssue = named(m, 'rd_issue', rdActive.bit(0).and(cachePend.bit(0).not()).and(credOk).and(rowOk));
    const lastInPass = named(m, 'last_in_pass', rj.ext(17).add(L).ge(len.ext(17)));
    const lastPass = named(m, 'last_pass', rp.eq(passesM1));
    const lastRead = named(m, 'last_read', lastInPass.and(lastPass).and(rr.eq(rows.sub(1).trunc(16))));
    // Rope: k0 = (j mod head) / 2 of the beat's first element; the next beat's by P conditional subtractions.
    const modH = (x: Expr, steps: number): Expr => {
      let v = x;
      for (let i = 0; i < steps; i++) v = mux(v.ge(hsHalf.ext(v.width)), v.sub(hsHalf.ext(v.width)).trunc(v.width), v);
      return v;
    };
    const k0Next =
      L === 1
        ? named(m, 'k0_next', mux(rj.bit(0), mux(k0.add(1).eq(hsHalf.ext(17)), u(0, 16), k0.add(1).trunc(16)), k0))
        : named(m, 'k0_next', modH(k0.ext(17).add(P).trunc(17), P).trunc(16));
    rdActive.assign(mux(enterRun, one, mux(rdIssue.and(lastRead), zero, rdActive)));
    cachePend.assign(mux(enterRun, cRope.and(P > 1 ? one : zero), zero));
    const passEnd = rdIssue.and(lastInPass);
    const rowEnd = named(m, 'row_end', passEnd.and(lastPass));
    rr.assign(mux(enterRun, u(0, 16), mux(rowEnd, rr.add(1).trunc(16), rr)));
    rp.assign(mux(enterRun.or(rowEnd), u(0, 2), mux(passEnd, rp.add(1).trunc(2), rp)));
    rj.assign(mux(enterRun.or(passEnd), u(0, 16), mux(rdIssue, rj.add(L).trunc(16), rj)));
    aRow.assign(mux(enterRun, aBase, mux(rowEnd, aRow.add(len).trunc(AW), aRow)));
    bRow.assign(mux(enterRun, bBase, mux(rowEnd.and(cAddMul), bRow.add(len).trunc(AW), bRow)));
    k0.assign(mux(enterRun.or(passEnd), u(0, 16), mux(rdIssue, k0Next, k0)));
    const cacheIssue = named(m, 'cache_issue', cachePend.bit(0));
    aRdEn.assign(rdIssue);
    aRdBuf.assign(abuf);
    aRdAddr.assign(aRow.add(rj).trunc(AW));
    bRdEn.assign(rdIssue.and(bUsed).or(cacheIssue));
    bRdBuf.assign(bbuf);
    bRdAddr.assign(mux(cacheIssue, bBase, mux(cRope, bBase.add(k0).trunc(AW), bRow.add(rj).trunc(AW))));

    // Tag of a beat: row, rope frequency selection (per pair: b lane t, or cache entry idx).
    const IW = P > 1 ? log2Ceil(P) : 0;
    const ropeSel: Expr[] = [];
    if (L >= 2 && P > 1) {
      for (let t = 0; t < P; t++) {
        const s = k0.ext(17).add(t).trunc(17);
        ropeSel.push(s.lt(hsHalf.ext(17)));
        if (IW) ropeSel.push(modH(s, t).trunc(IW));
      }
    }
    const tagParts: Expr[] = [rr, ...(L === 1 ? [rj.bit(0)] : []), ...ropeSel];
    const tag0 = named(m, 'tag0', cat(...[...tagParts].reverse()));
    const TW = tag0.width;
    const rv1 = m.reg('rv1', Bool);
    rv1.assign(rdIssue);
    const tag1 = pipe(m, 'tag1', tag0, one);
    const arrival = m.reg('rv2', Bool);
    arrival.assign(rv1);
    const tag2 = pipe(m, 'tag2', tag1, one);
    if (BUFFER_READ_LATENCY !== 2) throw new Error('sfu_engine assumes BUFFER_READ_LATENCY = 2');
    const cacheArr = m.reg('cache_arr', Bool);
    cacheArr.assign(pipe(m, 'cache_arr1', cacheIssue, one));
    const cache = m.reg('rope_cache', UInt(32 * P), { enable: cacheArr, reset: null });
    cache.assign(bRdData.slice(32 * P - 1, 0));
    if (P < 2) m.unused(cache);

    // ---- Operand skid buffer: 3 entries, credits (requests in flight + entries) <= 3, so the
    // row units' pass gaps need no knowledge of their length; bypassed when the unit is ready.
    const PW = TW + 64 * L;
    const payload = named(m, 'payload', cat(tag2, bRdData, aRdData));
    const fifo = [0, 1, 2].map((i) => m.reg(`fifo_${i}`, UInt(PW), { reset: null }));
    const fcount = ctr('fifo_count', 2);
    const fnz = fcount.ne(0);
    const unitReady = m.wire('unit_ready', Bool);
    const outValid = named(m, 'op_valid', fnz.or(arrival));
    const outData = named(m, 'op_data', mux(fnz, fifo[0]!, payload));
    accept.assign(outValid.and(unitReady));
    const pop = fnz.and(accept);
    const push = arrival.and(fnz.or(accept.not()));
    const wpos = named(m, 'fifo_wpos', fcount.sub(pop.ext(2)).trunc(2));
    fifo.forEach((e, i) => e.assign(mux(push.and(wpos.eq(i)), payload, mux(pop, i < 2 ? fifo[i + 1]! : e, e))));
    fcount.assign(fcount.sub(pop.ext(2)).trunc(2).add(push.ext(2)).trunc(2));
    cred.assign(mux(enterRun, u(0, 2), cred.add(rdIssue.ext(2)).trunc(2).sub(accept.ext(2)).trunc(2)));
    const aBeat = outData.slice(32 * L - 1, 0);
    const bBeat = outData.slice(64 * L - 1, 32 * L);
    const tagO = outData.slice(PW - 1, 64 * L);
    const rowO = tagO.slice(15, 0);
    const bLanes = split(bBeat, L);

    // ---- Units.
    const inDyn = (normal: Expr, dynamic: Expr) => mux(dyn, dynamic, normal);
    const elem = m.instance('elem', sfuElem, { lanes: L }, {
      in_valid: accept.and(cElem),
      out_ready: one,
      fn,
      otype: inDyn(otype, u(2, 2)),
      imm: inDyn(imm, u(0, 16)),
      shift,
      a: aBeat,
      b: bBeat,
      rq: pack(bLanes.map((x) => x.slice(21, 0))),
    });
    // Row-scale register file: entry {sh, m} of slot s, row r at address {s, r[7:0]}.
    const rf = m.memory('rs_rf', { depth: 8 * ROW_SCALE_ROWS, type: UInt(16 + UNSCALE_SH_WIDTH), readLatency: 1, style: 'block' });
    const hwm = Array.from({ length: ROW_SCALE_SLOTS }, (_, i) => ctr(`rs_hwm_${i + 1}`, 9));
    const hwmOf = (slot: Expr) => select(slot, [u(0, 9), ...hwm]);
    const row1 = tag1.slice(15, 0);
    const rfQ = rf.read('rs_rf_q', cat(erd, row1.slice(7, 0)));
    const rowHi = pipe(m, 'erd_row_hi', row1.ge(ROW_SCALE_ROWS), one);
    const rowSet = pipe(m, 'erd_row_set', row1.slice(8, 0).lt(hwmOf(erd)), one);
    const um = mux(rowHi, u(1, 16), mux(rowSet, rfQ.slice(15, 0), u(0, 16)));
    const ush = mux(rowHi, lit(0, SInt(UNSCALE_SH_WIDTH)), mux(rowSet, rfQ.slice(15 + UNSCALE_SH_WIDTH, 16).asSInt(), lit(0, SInt(UNSCALE_SH_WIDTH))));
    const erdU = m.instance('erd', sfuRequantErd, { lanes: L }, {
      in_valid: accept.and(cErd),
      a: aBeat,
      rq: pack(bLanes.map((x) => x.slice(21, 0))),
      imm,
      shift,
      um,
      ush,
      otype,
    });
    // Row units: one start per row while idle.
    const ustarted = ctr('ustarted', 16);
    const smx = m.instance('softmax', sfuSoftmax, { lanes: L });
    const nrm = m.instance('norm', sfuRmsnorm, { lanes: L });
    const uBusy = mux(cSoftmax, smx.out('busy'), nrm.out('busy'));
    const uStart = named(m, 'u_start', is(S.run).and(cSoftmax.or(cNorm)).and(uBusy.not()).and(ustarted.ne(rows)));
    ustarted.assign(mux(enterRun, u(0, 16), mux(uStart, ustarted.add(1).trunc(16), ustarted)));
    smx.bind({
      start: uStart.and(cSoftmax),
      len,
      causal,
      limit: pos.ext(17).add(ustarted).trunc(17),
      otype,
      imm: inDyn(imm, u(0, 16)),
      shift,
      in_valid: outValid.and(cSoftmax),
      in_data: aBeat,
    });
    nrm.bind({
      start: uStart.and(cNorm),
      len,
      ln: cLn,
      otype: inDyn(otype, u(2, 2)),
      imm: inDyn(imm, u(0, 16)),
      shift,
      in_valid: outValid.and(cNorm),
      in_data: aBeat,
      in_gamma: bBeat,
    });
    unitReady.assign(mux(cSoftmax, smx.out('in_ready'), mux(cNorm, nrm.out('in_ready'), one)));
    m.unused(elem.out('in_ready'), smx.out('out_last'), nrm.out('out_last'));

    // RoPE: P pairs per beat; with one lane, pairs are assembled from two beats.
    const rope = m.instance('rope', sfuRope, { pairs: P });
    let ropeValid: Expr;
    let ropeData: Expr;
    if (L >= 2) {
      const cacheLanes = split(cache, P);
      const freqs = Array.from({ length: P }, (_, t) => {
        if (P === 1) return bLanes[0]!;
        const useRead = tagO.bit(16 + t * (1 + IW));
        const idx = tagO.slice(16 + t * (1 + IW) + IW, 16 + t * (1 + IW) + 1);
        return mux(useRead, bLanes[t]!, select(idx, cacheLanes));
      });
      rope.bind({ in_valid: accept.and(cRope), out_ready: one, pos: pos.ext(17).add(rowO).trunc(17), otype, x: aBeat, freq: pack(freqs) });
      ropeValid = rope.out('out_valid');
      ropeData = rope.out('out_data');
    } else {
      const odd = tagO.bit(16);
      const holdX = m.reg('rope_hold_x', UInt(32), { enable: accept.and(odd.not()), reset: null });
      holdX.assign(aBeat);
      const holdF = m.reg('rope_hold_f', UInt(32), { enable: accept.and(odd.not()), reset: null });
      holdF.assign(bBeat);
      rope.bind({ in_valid: accept.and(cRope).and(odd), out_ready: one, pos: pos.ext(17).add(rowO).trunc(17), otype, x: cat(aBeat, holdX), freq: holdF });
      // Two elements per result: the second is written in the next cycle.
      const rv = rope.out('out_valid');
      const rd = rope.out('out_data');
      const hold2 = m.reg('rope_out_hold', UInt(32), { enable: rv, reset: null });
      hold2.assign(rd.slice(63, 32));
      const hold2V = m.reg('rope_out_hold_v', Bool);
      hold2V.assign(rv);
      ropeValid = named(m, 'rope_valid', rv.or(hold2V));
      ropeData = named(m, 'rope_data', mux(rv, rd.slice(31, 0), hold2));
    }
    m.unused(rope.out('in_ready'));

    const resValid = named(m, 'res_valid', elem.out('out_valid').or(erdU.out('out_valid')).or(smx.out('out_valid')).or(nrm.out('out_valid')).or(ropeValid));
    const resData = named(
      m,
      'res_data',
      mux(cSoftmax, smx.out('out_data'), mux(cNorm, nrm.out('out_data'), mux(cRope, ropeData, mux(cErd, erdU.out('out_data'), elem.out('out_data'))))),
    );

    // ---- Write side: result beats in row order.
    const wr = ctr('wr', 16);
    const wj = ctr('wj', 16);
    const dRow = ctr('d_row', AW);
    const remain = (j: Expr) => len.ext(17).sub(j.ext(17)).trunc(17);
    const countOf = (j: Expr) => mux(remain(j).ge(L), u(L, CW), remain(j).trunc(CW));
    const wLast = named(m, 'w_last', wj.ext(17).add(L).ge(len.ext(17)));
    const wCount = named(m, 'w_count', countOf(wj));
    wr.assign(mux(enterRun, u(0, 16), mux(resValid.and(wLast), wr.add(1).trunc(16), wr)));
    wj.assign(mux(enterRun.or(resValid.and(wLast)), u(0, 16), mux(resValid, wj.add(L).trunc(16), wj)));
    dRow.assign(mux(enterRun, dBase, mux(resValid.and(wLast), dRow.add(dp).trunc(AW), dRow)));

    // ewr: results into the row scratch, the row's max |v|, then sfu_rowscale.
    const scratch = m.memory('scratch', { depth: SD, type: UInt(32 * L), readLatency: 1, style: 'block' });
    const SAW = log2Ceil(SD);
    scratch.write(wj.shr(LB).resize(SAW), resData, resValid.and(dyn));
    const mags = split(resData, L, SInt(32)).map((v, l) => {
      const mag = mux(v.lt(0), v.neg(), v.ext(33)).trunc(32).asUInt();
      return mux(u(l, CW).lt(wCount), mag, u(0, 32));
    });
    const beatMax = named(m, 'beat_max', tree(mags, (x, y) => mux(x.ge(y), x, y)));
    const maxAcc = ctr('max_acc', 32);
    const rowMaxV = named(m, 'row_max', mux(maxAcc.ge(beatMax), maxAcc, beatMax));
    const dynRes = resValid.and(dyn);
    maxAcc.assign(mux(enterRun.or(dynRes.and(wLast)), u(0, 32), mux(dynRes, rowMaxV, maxAcc)));
    const mReg = m.reg('m_reg', UInt(32), { enable: dynRes.and(wLast), reset: null });
    mReg.assign(rowMaxV);
    const mPend = ctr('m_pend', 1);
    const rs = m.instance('rowscale', sfuRowScale, {});
    const rsStart = named(m, 'rs_start', mPend.bit(0).and(rs.out('busy').not()));
    mPend.assign(mux(enterRun, zero, mux(dynRes.and(wLast), one, mux(rsStart, zero, mPend))));
    rs.bind({ start: rsStart, mabs: mReg, imm, shift, int16: otype.eq(1) });
    const rsCount = ctr('rs_count', 16);
    rsCount.assign(mux(enterRun, u(0, 16), mux(rsStart, rsCount.add(1).trunc(16), rsCount)));
    // ewr rows are at most ROW_SCALE_ROWS: 8 bits of row index.
    const rsRow = m.reg('rs_row', UInt(8), { enable: rsStart, reset: null });
    rsRow.assign(rsCount.trunc(8));
    const rsDoneCount = ctr('rs_done_count', 16);
    const rsDone = named(m, 'rs_done', is(S.run).and(rs.out('done')));
    rsDoneCount.assign(mux(enterRun, u(0, 16), mux(rsDone, rsDoneCount.add(1).trunc(16), rsDoneCount)));

    // Register file writes: the unscale of a finished row, or zeros (ewr with len = 0).
    const zf = ctr('zf', 9);
    zf.assign(mux(is(S.zfill), zf.add(1).trunc(9), u(0, 9)));
    zfLast.assign(zf.eq(rows.sub(1).trunc(16).resize(9)));
    const rfWe = named(m, 'rf_we', rsDone.or(is(S.zfill)));
    const rfRow = named(m, 'rf_row', mux(is(S.zfill), zf, rsRow.ext(9)));
    rf.write(cat(ewr, rfRow.slice(7, 0)), mux(is(S.zfill), u(0, 16 + UNSCALE_SH_WIDTH), cat(rs.out('sh'), rs.out('m'))), rfWe);
    const rfRow1 = rfRow.add(1).trunc(9);
    hwm.forEach((h, i) => h.assign(mux(rfWe.and(ewr.eq(i + 1)).and(rfRow1.gt(h)), rfRow1, h)));

    // Pass 2: quantize the scratch row into d once its recip is known.
    const q2Active = ctr('q2_active', 1);
    const q2j = ctr('q2_j', 16);
    const q2DRow = ctr('q2_d_row', AW);
    const q2Rows = ctr('q2_rows', 16);
    const recipR = m.reg('recip_r', UInt(rs.out('recip').width), { enable: rs.out('recip_valid'), reset: null });
    recipR.assign(rs.out('recip'));
    const q2Go = named(m, 'q2_go', is(S.run).and(rs.out('recip_valid')));
    const q2Issue = q2Active.bit(0);
    const q2Last = named(m, 'q2_last', q2j.ext(17).add(L).ge(len.ext(17)));
    const q2End = q2Issue.and(q2Last);
    q2Active.assign(mux(q2Go, one, mux(q2End, zero, q2Active)));
    q2j.assign(mux(q2Go.or(q2End), u(0, 16), mux(q2Issue, q2j.add(L).trunc(16), q2j)));
    q2DRow.assign(mux(enterRun, dBase, mux(q2End, q2DRow.add(dp).trunc(AW), q2DRow)));
    q2Rows.assign(mux(enterRun, u(0, 16), mux(q2End, q2Rows.add(1).trunc(16), q2Rows)));
    q2Starts.assign(mux(enterRun, u(0, 16), mux(q2Go, q2Starts.add(1).trunc(16), q2Starts)));
    const scrQ = scratch.read('scratch_q', q2j.shr(LB).resize(SAW), q2Issue);
    const q2v1 = m.reg('q2_v1', Bool);
    q2v1.assign(q2Issue);
    const quant = m.instance('quant', sfuQuantize, { lanes: L }, { in_valid: q2v1, v: scrQ, recip: recipR, int16: otype.eq(1) });
    let q2Addr: Expr = q2DRow.add(q2j).trunc(AW);
    let q2Cnt: Expr = countOf(q2j);
    for (let i = 0; i < 1 + QUANT_LATENCY; i++) {
      q2Addr = pipe(m, `q2_addr_d${i + 1}`, q2Addr, one);
      q2Cnt = pipe(m, `q2_cnt_d${i + 1}`, q2Cnt, one);
    }
    const q2Busy = m.reg('q2_busy1', Bool);
    q2Busy.assign(q2v1);
    const q2Pipe = named(m, 'q2_pipe', q2Issue.or(q2v1).or(q2Busy).or(quant.out('out_valid')));

    // The d write port (registered).
    const wEn = m.reg('d_wr_en_r', Bool);
    wEn.assign(mux(dyn, quant.out('out_valid'), resValid));
    const wAddr = m.reg('d_wr_addr_r', UInt(AW), { reset: null });
    wAddr.assign(mux(dyn, q2Addr, dRow.add(wj).trunc(AW)));
    const wCnt = m.reg('d_wr_count_r', UInt(CW), { reset: null });
    wCnt.assign(mux(dyn, q2Cnt, wCount));
    const wData = m.reg('d_wr_data_r', UInt(32 * L), { reset: null });
    wData.assign(mux(dyn, quant.out('out_data'), resData));
    dWrEn.assign(wEn);
    dWrBuf.assign(dbuf);
    dWrAddr.assign(wAddr);
    dWrCount.assign(wCnt);
    dWrData.assign(wData);

    // Done: every result written (the last write request was in the previous cycle) and, with
    // ewr, every row's unscale in the register file.
    runFinish.assign(is(S.run).and(mux(dyn, q2Rows.eq(rows).and(rsDoneCount.eq(rows)).and(q2Pipe.not()), wr.eq(rows))));
  },
);


/** What the cycle count of an instruction depends on. */
export interface SfuCycleQuery {
  readonly fn: (typeof SFU_OPS)[number];
  readonly len: number;
  readonly rows: number;
  /** SFU lanes (GenConfig sfuLanes). */
  readonly lanes: number;
  /** requant with a row-scale factor (erd != 0). */
  readonly erd?: boolean;
  /** Dynamic per-row scaling (ewr != 0, with imm != 0). */
  readonly ewr?: boolean;
}

/**
 * Cycles of an accepted SFU instruction on the engine, from the start cycle to the done cycle
 * (done is in cycle start + sfuEngineCycles(...)); exact (the Verilator test checks every
 * instruction). Refused instructions take SFU_DECODE_CYCLES (rope: + SFU_ROPE_CHECK_CYCLES
 * for a bad len / head size ratio or b range). Structure:
 *
 * - decode: SFU_DECODE_CYCLES (rope: + SFU_ROPE_CHECK_CYCLES); operand reads start then;
 * - element-wise, requant, rope: one beat per cycle (N = rows * ceil(len / L) beats; rope with
 *   one lane: N = rows * len single-element beats), + the unit latency + 4 (read latency,
 *   write register, done); rope with more than one pair per beat reads its frequency cache first (+1);
 * - softmax, norms: the rows back to back at the unit's row cycles (softmaxRowCycles,
 *   normRowCycles) + the output latency + 5;
 * - ewr: per row, the row's results into the scratch, then sfu_rowscale (recip after
 *   ROWSCALE_RECIP_CYCLES), then the quantizing pass over the scratch while the next row computes.
 */
export function sfuEngineCycles(q: SfuCycleQuery): number {
  const L = q.lanes;
  const P = ropePairsOf(L);
  const B = Math.ceil(q.len / L);
  const rope = q.fn === 'rope';
  const R0 = SFU_DECODE_CYCLES + (rope ? SFU_ROPE_CHECK_CYCLES : 0);
  if (q.len === 0 || q.rows === 0) return q.ewr && q.rows > 0 && !rope ? R0 + q.rows : R0;
  const rowUnit = q.fn === 'softmax' || q.fn === 'rmsnorm' || q.fn === 'layernorm';
  const rowCycles = q.fn === 'softmax' ? softmaxRowCycles(q.len, L) : normRowCycles(q.len, L, q.fn === 'layernorm');
  const outLat = q.fn === 'softmax' ? SOFTMAX_OUT_LATENCY : NORM_OUT_LATENCY;
  // Cycles from a row's first operand beat at the unit to its last result.
  const rowSpan = rowUnit ? rowCycles - 2 + outLat : B - 1 + (q.fn === 'requant' && q.erd ? ERD_LATENCY : ELEM_LATENCY);
  const F0 = R0 + BUFFER_READ_LATENCY;
  if (!q.ewr) {
    if (rope) return L === 1 ? R0 + q.rows * q.len + 10 : F0 + (P > 1 ? 1 : 0) + q.rows * B - 1 + ROPE_LATENCY + 2;
    if (rowUnit) return F0 + q.rows * rowCycles - 2 + outLat + 2;
    return F0 + q.rows * B - 1 + (q.fn === 'requant' && q.erd ? ERD_LATENCY : ELEM_LATENCY) + 2;
  }
  // ewr: s = the row's sfu_rowscale start; the next row's operands are read from s + Q2.
  const Q2 = ROWSCALE_RECIP_CYCLES + 1;
  let first = F0;
  let rsFree = 0;
  let s = 0;
  for (let r = 0; r < q.rows; r++) {
    s = Math.max(first + rowSpan + 1, rsFree);
    rsFree = s + ROWSCALE_CYCLES + 1;
    first = s + Q2 + BUFFER_READ_LATENCY;
  }
  // Last quantized beat's write request in s + Q2 + B + QUANT_LATENCY + 1; the last unscale written after s + ROWSCALE_CYCLES.
  return Math.max(s + Q2 + B + QUANT_LATENCY + 2, s + ROWSCALE_CYCLES + 2);
}
