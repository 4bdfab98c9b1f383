/**
 * The accelerator's controller (docs/accelerator.md, "Controller and CSR port"): instruction
 * fetch, decode, LOOP and SYS execution, dyn-field resolution, one FIFO per engine queue,
 * dependency tokens, error detection and the CSR block. The reference for what it dispatches
 * is the golden model's run() (src/golden/machine.ts) and its word-level twin
 * src/arch/control/model.ts.
 */
import { Bool, cat, defineModule, lit, log2Ceil, mux, select, UInt, type Expr, type Signal } from '../../hdl/index.ts';
import { field, queueInstrBits } from '../../isa/hdl-fields.ts';
import { HEADER, LEN_REGS, OPCODES, OPS, QUEUES, SYS_OPS } from '../../isa/table.ts';
import { CSR, CSR_ADDR_BITS, ERR, WATCHDOG_CYCLES } from './status.ts';
import { ctrlFifo } from './queue.ts';
import { ctrlFetch, DEFAULT_FETCH } from './fetch.ts';
import { bitsOf, decodeError, MAX_WORDS, RELEASE, resolveField, resolveInstr, slotLengths, WAIT, wordsOf } from './decode.ts';

/** The four engines, their queue (QUEUES order) and port prefix. */
export const ENGINES = [
  { queue: 'LD', port: 'ld' },
  { queue: 'ST', port: 'st' },
  { queue: 'MX', port: 'mx' },
  { queue: 'SFU', port: 'sfu' },
] as const;

/** What the controller takes from GenConfig, plus options with defaults (a GenConfig itself will do). */
export interface ControllerParams {
  /** Instructions each engine FIFO holds. */
  readonly queueDepth: number;
  /** LOOP nesting depth. */
  readonly loopDepth: number;
  /** Tokens one counter holds; a queue does not start an instruction whose release would overflow it (default 255). */
  readonly tokenDepth?: number;
  /** Cycles without progress before ERR.deadlock (default WATCHDOG_CYCLES). */
  readonly watchdogCycles?: number;
  /** Prefetch ring words, a power of two (default 64). */
  readonly fetchWords?: number;
}

export type ControllerConfig = Required<ControllerParams>;

/** docs/isa.md asks for at least 8; the compiler does not bound outstanding tokens, so more. */
export const DEFAULT_TOKEN_DEPTH = 255;

/** The controller's parameters with defaults filled in (only these fields; a GenConfig's others are dropped). */
export function controllerParams(c: ControllerParams, over: Partial<ControllerConfig> = {}): ControllerConfig {
  return {
    queueDepth: c.queueDepth,
    loopDepth: c.loopDepth,
    tokenDepth: c.tokenDepth ?? DEFAULT_TOKEN_DEPTH,
    watchdogCycles: c.watchdogCycles ?? WATCHDOG_CYCLES,
    fetchWords: c.fetchWords ?? DEFAULT_FETCH.bufferWords,
    ...over,
  };
}

export function checkControllerParams(p: ControllerConfig): void {
  const int = (k: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`controller ${k} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  int('queueDepth', p.queueDepth, 1, 64);
  int('loopDepth', p.loopDepth, 1, 8);
  int('tokenDepth', p.tokenDepth, 1, 65535);
  int('watchdogCycles', p.watchdogCycles, 2, 2 ** 30);
  int('fetchWords', p.fetchWords, 64, 1024);
  if (p.fetchWords & (p.fetchWords - 1)) throw new RangeError(`controller fetchWords must be a power of two, got ${p.fetchWords}`);
}

const SYS_Q = QUEUES.indexOf('SYS');
const LOOP_WORDS = OPS.get('LOOP')!.words;

export const controller = defineModule<ControllerParams>(
  'controller',
  (c) => {
    const p = controllerParams(c);
    return `controller_q${p.queueDepth}_l${p.loopDepth}_t${p.tokenDepth}_w${p.watchdogCycles}_f${p.fetchWords}`;
  },
  (m, c) => {
    const p = controllerParams(c);
    checkControllerParams(p);
    m.doc('Controller: fetch, decode, LOOP/SYS, dyn fields, engine queues, tokens, CSRs.');
    const csrWrEn = m.input('csr_wr_en', Bool);
    const csrAddr = m.input('csr_addr', UInt(CSR_ADDR_BITS));
    const csrWrData = m.input('csr_wr_data', UInt(32));
    const csrRdData = m.output('csr_rd_data', UInt(32));
    const haltedO = m.output('halted', Bool);
    const eng = ENGINES.map((e) => {
      const bits = queueInstrBits(e.queue);
      return {
        ...e,
        q: QUEUES.indexOf(e.queue),
        bits,
        ops: OPCODES.filter((o) => o.queue === e.queue),
        startO: m.output(`${e.port}_start`, Bool),
        instrO: m.output(`${e.port}_instr`, UInt(bits)),
        busy: m.input(`${e.port}_busy`, Bool),
        done: m.input(`${e.port}_done`, Bool),
        error: m.input(`${e.port}_error`, Bool),
        errCode: m.input(`${e.port}_err_code`, UInt(8)),
      };
    });

    // ---- CSR-visible state --------------------------------------------------------------
    const active = m.reg('active', Bool);
    const doneFlag = m.reg('done_flag', Bool);
    const errFlag = m.reg('err_flag', Bool);
    const errCode = m.reg('err_code', UInt(8));
    const errPc = m.reg('err_pc', UInt(32));
    const serial = m.reg('serial', Bool);
    const startPc = m.reg('start_pc', UInt(32));
    const cycles = m.reg('cycles', UInt(64));
    const instrs = m.reg('instrs', UInt(32));
    const lens = LEN_REGS.map((_, i) => m.reg(`len_${i}`, UInt(32)));
    const busyCycles = eng.map((e) => m.reg(`${e.port}_busy_cycles`, UInt(32)));
    const running = eng.map((e) => m.reg(`${e.port}_running`, Bool));
    const anyRunning = m.wire('any_running', Bool, running.map((r): Expr => r).reduce((a, b) => a.or(b)));
    const statusBusy = m.wire('status_busy', Bool, active.or(anyRunning));
    const csrWrite = (addr: number) => csrWrEn.and(csrAddr.eq(addr));
    // A start is ignored while the machine or an engine is busy (after an error, engines finish their instruction).
    const startReq = m.wire('start_req', Bool, csrWrite(CSR.CTRL).and(csrWrData.bit(0)).and(statusBusy.not()));

    // ---- fetch and instruction assembly -------------------------------------------------
    const redirect = m.wire('redirect', Bool);
    const target = m.wire('target', UInt(32));
    const popWord = m.wire('pop_word', Bool);
    const reuse = m.wire('reuse', Bool);
    const fetch = m.instance('fetch', ctrlFetch, { bufferWords: p.fetchWords }, {
      enable: active,
      redirect,
      reuse,
      target,
      pop: popWord,
      if_ar_ready: m.input('if_ar_ready', Bool),
      if_r_valid: m.input('if_r_valid', Bool),
      if_r_data: m.input('if_r_data', UInt(32)),
      if_r_last: m.input('if_r_last', Bool),
    });
    for (const o of ['if_ar_valid', 'if_ar_addr', 'if_ar_len', 'if_r_ready']) m.output(o, fetch.out(o).type).assign(fetch.out(o));

    /** Words of the current instruction collected in ibuf (word i in ibuf[i]). */
    const have = m.reg('have', UInt(4));
    const ibufLoad = Array.from({ length: MAX_WORDS }, (_, i) => m.wire(`ibuf_load_${i}`, Bool));
    const ibuf = ibufLoad.map((en, i) => m.reg(`ibuf_${i}`, UInt(32), { enable: en, reset: null }));
    const vec = m.wire('instr_vec', UInt(32 * MAX_WORDS), cat(...[...ibuf].reverse()));
    const opcode = m.wire('opcode', UInt(4), bitsOf(vec, HEADER[0]));
    const need = m.wire('need', UInt(4), wordsOf(opcode));
    const complete = m.wire('complete', Bool, have.ne(0).and(have.eq(need)));
    /** Word address of the instruction in ibuf (the fetch unit knows the address of each word it hands out). */
    const pc = m.reg('pc', UInt(32));
    const spc = fetch.out('addr');
    /** Index of the next instruction in program order (golden run()'s pc): LOOP ends are instruction counts. */
    const idx = m.reg('idx', UInt(32));
    const is = Object.fromEntries(OPCODES.map((o) => [o.name, m.wire(`is_${o.name.toLowerCase()}`, Bool, opcode.eq(o.code))])) as Record<string, Signal>;
    const decCode = m.wire('dec_code', UInt(8), decodeError(m, vec, opcode));
    const slots = slotLengths(m, vec, lens);
    const iWait = m.wire('i_wait', UInt(WAIT.width), bitsOf(vec, WAIT));
    const iRelease = m.wire('i_release', UInt(RELEASE.width), bitsOf(vec, RELEASE));
    // A mask bit naming the instruction's own queue is a decode error, so it is never used as a token.
    m.unused(iWait.bit(SYS_Q), iRelease.bit(SYS_Q));

    // ---- tokens: tok[p][c] counts releases of queue p to queue c not yet taken by c --------
    const tw = log2Ceil(p.tokenDepth + 1);
    const tok = QUEUES.map((pq, pi) => QUEUES.map((cq, ci) => (pi === ci ? undefined : m.reg(`tok_${pq.toLowerCase()}_${cq.toLowerCase()}`, UInt(tw)))));
    const all = (xs: Expr[]) => xs.reduce((a, b) => a.and(b));
    const any = (xs: Expr[]) => xs.reduce((a, b) => a.or(b));
    const others = (q: number) => QUEUES.map((_, i) => i).filter((i) => i !== q);
    /** Every queue in `mask` has a token for queue c. */
    const tokensFor = (mask: Expr, c: number) => all(others(c).map((q) => mask.bit(q).not().or(tok[q]![c]!.ne(0))));
    /** Queue q can release to every queue in `mask` without overflowing a counter. */
    const roomFor = (mask: Expr, q: number) => all(others(q).map((c) => mask.bit(c).not().or(tok[q]![c]!.ne(p.tokenDepth))));

    // ---- engine queues ----------------------------------------------------------------
    const dispatchTo = eng.map((e) => m.wire(`${e.port}_dispatch`, Bool));
    const stopStarts = m.wire('stop_starts', Bool);
    const q = eng.map((e, k) => {
      const width = e.bits + 32;
      const resolved = e.ops.map((o) => resolveInstr(m, vec, o, slots).ext(e.bits));
      const din = cat(pc, e.ops.slice(0, -1).reduceRight((acc, o, i) => mux(is[o.name]!, resolved[i]!, acc), resolved[resolved.length - 1]!));
      const start = m.wire(`${e.port}_start_w`, Bool);
      const fifo = m.instance(`${e.port}_q`, ctrlFifo, { width, depth: p.queueDepth }, { push: dispatchTo[k]!, din, pop: start, flush: startReq });
      const head = m.wire(`${e.port}_head`, UInt(width), fifo.out('head'));
      const instr = head.slice(e.bits - 1, 0);
      const count = fifo.out('count');
      const empty = m.wire(`${e.port}_empty`, Bool, count.eq(0));
      const full = m.wire(`${e.port}_full`, Bool, count.eq(p.queueDepth));
      const headWait = m.wire(`${e.port}_head_wait`, UInt(WAIT.width), bitsOf(instr, WAIT));
      const tokensOk = m.wire(`${e.port}_tokens_ok`, Bool, tokensFor(headWait, e.q).and(roomFor(bitsOf(instr, RELEASE), e.q)));
      // running: started and its done not seen yet (covers the cycle before the engine's busy rises).
      start.assign(active.and(stopStarts.not()).and(running[k]!.not()).and(e.busy.not()).and(empty.not()).and(tokensOk));
      const release = m.reg(`${e.port}_release`, UInt(RELEASE.width), { enable: start });
      release.assign(bitsOf(instr, RELEASE));
      m.unused(headWait.bit(e.q), release.bit(e.q));
      const instrPc = m.reg(`${e.port}_pc`, UInt(32), { enable: start });
      instrPc.assign(head.slice(width - 1, e.bits));
      const finished = m.wire(`${e.port}_finished`, Bool, e.done.and(running[k]!));
      running[k]!.assign(mux(start, lit(1, Bool), mux(finished, lit(0, Bool), running[k]!)));
      busyCycles[k]!.assign(mux(startReq, lit(0, UInt(32)), busyCycles[k]!.add(e.busy).trunc(32)));
      e.startO.assign(start);
      e.instrO.assign(instr);
      return {
        start,
        empty,
        full,
        headWait,
        release,
        instrPc,
        headPc: head.slice(width - 1, e.bits),
        ok: m.wire(`${e.port}_ok`, Bool, finished.and(e.error.not())),
        failed: m.wire(`${e.port}_failed`, Bool, finished.and(e.error)),
        blocked: empty.not().and(running[k]!.not()).and(tokensFor(headWait, e.q).not()),
        finished,
      };
    });
    const allIdle = m.wire('all_idle', Bool, all(q.map((x, k) => x.empty.and(running[k]!.not()))));
    const engFailed = m.wire('eng_failed', Bool, any(q.map((x) => x.failed)));

    // ---- loop stack ---------------------------------------------------------------------
    const dw = log2Ceil(p.loopDepth + 1);
    const depth = m.reg('loop_depth', UInt(dw));
    const level = Array.from({ length: p.loopDepth }, (_, i) => ({
      pc: m.reg(`loop${i}_pc`, UInt(32)),
      idx: m.reg(`loop${i}_idx`, UInt(32)),
      end: m.reg(`loop${i}_end`, UInt(32)),
      left: m.reg(`loop${i}_left`, UInt(16)),
    }));
    const topSel = m.wire('top_sel', UInt(dw), depth.sub(1).trunc(dw));
    const top = {
      pc: m.wire('top_pc', UInt(32), select(topSel, level.map((l) => l.pc))),
      idx: m.wire('top_idx', UInt(32), select(topSel, level.map((l) => l.idx))),
      end: m.wire('top_end', UInt(32), select(topSel, level.map((l) => l.end))),
      left: m.wire('top_left', UInt(16), select(topSel, level.map((l) => l.left))),
    };
    const inLoop = m.wire('in_loop', Bool, depth.ne(0));
    // Golden run(): while pc == top.end, either jump back (iterations left) or pop; one level per cycle.
    const atEnd = m.wire('at_end', Bool, inLoop.and(idx.eq(top.end)));
    const loopIter = m.wire('loop_iter', Bool, active.and(atEnd).and(top.left.gt(1)));
    const loopPop = m.wire('loop_pop', Bool, active.and(atEnd).and(top.left.le(1)));
    /** Instructions of a count-0 LOOP body still to skip (decoded and checked, not executed). */
    const skipLeft = m.reg('skip_left', UInt(16));
    const skipping = m.wire('skipping', Bool, skipLeft.ne(0));

    // ---- dispatch -----------------------------------------------------------------------
    const ready = m.wire('ready', Bool, active.and(complete).and(atEnd.not()));
    const decBad = m.wire('dec_bad', Bool, decCode.ne(0));
    const sysFn = field(vec, 'SYS', 'fn');
    const isSetlen = m.wire('is_setlen', Bool, is.SYS!.and(sysFn.eq(SYS_OPS.indexOf('setlen'))));
    const isSync = m.wire('is_sync', Bool, is.SYS!.and(sysFn.eq(SYS_OPS.indexOf('sync'))));
    const isEnd = m.wire('is_end', Bool, is.SYS!.and(sysFn.eq(SYS_OPS.indexOf('end'))));
    const inDispatcher = m.wire('in_dispatcher', Bool, is.SYS!.or(is.LOOP!));
    const serialOk = m.wire('serial_ok', Bool, serial.not().or(allIdle));
    const queueOk = any(eng.map((e, k) => any(e.ops.map((o) => is[o.name]!)).and(q[k]!.full.not())));
    // SYS/LOOP take their tokens in the dispatcher; setlen/sync release there (end's and LOOP's releases are ignored, as in run()).
    const sysOk = tokensFor(iWait, SYS_Q)
      .and(isSetlen.or(isSync).not().or(roomFor(iRelease, SYS_Q)))
      .and(isSync.or(isEnd).not().or(allIdle));
    const canExec = m.wire('can_exec', Bool, mux(inDispatcher, sysOk, queueOk).and(serialOk));
    const exec = m.wire('exec', Bool, ready.and(decBad.not()).and(skipping.not()).and(canExec).and(engFailed.not()));
    const skip = m.wire('skip', Bool, ready.and(decBad.not()).and(skipping));
    const consume = m.wire('consume', Bool, exec.or(skip));
    eng.forEach((e, k) => dispatchTo[k]!.assign(exec.and(any(e.ops.map((o) => is[o.name]!)))));

    // LOOP: errors in run()'s order; a count-0 body must also stay inside the enclosing one.
    const loopOp = OPS.get('LOOP')!;
    const count = m.wire('loop_count', UInt(16), resolveField(vec, loopOp, loopOp.fields.find((f) => f.name === 'count')!, slots));
    const body = m.wire('loop_body', UInt(16), field(vec, 'LOOP', 'body'));
    const bodyEnd = m.wire('loop_body_end', UInt(34), idx.add(1).add(body));
    const pastEnclosing = inLoop.and(bodyEnd.gt(top.end));
    const code8 = (v: number) => lit(v, UInt(8));
    const loopErr = m.wire('loop_err', UInt(8),
      mux(body.eq(0), code8(ERR.loopBody),
        mux(count.eq(0), mux(pastEnclosing, code8(ERR.loopBody), code8(ERR.none)),
          mux(depth.eq(p.loopDepth), code8(ERR.loopDepth), mux(pastEnclosing, code8(ERR.loopBody), code8(ERR.none))))));
    const loopExec = m.wire('loop_exec', Bool, exec.and(is.LOOP!));
    const loopPush = m.wire('loop_push', Bool, loopExec.and(loopErr.eq(0)).and(count.ne(0)));
    const loopSkip = m.wire('loop_skip', Bool, loopExec.and(loopErr.eq(0)).and(count.eq(0)));

    // SYS: setlen writes L[reg]; end checks tokens (after its own waits) and loops, in run()'s order.
    const sysOp = OPS.get('SYS')!;
    const imm = m.wire('setlen_imm', UInt(32), resolveField(vec, sysOp, sysOp.fields.find((f) => f.name === 'imm')!, slots));
    const setlenReg = field(vec, 'SYS', 'reg');
    const setlen = m.wire('setlen', Bool, exec.and(isSetlen));
    const endExec = m.wire('end_exec', Bool, exec.and(isEnd));
    const tokensLeft = any(QUEUES.flatMap((_, pi) => others(pi).map((ci) => (ci === SYS_Q ? tok[pi]![ci]!.ne(iWait.bit(pi)) : tok[pi]![ci]!.ne(0)))));
    const endErr = m.wire('end_err', UInt(8), mux(tokensLeft, code8(ERR.tokens), mux(inLoop, code8(ERR.endInLoop), code8(ERR.none))));
    const endOk = m.wire('end_ok', Bool, endExec.and(endErr.eq(0)));
    const dispBad = m.wire('disp_bad', Bool, ready.and(decBad).or(loopExec.and(loopErr.ne(0))).or(endExec.and(endErr.ne(0))));
    const dispCode = mux(ready.and(decBad), decCode, mux(loopExec, loopErr, endErr));
    stopStarts.assign(engFailed.or(dispBad));

    // ---- watchdog: no dispatch, fetch data or engine activity for watchdogCycles ----------
    const ww = log2Ceil(p.watchdogCycles + 1);
    const watchdog = m.reg('watchdog', UInt(ww));
    // A running engine counts as progress: MPE tiles may run far longer than the watchdog.
    const progress = m.wire('progress', Bool, any([consume, loopIter, loopPop, fetch.out('beat'), anyRunning, ...q.map((x) => x.start)]));
    watchdog.assign(mux(active.not().or(progress), lit(0, UInt(ww)), watchdog.add(1).trunc(ww)));
    const deadlock = m.wire('deadlock', Bool, active.and(watchdog.eq(p.watchdogCycles)).and(progress.not()));
    // Report the first queue head stuck on tokens, else the instruction the dispatcher waits with.
    const deadPc = q.reduceRight<Expr>((acc, x) => mux(x.blocked, x.headPc, acc), mux(have.eq(0), spc, pc));

    // ---- errors and halting -------------------------------------------------------------
    const fail = m.wire('fail', Bool, active.and(engFailed.or(dispBad).or(deadlock)));
    const failCode = q.reduceRight<Expr>((acc, x, k) => mux(x.failed, eng[k]!.errCode, acc), mux(dispBad, dispCode, code8(ERR.deadlock)));
    const failPc = q.reduceRight<Expr>((acc, x) => mux(x.failed, x.instrPc, acc), mux(dispBad, pc, deadPc));
    const halt = m.wire('halt', Bool, fail.or(endOk));
    active.assign(mux(startReq, lit(1, Bool), mux(halt, lit(0, Bool), active)));
    doneFlag.assign(mux(startReq, lit(0, Bool), mux(endOk.and(fail.not()), lit(1, Bool), doneFlag)));
    errFlag.assign(mux(startReq, lit(0, Bool), mux(fail, lit(1, Bool), errFlag)));
    errCode.assign(mux(startReq, code8(0), mux(fail, failCode, errCode)));
    errPc.assign(mux(startReq, lit(0, UInt(32)), mux(fail, failPc, errPc)));
    serial.assign(mux(startReq, csrWrData.bit(1), serial));
    startPc.assign(mux(csrWrite(CSR.START_PC).and(active.not()), csrWrData, startPc));
    cycles.assign(mux(startReq, lit(0, UInt(64)), mux(active, cycles.add(1).trunc(64), cycles)));
    instrs.assign(mux(startReq, lit(0, UInt(32)), mux(exec, instrs.add(1).trunc(32), instrs)));
    lens.forEach((l, i) => l.assign(mux(setlen.and(setlenReg.eq(i)), imm, mux(csrWrite(CSR.LEN0 + i).and(active.not()), csrWrData, l))));

    // ---- token counters -----------------------------------------------------------------
    const sysRelease = m.wire('sys_release', Bool, exec.and(isSetlen.or(isSync)));
    const sysTake = m.wire('sys_take', Bool, exec.and(inDispatcher));
    QUEUES.forEach((_, pi) =>
      others(pi).forEach((ci) => {
        const pe = eng.findIndex((e) => e.q === pi);
        const ce = eng.findIndex((e) => e.q === ci);
        const inc = pe >= 0 ? q[pe]!.ok.and(q[pe]!.release.bit(ci)) : sysRelease.and(iRelease.bit(ci));
        const dec = ce >= 0 ? q[ce]!.start.and(q[ce]!.headWait.bit(pi)) : sysTake.and(iWait.bit(pi));
        const t = tok[pi]![ci]!;
        t.assign(mux(startReq, lit(0, UInt(tw)), t.add(inc).sub(dec).trunc(tw)));
      }),
    );

    // ---- loop stack updates ---------------------------------------------------------------
    level.forEach((l, i) => {
      const push = loopPush.and(depth.eq(i));
      l.pc.assign(mux(push, pc.add(LOOP_WORDS).trunc(32), l.pc));
      l.idx.assign(mux(push, idx.add(1).trunc(32), l.idx));
      l.end.assign(mux(push, bodyEnd.trunc(32), l.end));
      l.left.assign(mux(push, count, mux(loopIter.and(topSel.eq(i)), l.left.sub(1).trunc(16), l.left)));
    });
    depth.assign(mux(startReq, lit(0, UInt(dw)), mux(loopPush, depth.add(1).trunc(dw), mux(loopPop, depth.sub(1).trunc(dw), depth))));
    skipLeft.assign(mux(startReq, lit(0, UInt(16)), mux(loopSkip, body, mux(skip, skipLeft.sub(1).trunc(16), skipLeft))));
    idx.assign(mux(startReq, lit(0, UInt(32)), mux(loopIter, top.idx, mux(consume, idx.add(1).trunc(32), idx))));

    // ---- instruction assembly: pop words into ibuf; a new instruction may begin as one is consumed
    redirect.assign(startReq.or(loopIter));
    target.assign(mux(startReq, startPc, top.pc));
    reuse.assign(loopIter); // a start always refetches: the host may have rewritten the program
    const haveAfter = m.wire('have_after', UInt(4), mux(consume, lit(0, UInt(4)), have));
    popWord.assign(fetch.out('valid').and(active).and(redirect.not()).and(haveAfter.eq(0).or(haveAfter.lt(need))));
    ibuf.forEach((r, i) => {
      ibufLoad[i]!.assign(popWord.and(haveAfter.eq(i)));
      r.assign(fetch.out('word'));
    });
    have.assign(mux(redirect, lit(0, UInt(4)), haveAfter.add(popWord).trunc(4)));
    pc.assign(mux(popWord.and(haveAfter.eq(0)), spc, pc));

    // ---- CSR reads ------------------------------------------------------------------------
    const zero = lit(0, UInt(32));
    const rd: Expr[] = Array.from({ length: CSR.BUSY_SFU + 1 }, () => zero);
    rd[CSR.CTRL] = cat(lit(0, UInt(30)), serial, lit(0, Bool));
    rd[CSR.START_PC] = startPc;
    rd[CSR.STATUS] = cat(lit(0, UInt(29)), errFlag, doneFlag, statusBusy);
    rd[CSR.ERR_CODE] = errCode.ext(32);
    rd[CSR.ERR_PC] = errPc;
    rd[CSR.CYCLES_LO] = cycles.slice(31, 0);
    rd[CSR.CYCLES_HI] = cycles.slice(63, 32);
    rd[CSR.INSTRS] = instrs;
    lens.forEach((l, i) => (rd[CSR.LEN0 + i] = l));
    busyCycles.forEach((b, k) => (rd[CSR.BUSY_LD + k] = b));
    csrRdData.assign(mux(csrAddr.lt(rd.length), select(csrAddr, rd), zero));
    haltedO.assign(active.not());
  },
);
