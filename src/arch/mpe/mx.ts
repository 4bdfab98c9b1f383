/**
 * The MX engine: executes one MM or MV instruction on the MPE. It turns the instruction into
 * the MPE's tile descriptor (windows = ceil(K / L), batches = ceil(rows / (C x segments))),
 * checks it as the golden model does (src/golden/machine.ts matrix()), starts the MPE and
 * feeds its weight port from the weight + meta buffers or from the KV buffer.
 */
import { Bool, cat, defineModule, lit, log2Ceil, mux, pack, select, split, UInt, type Expr } from '../../hdl/index.ts';
import { field } from '../../isa/hdl-fields.ts';
import { OPS } from '../../isa/table.ts';
import { chainGeometry, modeTable } from '../../sparsity/pattern.ts';
import type { GenConfig } from '../config.ts';
import { divisionByConstant } from '../mmu/buffer.ts';
import { accelGeometry } from '../mmu/buffers.ts';
import { ERR } from '../control/status.ts';
import { COUNT_WIDTH, mpe, type MpeParams } from './mpe.ts';

/** The MPE's parameters inside the accelerator: its weight port also reads KV beats. */
export function mxMpeParams(c: GenConfig): MpeParams {
  const g = accelGeometry(c);
  return {
    chains: c.chains,
    length: c.chainLength,
    groupSize: c.groupSize,
    patterns: c.sparsity,
    aWidth: c.actWidth,
    bWidth: c.weightWidth,
    backend: c.dspBackend,
    actDepth: c.actDepth,
    weightDepth: Math.max(c.weightDepth, g.buffers.kv.rows),
    accDepth: c.accDepth,
  };
}

/** Cycles from start to the MPE's start (descriptor and checks), for the performance model. */
export const MX_SETUP_CYCLES = 3;

const S = { idle: 0, calc: 1, check: 2, run: 3, done: 4 } as const;

export const mxEngine = defineModule<GenConfig>(
  'mx_engine',
  (c) => `mx_engine_c${c.chains}_l${c.chainLength}_a${c.actWidth}_w${c.weightWidth}_m${modeTable(c.sparsity).length}`,
  (m, c) => {
    if (c.pack !== 1) throw new RangeError('the flightllm top supports --pack 1 only');
    const g = accelGeometry(c);
    const B = g.buffers;
    const p = mxMpeParams(c);
    const C = c.chains;
    const L = c.chainLength;
    const CL = C * L;
    const modes = modeTable(c.sparsity);
    const modeW = log2Ceil(modes.length);
    const instrBits = 32 * OPS.get('MM')!.words;
    const wAW = log2Ceil(p.weightDepth);
    const actAW = log2Ceil(p.actDepth);
    const accAW = log2Ceil(p.accDepth);
    const metaBits = B.meta.bits;
    m.doc(`MX engine: MM/MV instructions on a ${C} x ${L} MPE (modes ${modes.length}), weights from the weight/meta or KV buffer.`);

    const start = m.input('start', Bool);
    const instr = m.input('instr', UInt(instrBits));
    const busyO = m.output('busy', Bool);
    const doneO = m.output('done', Bool);
    const errorO = m.output('error', Bool);
    const errCodeO = m.output('err_code', UInt(8));

    const state = m.reg('state', UInt(3));
    const is = (s: number) => state.eq(s);
    const go = m.wire('go', Bool, start.and(is(S.idle)));
    const ir = m.reg('ir', UInt(instrBits), { enable: go, reset: null });
    ir.assign(instr);
    const f = (name: string) => field(ir, 'MM', name);
    const isMM = m.wire('is_mm', Bool, f('opcode').eq(OPS.get('MM')!.code));
    const pattern = m.wire('pattern', UInt(4), f('pattern'));
    const cols = m.wire('cols', UInt(COUNT_WIDTH), f('k'));
    const rows = m.wire('rows', UInt(COUNT_WIDTH), f('n'));
    const tokens = m.wire('tokens', UInt(COUNT_WIDTH), mux(isMM, f('m'), lit(1, UInt(COUNT_WIDTH))));
    const wsrcKv = m.wire('wsrc_kv', Bool, f('wsrc'));
    const asrcGlobal = m.wire('asrc_global', Bool, f('asrc'));
    const accumulate = m.wire('accumulate', Bool, f('acc'));
    const wbase = m.wire('wbase', UInt(20), f('wbase'));
    const mbase = m.wire('mbase', UInt(20), f('mbase'));
    const abase = m.wire('abase', UInt(20), f('abase'));
    const obase = m.wire('obase', UInt(20), f('obase'));
    // Fields the MPE does not need: lane formats are expanded by the LD engine, scales are the SFU's.
    m.unused(f('wprec'), f('aprec'), f('sbase'), ir);

    /** floor(x / d) for a constant d by multiply-shift (exact for every x of x's width). */
    const divConst = (x: Expr, d: number): Expr => {
      const { magic, shift } = divisionByConstant(d, x.width);
      return magic === 1 ? (shift === 0 ? x : x.shr(shift)) : x.mul(lit(magic, UInt(log2Ceil(magic + 1)))).shr(shift);
    };
    const ceilDiv = (x: Expr, d: number) => divConst(x.ext(COUNT_WIDTH + 1).add(d - 1).trunc(COUNT_WIDTH + 1), d).resize(COUNT_WIDTH);

    // Stage calc: windows, row batches (per mode: C x segments rows each), beat and window bases.
    const windows = m.reg('windows', UInt(COUNT_WIDTH), { reset: null });
    const batches = m.reg('batches', UInt(COUNT_WIDTH), { reset: null });
    windows.assign(ceilDiv(cols, L));
    const segs = modes.map((q) => chainGeometry(q, L, c.groupSize).segments);
    batches.assign(select(pattern, [...segs.map((s) => ceilDiv(rows, C * s)), lit(0, UInt(COUNT_WIDTH))]));
    const kvBeat = m.wire('kv_beat', UInt(20), divConst(wbase, CL).resize(20));
    const wBeat = m.reg('w_beat', UInt(20), { reset: null });
    wBeat.assign(mux(wsrcKv, kvBeat, wbase));
    const actWin = m.reg('act_win', UInt(20), { reset: null });
    actWin.assign(divConst(abase, L).resize(20));
    const badPattern = m.reg('bad_pattern', Bool, { reset: null });
    badPattern.assign(pattern.ge(modes.length).or(wsrcKv.and(pattern.ne(0))));
    const misaligned = m.reg('misaligned', Bool, { reset: null });
    misaligned.assign(divConst(abase, L).resize(20).mul(L).resize(20).ne(abase).or(wsrcKv.and(kvBeat.mul(CL).resize(20).ne(wbase))));

    // Stage check: the golden model's range checks, in wide arithmetic (no wrap).
    const beats = m.wire('beats', UInt(32), batches.mul(windows));
    const wLimit = mux(wsrcKv, lit(Math.floor(c.kvDepth / CL), UInt(21)), lit(c.weightDepth, UInt(21)));
    const wOut = wBeat.ext(33).add(beats).gt(wLimit.ext(34));
    const aOut = actWin.ext(33).add(tokens.mul(windows)).gt(lit(c.actDepth, UInt(33)).ext(34));
    const oOut = obase.ext(33).add(tokens.mul(rows)).gt(lit(c.accDepth, UInt(33)).ext(34));
    const mOut = wsrcKv.not().and(pattern.ne(0)).and(mbase.ext(33).add(beats).gt(lit(c.weightDepth, UInt(33)).ext(34)));
    const code = m.wire(
      'check_code',
      UInt(8),
      mux(badPattern, lit(ERR.pattern, UInt(8)), mux(asrcGlobal, lit(ERR.access, UInt(8)), mux(misaligned, lit(ERR.align, UInt(8)), mux(wOut.or(aOut).or(oOut).or(mOut), lit(ERR.range, UInt(8)), lit(0, UInt(8)))))),
    );
    const errCode = m.reg('err_code_r', UInt(8), { enable: is(S.check) });
    errCode.assign(code);

    // The MPE and its buffer ports.
    const mpeDone = m.wire('tile_done', Bool);
    state.assign(
      select(state, [
        mux(go, lit(S.calc, UInt(3)), lit(S.idle, UInt(3))),
        lit(S.check, UInt(3)),
        mux(code.ne(0), lit(S.done, UInt(3)), lit(S.run, UInt(3))),
        mux(mpeDone, lit(S.done, UInt(3)), lit(S.run, UInt(3))),
        lit(S.idle, UInt(3)),
      ]),
    );
    const mpeStart = m.wire('mpe_start', Bool, is(S.check).and(code.eq(0)));
    const engine = m.instance('core', mpe, p, {
      start: mpeStart,
      t_mode: pattern.resize(modeW),
      t_rows: rows,
      t_batches: batches,
      t_windows: windows,
      t_tokens: tokens,
      t_act_base: actWin.resize(actAW),
      t_act_stride: windows.resize(actAW),
      t_w_base: wBeat.resize(wAW),
      t_out_base: obase.resize(accAW),
      t_out_stride: rows.resize(accAW),
      t_accumulate: accumulate,
    });
    mpeDone.assign(engine.out('done'));
    m.unused(engine.out('busy'));
    busyO.assign(state.ne(S.idle));
    doneO.assign(is(S.done));
    errorO.assign(is(S.done).and(errCode.ne(0)));
    errCodeO.assign(errCode);

    // Weight beats: weight + meta buffers (meta at mbase + (beat - wbase)) or the KV buffer.
    const wRdAddr = engine.out('w_rd_addr');
    const wRdEn = engine.out('w_rd_en');
    m.output('w_rd_en', Bool).assign(wRdEn.and(wsrcKv.not()));
    m.output('w_rd_addr', UInt(log2Ceil(c.weightDepth))).assign(wRdAddr.resize(log2Ceil(c.weightDepth)));
    const metaAddr = wRdAddr.resize(20).add(mbase).trunc(20).sub(wBeat).trunc(20);
    m.output('meta_rd_en', Bool).assign(wRdEn.and(wsrcKv.not()).and(pattern.ne(0)));
    m.output('meta_rd_addr', UInt(log2Ceil(c.weightDepth))).assign(metaAddr.resize(log2Ceil(c.weightDepth)));
    m.output('kv_rd_en', Bool).assign(wRdEn.and(wsrcKv));
    m.output('kv_rd_addr', UInt(log2Ceil(B.kv.rows))).assign(wRdAddr.resize(log2Ceil(B.kv.rows)));
    const wData = split(m.input('w_rd_data', UInt(CL * c.weightWidth)), CL);
    const mData = split(m.input('meta_rd_data', UInt(CL * metaBits)), CL);
    const kvData = split(m.input('kv_rd_data', UInt(CL * B.kv.bits)), CL);
    // The read data belongs to the address of the previous cycle: so does the source select.
    const kvSel = m.reg('kv_sel', Bool);
    kvSel.assign(wsrcKv);
    const lanes = Array.from({ length: CL }, (_, i) => {
      const kvLane = B.kv.bits >= c.weightWidth ? kvData[i]!.trunc(c.weightWidth) : kvData[i]!.asSInt().ext(c.weightWidth).asUInt();
      return cat(mux(kvSel, lit(0, UInt(metaBits)), mData[i]!), mux(kvSel, kvLane, wData[i]!));
    });
    if (B.kv.bits > c.weightWidth) m.unused(...kvData.map((x) => x.slice(B.kv.bits - 1, c.weightWidth)));
    engine.bind({ w_rd_data: pack(lanes) });

    // Activation windows from the act buffer's row port.
    m.output('act_rd_en', Bool).assign(engine.out('act_rd_en'));
    m.output('act_rd_addr', UInt(actAW)).assign(engine.out('act_rd_addr'));
    engine.bind({ act_rd_data: m.input('act_rd_data', UInt(L * c.actWidth)) });

    // Results: also written to the accumulator mirror the SFU and ST engines read.
    m.output('res_wr_en', Bool).assign(engine.out('res_wr_en'));
    m.output('res_wr_addr', UInt(accAW)).assign(engine.out('res_wr_addr'));
    m.output('res_wr_data', UInt(32)).assign(engine.out('res_wr_data').asUInt());
  },
);
