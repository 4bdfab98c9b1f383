/**
 * The schedule model: the cycles of a program run on flightllm_top, computed the way the
 * controller executes it (docs/accelerator.md, "Controller details"; src/arch/control):
 *
 * - the dispatcher walks the program in order exactly as the golden model's run() does
 *   (LOOP, SYS setlen/sync/end, dyn fields resolved with the length registers), taking one
 *   instruction word per cycle from the prefetch ring: an n-word instruction is dispatched n
 *   cycles after the previous one at the earliest; a LOOP back-jump costs a cycle per loop
 *   level, plus a refetch when the body is no longer in the ring;
 * - LD, ST, MX and SFU instructions go to four in-order queues of `queueDepth` entries (the
 *   dispatcher waits while the target queue is full); a queue starts its head the cycle after
 *   it was pushed at the earliest, when its engine is idle (the cycle after the previous done)
 *   and every token it waits for has been released (the cycle after the releasing
 *   instruction's done); SYS sync and end wait until every queue is empty and every engine idle;
 * - every instruction takes the start-to-done cycles of engines.ts.
 *
 * Because every constraint points backwards in program order, the schedule is one forward pass
 * (an instruction's start depends only on earlier instructions), which is also what makes the
 * model fast enough for 7B-parameter programs. The one interaction it does not follow exactly
 * is the LD engine's stall while the SFU writes the same buffer (a cycle per SFU write cycle
 * that hits the LD's buffer while the LD writes), which the calibration shows is negligible for
 * compiled programs. Token counters are taken as unbounded (the RTL's hold 255: a queue does not
 * start an instruction whose release would overflow one; compiled programs stay far below).
 */
import type { GenConfig } from '../arch/config.ts';
import { resolve } from '../fuzz/analysis.ts';
import type { Instr, InstrOf } from '../isa/instr.ts';
import { LEN_REGS, OPS, QUEUES, type QueueName } from '../isa/table.ts';
import { EngineModel, type EngineName, type InstrCost } from './engines.ts';
import type { MemoryTiming } from './memory.ts';

/** Dispatcher timing constants (cycles), calibrated against the RTL. */
export const DISPATCH_TIMING = {
  /** Cycle of the first word pop after the start, besides the IF latency (fetch issue, AR, ring write). */
  firstPop: 2,
  /** A LOOP back-jump whose target is still in the ring: first pop after the redirect cycle. */
  rewindPop: 1,
  /** A back-jump that refetches: first pop after the redirect cycle, besides the IF latency. */
  refetchPop: 3,
  /**
   * Words before the read pointer the ring still holds at a back-jump: the prefetcher keeps up
   * to half the ring as history and stops while it is ahead by a burst or two, so the history is
   * the 64-word ring less the words prefetched ahead; calibrated (the exact value depends on the fetch
   * state at the jump: see docs/perf.md, residuals).
   */
  ringHistory: 40,
} as const;

const ENGINE_OF: Record<string, EngineName> = { LD: 'ld', ST: 'st', MX: 'mx', SFU: 'sfu' };

export interface EngineTotals {
  readonly ld: number;
  readonly st: number;
  readonly mx: number;
  readonly sfu: number;
}

export interface ClassTotals {
  /** Instructions executed. */
  count: number;
  /** Engine busy cycles. */
  busy: number;
  /** Cycles of the critical path spent in instructions of this class. */
  critical: number;
}

export interface ScheduleResult {
  /** Cycles from the start to SYS end (the CYCLES CSR). */
  readonly cycles: number;
  /** Busy cycles per engine (the BUSY_* CSRs). */
  readonly busy: EngineTotals;
  /** Per report class (LD weight, MV, SFU softmax, ...). */
  readonly classes: Record<string, ClassTotals>;
  /**
   * The critical path by cause, summing to `cycles`: from SYS end back through the constraint
   * that bound each time, the cycles spent in instructions of each class (their engine time),
   * `dispatch` (instruction words, fetch, LOOP back-jumps), `queue full`, `sync` (sync/end
   * waiting for the engines), `handoff` (done to the next start) and `end`.
   */
  readonly critical: Record<string, number>;
  /** External traffic in bytes (whole AXI beats). */
  readonly traffic: { readonly hbmRead: number; readonly hbmWrite: number; readonly ddrRead: number; readonly ddrWrite: number };
  /** MPE multiply-accumulates (non-zero weights x tokens) and issue cycles. */
  readonly macs: number;
  readonly mpeIssueCycles: number;
  /** Instructions executed (engine ones plus SYS and LOOP). */
  readonly instructions: number;
  readonly regs: number[];
}

export interface ScheduleOptions {
  readonly mem: MemoryTiming;
  /** Engine cost model to reuse (its memo) across runs of the same design and memory. */
  readonly engines?: EngineModel;
  /** Give up after this many executed instructions (default 50 M). */
  readonly maxInstrs?: number;
  /** Called with every engine instruction as executed (dyn fields resolved), in program order. */
  readonly onInstr?: (ins: Instr) => void;
}

/** What bounded an instruction's dispatch (exec) cycle and its start cycle. */
type ExecBound = 'stream' | 'queue' | 'sync' | 'token';
type StartBound = 'dispatch' | 'engine' | 'token';

interface Node {
  readonly cls: string;
  /** Dispatch (exec) cycle, what bounded it and the node behind that bound (-1: none). */
  readonly e: number;
  readonly eBound: ExecBound;
  readonly eFrom: number;
  readonly start: number;
  readonly done: number;
  readonly sBound: StartBound;
  readonly sFrom: number;
}

/**
 * Runs `instrs` (a whole program; dyn fields as LenRefs) from static index `start` with length
 * registers `regs` until SYS end, and returns its cycles and where they went.
 */
export function schedule(hw: GenConfig, instrs: readonly Instr[], start: number, regs: readonly number[], opts: ScheduleOptions): ScheduleResult {
  const eng = opts.engines ?? new EngineModel(hw, opts.mem);
  const D = DISPATCH_TIMING;
  const depth = hw.queueDepth;
  const maxInstrs = opts.maxInstrs ?? 50_000_000;
  const L = regs.map((v) => v >>> 0);
  while (L.length < LEN_REGS.length) L.push(0);
  // Word address of every static instruction (for the ring model of back-jumps).
  const wordAt: number[] = new Array(instrs.length + 1);
  wordAt[0] = 0;
  for (let i = 0; i < instrs.length; i++) wordAt[i + 1] = wordAt[i]! + OPS.get(instrs[i]!.op)!.words;

  const nodes: Node[] = [];
  const perEngine: Record<EngineName, number[]> = { ld: [], st: [], mx: [], sfu: [] };
  const busy = { ld: 0, st: 0, mx: 0, sfu: 0 };
  const classes: Record<string, ClassTotals> = {};
  const traffic = { hbmRead: 0, hbmWrite: 0, ddrRead: 0, ddrWrite: 0 };
  let macs = 0;
  let issue = 0;
  // Tokens: per ordered queue pair, the cycle each released token becomes usable and the node
  // that released it, in release order; consumers take them in order (counters).
  const qn = QUEUES.length;
  const tokens: { t: number; node: number }[][] = Array.from({ length: qn * qn }, () => []);
  const tokNext = new Array<number>(qn * qn).fill(0);
  let lastDone = -1;
  let lastDoneNode = -1;
  // Dispatcher: P = cycle of the first word pop of the next instruction, gate = earliest exec
  // besides P + words (cycles spent at LOOP ends), prev = node of the previous exec.
  let P = D.firstPop + opts.mem.ifLatency;
  let gate = 0;
  let prevExec = -1;
  let prev = -1;
  let handed = 0; // words handed out since the last ring flush
  const loops: { start: number; end: number; left: number }[] = [];
  let pc = start;
  let executed = 0;

  const takeToken = (p: number, q: number): { t: number; node: number } => {
    const k = p * qn + q;
    const tok = tokens[k]![tokNext[k]!++];
    if (!tok) throw new Error(`perf model: instruction ${pc} waits for a ${QUEUES[p]} token that was never released (the program would deadlock)`);
    return tok;
  };
  const release = (raw: Instr, q: number, t: number, node: number) => {
    for (const r of raw.release) tokens[q * qn + QUEUES.indexOf(r)]!.push({ t, node });
  };

  for (;;) {
    // LOOP ends: one level per cycle after the body's last exec.
    let levels = 0;
    let jumped = false;
    while (loops.length && pc === loops[loops.length - 1]!.end) {
      const top = loops[loops.length - 1]!;
      levels++;
      if (--top.left > 0) {
        const R = prevExec + levels;
        // The words handed out past the body before the redirect (one per cycle since the exec).
        const back = wordAt[top.end]! - wordAt[top.start]! + levels;
        if (back <= Math.min(handed, D.ringHistory)) P = R + D.rewindPop;
        else {
          P = R + D.refetchPop + opts.mem.ifLatency;
          handed = 0;
        }
        gate = P;
        pc = top.start;
        jumped = true;
        break;
      }
      loops.pop();
    }
    if (!jumped && levels > 0) gate = prevExec + levels + 1;
    const raw = instrs[pc];
    if (!raw) throw new Error(`perf model: ran past the end of the program at instruction ${pc} without SYS end`);
    if (++executed > maxInstrs) throw new Error(`perf model: no SYS end after ${maxInstrs} instructions`);
    const op = OPS.get(raw.op)!;
    const q = QUEUES.indexOf(op.queue as QueueName);
    const words = op.words;
    let e = Math.max(P + words, gate);
    let eBound: ExecBound = 'stream';
    let eFrom = prev;
    const ins = resolve(raw, L);
    let tokT = -Infinity;
    let tokNode = -1;
    for (const w of raw.wait) {
      const tok = takeToken(QUEUES.indexOf(w), q);
      if (tok.t > tokT) {
        tokT = tok.t;
        tokNode = tok.node;
      }
    }
    if (op.queue === 'SYS') {
      if (tokT > e) {
        e = tokT;
        eBound = 'token';
        eFrom = tokNode;
      }
      const waitAll = raw.op === 'SYS' && (raw.fn === 'sync' || raw.fn === 'end');
      if (waitAll && lastDone + 1 > e) {
        e = lastDone + 1;
        eBound = 'sync';
        eFrom = lastDoneNode;
      }
      const idx = nodes.length;
      nodes.push({ cls: raw.op === 'LOOP' ? 'LOOP' : `SYS ${(raw as InstrOf<'SYS'>).fn}`, e, eBound, eFrom, start: e, done: e, sBound: 'dispatch', sFrom: -1 });
      prevExec = e;
      prev = idx;
      P = e;
      gate = 0;
      handed += words;
      if (raw.op === 'SYS' && raw.fn === 'end') return finish(idx);
      if (raw.op === 'LOOP') {
        const count = (ins as { count: number }).count;
        if (count === 0) {
          // A skipped body is still fetched and decoded, one word per cycle.
          let skip = 0;
          for (let i = 1; i <= raw.body; i++) skip += OPS.get(instrs[pc + i]!.op)!.words;
          P = e + skip;
          handed += skip;
          pc += 1 + raw.body;
        } else {
          loops.push({ start: pc + 1, end: pc + 1 + raw.body, left: count });
          pc++;
        }
        continue; // LOOP releases are ignored, as in run()
      }
      if (raw.op === 'SYS' && raw.fn === 'setlen') L[LEN_REGS.indexOf(raw.reg)] = (ins as { imm: number }).imm >>> 0;
      release(raw, q, e + 1, idx);
      pc++;
      continue;
    }
    // An engine instruction: queue room, then engine and tokens.
    const en = ENGINE_OF[op.queue]!;
    const list = perEngine[en];
    if (list.length >= depth) {
      const h = list[list.length - depth]!;
      if (nodes[h]!.start + 1 > e) {
        e = nodes[h]!.start + 1;
        eBound = 'queue';
        eFrom = h;
      }
    }
    const cost: InstrCost = eng.cost(ins);
    opts.onInstr?.(ins);
    let s = e + 1;
    let sBound: StartBound = 'dispatch';
    let sFrom = -1;
    const last = list.length ? list[list.length - 1]! : -1;
    if (last >= 0 && nodes[last]!.done + 1 > s) {
      s = nodes[last]!.done + 1;
      sBound = 'engine';
      sFrom = last;
    }
    if (tokT > s) {
      s = tokT;
      sBound = 'token';
      sFrom = tokNode;
    }
    const done = s + cost.cycles;
    const idx = nodes.length;
    nodes.push({ cls: cost.cls, e, eBound, eFrom, start: s, done, sBound, sFrom });
    list.push(idx);
    busy[en] += cost.cycles;
    const c = (classes[cost.cls] ??= { count: 0, busy: 0, critical: 0 });
    c.count++;
    c.busy += cost.cycles;
    if (cost.space === 'ddr') {
      traffic.ddrRead += cost.readBytes;
      traffic.ddrWrite += cost.writeBytes;
    } else {
      traffic.hbmRead += cost.readBytes;
      traffic.hbmWrite += cost.writeBytes;
    }
    macs += cost.macs;
    issue += cost.issueCycles;
    if (done > lastDone) {
      lastDone = done;
      lastDoneNode = idx;
    }
    release(raw, q, done + 1, idx);
    prevExec = e;
    prev = idx;
    P = e;
    gate = 0;
    handed += words;
    pc++;
  }

  function finish(endNode: number): ScheduleResult {
    const cycles = nodes[endNode]!.e + 1;
    // The critical path: from SYS end back through the constraint that bound each time.
    const critical: Record<string, number> = {};
    const add = (k: string, n: number) => {
      if (n > 0) critical[k] = (critical[k] ?? 0) + n;
    };
    add('end', 1);
    let n = endNode;
    let at: 'done' | 'start' | 'exec' = 'exec';
    while (n >= 0) {
      const x = nodes[n]!;
      if (at === 'done') {
        add(x.cls, x.done - x.start);
        const c = classes[x.cls];
        if (c) c.critical += x.done - x.start;
        at = x.sFrom < 0 && x.sBound === 'dispatch' && x.start === x.e ? 'exec' : 'start';
        continue;
      }
      if (at === 'start') {
        if (x.sBound === 'dispatch') {
          add('dispatch', x.start - x.e);
          at = 'exec';
        } else {
          const f = nodes[x.sFrom]!;
          add('handoff', x.start - f.done);
          n = x.sFrom;
          at = 'done';
        }
        continue;
      }
      // exec
      if (x.eFrom < 0) {
        add('dispatch', x.e);
        break;
      }
      const f = nodes[x.eFrom]!;
      if (x.eBound === 'stream') {
        add('dispatch', x.e - f.e);
        n = x.eFrom;
        at = 'exec';
      } else if (x.eBound === 'queue') {
        add('queue full', x.e - f.start);
        n = x.eFrom;
        at = 'start';
      } else {
        add('sync', x.e - f.done);
        n = x.eFrom;
        at = 'done';
      }
    }
    return { cycles, busy, classes, critical, traffic, macs, mpeIssueCycles: issue, instructions: executed, regs: L };
  }
}
