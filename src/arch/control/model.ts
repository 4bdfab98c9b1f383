/**
 * Word-level reference of the controller's dispatcher: walks a program in memory exactly as
 * the golden model's run() does (LOOP, SYS, tokens, dyn fields), but on the binary, with the
 * controller's decode checks and error codes. It lists what each engine queue receives
 * (resolved, slots cleared) in program order, so a test can compare the RTL with it.
 */
import { getBits, putBits } from '../../isa/encode.ts';
import { dynFields, HEADER, layoutFields, OPS_BY_CODE, QUEUES, SYS_OPS, slices, usedMasks, type FieldSpec, type OpSpec } from '../../isa/table.ts';
import { queueInstrBits } from '../../isa/hdl-fields.ts';
import { ERR } from './status.ts';

export type EngineQueue = 'LD' | 'ST' | 'MX' | 'SFU';
export const ENGINE_QUEUES: readonly EngineQueue[] = ['LD', 'ST', 'MX', 'SFU'];

export interface Dispatched {
  /** Word address of the instruction. */
  readonly pc: number;
  /** The instruction as the engine sees it (queueInstrBits / 32 words, dyn fields resolved, slots cleared). */
  readonly words: Uint32Array;
  /** Position among all engine dispatches, in program order. */
  readonly seq: number;
  /** SYS syncs executed before it. */
  readonly epoch: number;
  readonly wait: number;
  readonly release: number;
}

export type Outcome = { readonly kind: 'done' } | { readonly kind: 'error'; readonly code: number; readonly pc: number };

export interface DispatchTrace {
  readonly queues: Record<EngineQueue, Dispatched[]>;
  /** Length registers at the end. */
  readonly regs: number[];
  /** Instructions executed (the INSTRS register: LOOP and SYS included, skipped bodies not). */
  readonly instrs: number;
  /** Back-jumps of LOOPs (the controller refetches each). */
  readonly iterations: number;
  readonly outcome: Outcome;
}

const fieldOf = (op: OpSpec, name: string): FieldSpec => op.fields.find((f) => f.name === name)!;

function slotsOf(op: OpSpec): { index: FieldSpec; reg: FieldSpec }[] {
  const all = layoutFields(op);
  return Array.from({ length: op.slots }, (_, s) => ({ index: all.find((f) => f.name === `dyn${s}.field`)!, reg: all.find((f) => f.name === `dyn${s}.reg`)! }));
}

/** Clears a field's bits, then writes `v`. */
function setBits(words: Uint32Array, f: FieldSpec, v: number): void {
  for (const s of slices(f)) words[s.word] = (words[s.word]! & ~(((2 ** s.width - 1) << s.lsb) >>> 0)) >>> 0;
  putBits(words, f, v);
}

/**
 * The controller's decode checks (the rules of src/isa/decode.ts): returns the op and its
 * words, or the error code. Malformed encodings other than enums are ERR.reserved.
 */
export function checkInstr(read: (addr: number) => number, pc: number): { op: OpSpec; words: Uint32Array; code: 0 } | { code: number } {
  const op = OPS_BY_CODE.get(read(pc) & 0xf);
  if (!op) return { code: ERR.opcode };
  const words = Uint32Array.from({ length: op.words }, (_, i) => read(pc + i) >>> 0);
  const masks = usedMasks(op);
  if (words.some((w, i) => (w & ~masks[i]!) >>> 0)) return { code: ERR.reserved };
  const own = 1 << QUEUES.indexOf(op.queue);
  if (getBits(words, HEADER[1]) & own || getBits(words, HEADER[2]) & own) return { code: ERR.reserved };
  const dyn = dynFields(op).length;
  let last = 0;
  for (const s of slotsOf(op)) {
    const index = getBits(words, s.index);
    const reg = getBits(words, s.reg);
    if (index === 0) {
      if (reg !== 0) return { code: ERR.reserved };
      last = dyn + 1;
    } else if (index > dyn || index <= last) return { code: ERR.reserved };
    else last = index;
  }
  for (const f of op.fields) if (f.kind === 'enum' && getBits(words, f) >= f.values!.length) return { code: ERR.enumValue };
  return { op, words, code: 0 };
}

/** The instruction with each slot's field replaced by (L[reg] + field) mod 2^width and the slots cleared. */
export function resolveWords(op: OpSpec, words: Uint32Array, regs: readonly number[]): Uint32Array {
  const out = Uint32Array.from(words);
  const dyn = dynFields(op);
  for (const s of slotsOf(op)) {
    const index = getBits(words, s.index);
    if (index > 0) {
      const f = dyn[index - 1]!;
      setBits(out, f, (getBits(words, f) + regs[getBits(words, s.reg)]!) % 2 ** f.width);
    }
    setBits(out, s.index, 0);
    setBits(out, s.reg, 0);
  }
  return out;
}

export interface ModelOptions {
  readonly loopDepth: number;
  /** Give up (throw) after this many executed instructions. */
  readonly maxInstrs?: number;
}

/** Runs the dispatcher on the words `read` returns, from `startPc`, with length registers `lens`. */
export function dispatchModel(read: (addr: number) => number, startPc: number, lens: readonly number[], opts: ModelOptions): DispatchTrace {
  const regs = lens.map((v) => v >>> 0);
  const queues: Record<EngineQueue, Dispatched[]> = { LD: [], ST: [], MX: [], SFU: [] };
  const tok = QUEUES.map(() => QUEUES.map(() => 0));
  const loops: { pc: number; idx: number; end: number; left: number }[] = [];
  const maxInstrs = opts.maxInstrs ?? 1_000_000;
  let pc = startPc >>> 0;
  let idx = 0;
  let instrs = 0;
  let iterations = 0;
  let epoch = 0;
  let seq = 0;
  const finish = (outcome: Outcome): DispatchTrace => ({ queues, regs, instrs, iterations, outcome });
  const fail = (code: number, at: number) => finish({ kind: 'error', code, pc: at >>> 0 });
  for (;;) {
    while (loops.length && idx === loops[loops.length - 1]!.end) {
      const top = loops[loops.length - 1]!;
      if (--top.left > 0) {
        pc = top.pc;
        idx = top.idx;
        iterations++;
      } else loops.pop();
    }
    const c = checkInstr(read, pc);
    if (!('op' in c)) return fail(c.code, pc);
    const { op, words } = c;
    if (instrs >= maxInstrs) throw new Error(`dispatch model: no SYS end after ${maxInstrs} instructions`);
    const q = QUEUES.indexOf(op.queue);
    const wait = getBits(words, HEADER[1]);
    const release = getBits(words, HEADER[2]);
    // run() takes every wait in program order; a missing token is a deadlock for the hardware.
    for (let p = 0; p < QUEUES.length; p++) {
      if (!(wait & (1 << p))) continue;
      if (tok[p]![q]! <= 0) return fail(ERR.deadlock, pc);
      tok[p]![q]!--;
    }
    instrs++;
    const resolved = resolveWords(op, words, regs);
    if (op.queue !== 'SYS') {
      const padded = new Uint32Array(queueInstrBits(op.queue) / 32);
      padded.set(resolved);
      queues[op.queue as EngineQueue].push({ pc, words: padded, seq: seq++, epoch, wait, release });
    } else if (op.name === 'LOOP') {
      const count = getBits(resolved, fieldOf(op, 'count'));
      const body = getBits(words, fieldOf(op, 'body'));
      if (body < 1) return fail(ERR.loopBody, pc);
      const end = idx + 1 + body;
      const past = loops.length > 0 && end > loops[loops.length - 1]!.end;
      if (count === 0) {
        // Skipped instructions are still fetched and decoded (the controller needs their lengths).
        if (past) return fail(ERR.loopBody, pc);
        let at = pc + op.words;
        for (let i = 0; i < body; i++) {
          const s = checkInstr(read, at);
          if (!('op' in s)) return fail(s.code, at);
          at += s.op.words;
        }
        pc = at >>> 0;
        idx = end;
        continue;
      }
      if (loops.length >= opts.loopDepth) return fail(ERR.loopDepth, pc);
      if (past) return fail(ERR.loopBody, pc);
      loops.push({ pc: pc + op.words, idx: idx + 1, end, left: count });
      pc += op.words;
      idx++;
      continue; // LOOP releases are ignored, as in run()
    } else {
      const fn = SYS_OPS[getBits(words, fieldOf(op, 'fn'))];
      if (fn === 'end') {
        if (tok.some((row) => row.some((n) => n !== 0))) return fail(ERR.tokens, pc);
        if (loops.length) return fail(ERR.endInLoop, pc);
        return finish({ kind: 'done' });
      }
      if (fn === 'setlen') regs[getBits(words, fieldOf(op, 'reg'))] = getBits(resolved, fieldOf(op, 'imm'));
      else epoch++;
    }
    for (let r = 0; r < QUEUES.length; r++) if (release & (1 << r)) tok[q]![r]!++;
    pc = (pc + op.words) >>> 0;
    idx++;
  }
}
