/**
 * Program runners for differential fuzzing: one interface for the golden model and (plugged in
 * elsewhere) the RTL simulation, and the comparison of two runs down to the first differing byte
 * and the ST instruction that wrote it.
 */
import type { GenConfig } from '../arch/config.ts';
import { MemoryImage, type Space as ExtSpace } from '../compiler/memory.ts';
import { GoldenMachine, MachineError } from '../golden/machine.ts';
import { disassemble } from '../isa/asm.ts';
import { decodeProgram, IsaDecodeError } from '../isa/decode.ts';
import { encodeProgram } from '../isa/encode.ts';
import type { Instr } from '../isa/instr.ts';
import { accessError, analyze, machineOf, resolve, rowBytesOf, transferRows, walk, wordAddresses, type ErrClass } from './analysis.ts';

/** What a runner gets: the binary the hardware fetches and, when it decodes, its instructions. */
export interface RunnerProgram {
  readonly words: Uint8Array;
  /** decodeProgram(words), for runners that want it (undefined when the words do not decode). */
  readonly instrs?: readonly Instr[];
}

export interface RunResult {
  readonly status: 'done' | 'error';
  /** External memory after the run (a new image; the input image is left alone). */
  readonly memory: MemoryImage;
  /** With status error: an ERR code name (src/arch/control/status.ts) or a harness class ('external', 'timeout', ...). */
  readonly errClass?: ErrClass | string;
  /** With status error: word address of the failing instruction (ERR_PC), when known. */
  readonly errPc?: number;
  /** Free text (error message, runner notes). */
  readonly message?: string;
  readonly cycles?: number;
}

/**
 * Runs a program from word address 0 on a fresh machine (buffers and length registers zero)
 * with the given external memory until SYS end or the first error.
 */
export interface ProgramRunner {
  readonly name: string;
  run(hw: GenConfig, program: RunnerProgram, memory: MemoryImage): Promise<RunResult>;
}

export function copyMemory(m: MemoryImage): MemoryImage {
  const out = new MemoryImage(m.hbm.length, m.ddr.length);
  out.hbm.set(m.hbm);
  out.ddr.set(m.ddr);
  return out;
}

/** The ERR class of a golden-model error message (the part after the instruction). */
export function classifyMessage(detail: string): ErrClass {
  const rules: [RegExp, ErrClass][] = [
    [/waits for a \w+ token/, 'deadlock'],
    [/unconsumed tokens/, 'tokens'],
    [/SYS end inside a LOOP/, 'endInLoop'],
    [/LOOP body (must hold|runs past)/, 'loopBody'],
    [/LOOPs nest deeper/, 'loopDepth'],
    [/ran past the end of the program/, 'opcode'],
    [/no SYS end after/, 'timeout'],
    [/^access:|cannot (read|write|access)|not accessible/, 'access'],
    [/-byte image/, 'external'],
    [/-element buffer/, 'range'],
    [/whole beats|is not a multiple of the (window|beat) size/, 'align'],
    [/mode table|KV operands are dense/, 'pattern'],
    [/group multiplier 0/, 'grpZero'],
    [/grp applies|int4 rows|fp16|dpitch|ewr|erd|rope head size|empty rows/, 'format'],
    [/unknown opcode|truncated instruction/, 'opcode'],
    [/reserved bits|dyn slot|own queue/, 'reserved'],
    [/out of range \(/, 'enumValue'],
  ];
  for (const [re, cls] of rules) if (re.test(detail)) return cls;
  return 'unknown';
}

function machineErrorDetail(e: MachineError): string {
  const prefix = e.instr ? `instruction ${e.index} (${disassemble([e.instr]).trim()}): ` : `instruction ${e.index}: `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

export interface GoldenRunnerOptions {
  readonly name?: string;
  /** Dispatch limit (default 2e6). */
  readonly maxInstructions?: number;
  /**
   * Called after every executed LD/ST/MV/MM/SFU (dyn fields resolved with the machine's
   * registers): tests use it to build deliberately broken runners.
   */
  readonly afterExec?: (m: GoldenMachine, ins: Instr) => void;
}

/**
 * The golden model as a runner: decodes the words (as the hardware fetches them), runs
 * GoldenMachine, and reports errors with the hardware's classes. It adds the buffer access
 * rights of accelGeometry, which the hardware checks first and GoldenMachine does not check.
 */
export class GoldenRunner implements ProgramRunner {
  readonly name: string;

  constructor(readonly opts: GoldenRunnerOptions = {}) {
    this.name = opts.name ?? 'golden';
  }

  async run(hw: GenConfig, program: RunnerProgram, memory: MemoryImage): Promise<RunResult> {
    return this.runSync(hw, program, memory);
  }

  runSync(hw: GenConfig, program: RunnerProgram, memory: MemoryImage): RunResult {
    const mem = copyMemory(memory);
    let instrs: Instr[];
    try {
      instrs = decodeProgram(program.words);
    } catch (e) {
      if (!(e instanceof IsaDecodeError)) throw e;
      return { status: 'error', memory: mem, errClass: classifyMessage(e.detail), errPc: e.offset / 4, message: e.message };
    }
    const m = new GoldenMachine(hw, mem);
    // GoldenMachine.exec is private; wrapping it on this instance adds the access checks
    // (suggested for src/golden/machine.ts itself) and the afterExec hook.
    const target = m as unknown as { exec: (ins: Instr) => void; regs: number[] };
    const exec = target.exec;
    if (typeof exec !== 'function') throw new Error('GoldenMachine has no exec method to wrap (update src/fuzz/runner.ts)');
    const after = this.opts.afterExec;
    target.exec = function (this: GoldenMachine, ins: Instr) {
      const denied = accessError(hw, ins);
      if (denied) throw new Error(`access: ${denied}`);
      exec.call(this, ins);
      if (after && ins.op !== 'SYS') after(this, resolve(ins, (this as unknown as { regs: number[] }).regs));
    };
    const addrs = wordAddresses(instrs);
    try {
      m.run(instrs, 0, this.opts.maxInstructions ?? 2_000_000);
      return { status: 'done', memory: mem };
    } catch (e) {
      if (!(e instanceof MachineError)) throw e;
      const detail = machineErrorDetail(e);
      return { status: 'error', memory: mem, errClass: classifyMessage(detail), errPc: addrs[e.index], message: e.message };
    }
  }
}

/**
 * Checks that a program is a valid fuzzing program: the dispatch walk reaches SYS end with every
 * token consumed; every conflicting access pair is ordered, so every schedule gives the same
 * result (`races`, default on); no instruction reads a buffer element nothing wrote before
 * (`uninit`, default on); it encodes; and the golden model runs it without error (`golden`,
 * default on). Returns the first problem, or undefined.
 */
export function programProblem(hw: GenConfig, instrs: readonly Instr[], memory: MemoryImage, opts: { uninit?: boolean; races?: boolean; golden?: boolean; maxSteps?: number; maxWork?: number } = {}): string | undefined {
  let an;
  try {
    an = analyze(hw, instrs, { uninit: opts.uninit ?? true, races: opts.races ?? true, collect: false, maxSteps: opts.maxSteps ?? 100_000, maxWork: opts.maxWork ?? 5e6 });
  } catch (e) {
    return `analysis failed: ${(e as Error).message}`;
  }
  if (an.walk.error) return `dispatch: ${an.walk.error.message} (instruction ${an.walk.error.pc})`;
  if (an.tooBig) return `too much work for a fuzzing program: ${an.tooBig}`;
  if (an.race) return `race: ${an.race.kind} on ${an.race.space}[${an.race.addr}] between instructions ${an.race.a} and ${an.race.b}`;
  if (an.uninit) return `instruction ${an.uninit.pc} reads ${an.uninit.space}[${an.uninit.addr}], which nothing wrote before`;
  let words: Uint8Array;
  try {
    words = encodeProgram(instrs);
  } catch (e) {
    return `encode: ${(e as Error).message}`;
  }
  if (opts.golden === false) return undefined;
  const r = new GoldenRunner().runSync(hw, { words }, memory);
  if (r.status !== 'done') return `golden: ${r.message}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Comparison

export interface StoreSite {
  /** Static index of the ST instruction and its disassembly. */
  readonly index: number;
  readonly text: string;
  /** Which execution of it (0-based; > 0 inside LOOPs) and which row of its loop nest. */
  readonly execution: number;
  readonly row: readonly [number, number, number];
  /** The buffer element whose value went to the byte. */
  readonly buf: string;
  readonly element: number;
}

export interface Mismatch {
  readonly kind: 'status' | 'errClass' | 'errPc' | 'memorySize' | 'memory';
  /** One line for logs and READMEs. */
  readonly text: string;
  readonly expected?: string | number;
  readonly actual?: string | number;
  readonly space?: ExtSpace;
  readonly addr?: number;
  /** Differing bytes in total (memory mismatches). */
  readonly bytes?: number;
  /** The last ST (in program order) whose row covers the first differing byte. */
  readonly writer?: StoreSite;
}

export interface CompareContext {
  readonly hw: GenConfig;
  /** The program's instructions (to find the ST that wrote a differing byte). */
  readonly instrs?: readonly Instr[];
  /** Compare ERR_PC when both runs report it (default true; never for deadlocks). */
  readonly comparePc?: boolean;
  /** Compare memory also when both runs stop with the same error (default false). */
  readonly memoryOnError?: boolean;
  /** Names for the texts (default expected/actual). */
  readonly names?: readonly [string, string];
}

/** The last executed ST whose external row covers `addr` in `space`. */
export function findStore(hw: GenConfig, instrs: readonly Instr[], space: ExtSpace, addr: number): StoreSite | undefined {
  const w = walk(instrs, { tokens: false });
  let found: StoreSite | undefined;
  const seen = new Map<number, number>();
  const modes = machineOf(hw).modes;
  for (const { pc, ins } of w.steps) {
    if (ins.op !== 'ST') continue;
    const n = seen.get(pc) ?? 0;
    seen.set(pc, n + 1);
    if (ins.space !== space) continue;
    const len = ins.len as number;
    const rb = rowBytesOf(ins, len);
    let rows;
    try {
      rows = transferRows(hw, ins);
    } catch {
      continue;
    }
    for (const row of rows) {
      if (addr < row.ea || addr >= row.ea + rb) continue;
      const bits = { int4: 4, int8: 8, int16: 16, int32: 32 }[ins.dtype];
      const j = Math.floor(((addr - row.ea) * 8) / bits);
      found = { index: pc, text: disassemble([instrs[pc]!], { modes }).trim(), execution: n, row: row.i, buf: ins.buf, element: row.sa + j };
    }
  }
  return found;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The first difference between two runs of one program, or undefined when they agree. */
export function compareRuns(expected: RunResult, actual: RunResult, ctx: CompareContext): Mismatch | undefined {
  const [en, an] = ctx.names ?? ['expected', 'actual'];
  if (expected.status !== actual.status) {
    const what = (r: RunResult) => (r.status === 'done' ? 'done' : `error ${r.errClass ?? '?'}${r.errPc !== undefined ? ` at word ${r.errPc}` : ''}${r.message ? ` (${r.message})` : ''}`);
    return { kind: 'status', expected: expected.status, actual: actual.status, text: `status: ${en} ${what(expected)}, ${an} ${what(actual)}` };
  }
  if (expected.status === 'error') {
    if (expected.errClass !== actual.errClass) return { kind: 'errClass', expected: expected.errClass, actual: actual.errClass, text: `error class: ${en} ${expected.errClass} (${expected.message ?? ''}), ${an} ${actual.errClass} (${actual.message ?? ''})` };
    const pc = (ctx.comparePc ?? true) && expected.errClass !== 'deadlock' && expected.errClass !== 'timeout';
    if (pc && expected.errPc !== undefined && actual.errPc !== undefined && expected.errPc !== actual.errPc) {
      return { kind: 'errPc', expected: expected.errPc, actual: actual.errPc, text: `error ${expected.errClass} at word ${expected.errPc} (${en}) vs word ${actual.errPc} (${an})` };
    }
    if (!ctx.memoryOnError) return undefined;
  }
  for (const space of ['hbm', 'ddr'] as const) {
    const a = expected.memory.space(space);
    const b = actual.memory.space(space);
    if (a.length !== b.length) return { kind: 'memorySize', space, expected: a.length, actual: b.length, text: `${space} image: ${en} ${a.length} bytes, ${an} ${b.length}` };
  }
  for (const space of ['hbm', 'ddr'] as const) {
    const a = expected.memory.space(space);
    const b = actual.memory.space(space);
    let first = -1;
    let count = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) {
        if (first < 0) first = i;
        count++;
      }
    }
    if (first < 0) continue;
    const writer = ctx.instrs ? findStore(ctx.hw, ctx.instrs, space, first) : undefined;
    const where = writer
      ? `written by instruction ${writer.index}${writer.execution ? ` (execution ${writer.execution})` : ''}, row [${writer.row.join(',')}], from ${writer.buf}[${writer.element}]: ${writer.text}`
      : 'not written by any ST (input data, or a write past the stored rows)';
    return {
      kind: 'memory', space, addr: first, bytes: count, expected: a[first]!, actual: b[first]!, writer,
      text: `${space} byte ${hex(first)}: ${en} ${hex(a[first]!)}, ${an} ${hex(b[first]!)} (${count} byte(s) differ); ${where}`,
    };
  }
  return undefined;
}

/** Runs a program's words with a runner, turning runner exceptions into error results. */
export async function runSafely(runner: ProgramRunner, hw: GenConfig, words: Uint8Array, memory: MemoryImage): Promise<RunResult> {
  let instrs: Instr[] | undefined;
  try {
    instrs = decodeProgram(words);
  } catch {
    instrs = undefined;
  }
  try {
    return await runner.run(hw, { words, instrs }, memory);
  } catch (e) {
    return { status: 'error', memory: copyMemory(memory), errClass: 'crash', message: `${runner.name} threw: ${(e as Error).stack ?? e}` };
  }
}
