/**
 * Static and dynamic analysis of programs for the fuzzer: field resolution (dyn fields), a
 * dispatch walk that follows LOOP/SYS exactly as the golden model and the controller do, the
 * buffer and external-memory footprint of every executed instruction, the error checks of the
 * engines (which instruction the hardware refuses, and with which ERR class), a race detector
 * over the four engine queues (is the result the same for every legal schedule?), a check that
 * no instruction reads a buffer element nothing wrote before, and token assignment.
 *
 * Schedule model (docs/accelerator.md): each of LD, ST, MX, SFU runs its instructions in order,
 * one at a time; a wait on the pair p>c takes the token of the k-th release on p>c, so the k-th
 * waiting instruction starts after the k-th releasing one is done; SYS sync and end wait until
 * everything dispatched before is done. Setlen and LOOP act at dispatch, in program order.
 */
import type { GenConfig } from '../arch/config.ts';
import { accelGeometry, type AccelGeometry, type BufferName } from '../arch/mmu/buffers.ts';
import type { ErrName } from '../arch/control/status.ts';
import { isLenRef, type Instr, type InstrOf } from '../isa/instr.ts';
import { LEN_REGS, OPS, QUEUES, dynFields, type FieldSpec, type QueueName } from '../isa/table.ts';
import { weightStreamBytes } from '../numerics/quant.ts';
import { chainGeometry, modeTable, type Pattern } from '../sparsity/pattern.ts';

/** An error class: a code name of ERR (src/arch/control/status.ts) or a harness-side class. */
export type ErrClass = Exclude<ErrName, 'none'> | 'external' | 'timeout' | 'grpZero' | 'unknown';

/** The golden model's loop nesting limit (it does not read GenConfig.loopDepth). */
export const GOLDEN_LOOP_DEPTH = 4;
/** Row-scale slot entries of the SFU (src/golden/machine.ts ROW_SCALE_ENTRIES). */
export const ROW_SCALE_ROWS = 256;

const DTYPE_BITS = { int4: 4, int8: 8, int16: 16, int32: 32 } as const;
export const dtypeBits = (d: keyof typeof DTYPE_BITS): number => DTYPE_BITS[d];

const DYN = new Map<string, FieldSpec[]>([...OPS.values()].map((o) => [o.name, dynFields(o)]));
export function dynFieldsOf(op: string): FieldSpec[] {
  return DYN.get(op) ?? [];
}

export const mod = (x: number, m: number): number => ((x % m) + m) % m;

/** The instruction with every dyn field replaced by its dispatch value (L[r] + offset mod 2^width). */
export function resolve<I extends Instr>(ins: I, regs: ArrayLike<number>): I {
  let out: Record<string, unknown> | undefined;
  for (const f of dynFieldsOf(ins.op)) {
    const v = (ins as unknown as Record<string, unknown>)[f.name];
    if (!isLenRef(v)) continue;
    out ??= { ...ins };
    out[f.name] = mod(regs[v.reg]! + v.offset, 2 ** f.width);
  }
  return (out ?? ins) as I;
}

export const queueOf = (ins: Instr): QueueName => OPS.get(ins.op)!.queue;
export const ENGINE_QUEUES = ['LD', 'ST', 'MX', 'SFU'] as const;

// ---------------------------------------------------------------------------------------------
// Dispatch walk

export interface Step {
  /** Static index of the instruction. */
  readonly pc: number;
  /** The instruction with its dyn fields resolved. */
  readonly ins: Instr;
}

export interface WalkError {
  readonly cls: ErrClass;
  readonly pc: number;
  readonly message: string;
}

export interface WalkResult {
  readonly steps: Step[];
  readonly regs: number[];
  /** Index after SYS end (when the walk reached it). */
  readonly end?: number;
  readonly error?: WalkError;
}

export interface WalkOptions {
  readonly regs?: readonly number[];
  /** Check the token discipline as the golden model does (default true). */
  readonly tokens?: boolean;
  /** Stop after this many dispatched instructions (default 200000). */
  readonly maxSteps?: number;
  readonly loopDepth?: number;
}

/** Follows the dispatcher through `instrs` (LOOP, SYS, tokens) without executing anything. */
export function walk(instrs: readonly Instr[], opts: WalkOptions = {}): WalkResult {
  const regs = opts.regs ? [...opts.regs] : new Array<number>(LEN_REGS.length).fill(0);
  const steps: Step[] = [];
  const tokens = new Map<string, number>();
  const checkTokens = opts.tokens ?? true;
  const maxSteps = opts.maxSteps ?? 200_000;
  const depth = opts.loopDepth ?? GOLDEN_LOOP_DEPTH;
  const loops: { start: number; end: number; left: number }[] = [];
  const fail = (cls: ErrClass, pc: number, message: string): WalkResult => ({ steps, regs, error: { cls, pc, message } });
  let pc = 0;
  for (;;) {
    while (loops.length && pc === loops[loops.length - 1]!.end) {
      const top = loops[loops.length - 1]!;
      if (--top.left > 0) pc = top.start;
      else loops.pop();
    }
    const raw = instrs[pc];
    if (!raw) return fail('opcode', pc, 'ran past the end of the program without SYS end');
    if (steps.length >= maxSteps) return fail('timeout', pc, `no SYS end after ${maxSteps} instructions`);
    const queue = queueOf(raw);
    if (checkTokens) {
      for (const q of raw.wait) {
        const k = `${q}>${queue}`;
        const n = tokens.get(k) ?? 0;
        if (n <= 0) return fail('deadlock', pc, `waits for a ${q} token that no earlier instruction released`);
        tokens.set(k, n - 1);
      }
    }
    const ins = resolve(raw, regs);
    steps.push({ pc, ins });
    if (ins.op === 'SYS' && ins.fn === 'end') {
      const left = [...tokens].filter(([, n]) => n !== 0);
      if (checkTokens && left.length) return fail('tokens', pc, `block ends with unconsumed tokens ${left.map(([k, n]) => `${k}:${n}`).join(', ')}`);
      if (loops.length) return fail('endInLoop', pc, 'SYS end inside a LOOP body');
      return { steps, regs, end: pc + 1 };
    }
    if (ins.op === 'LOOP') {
      const count = ins.count as number;
      if (ins.body < 1) return fail('loopBody', pc, 'LOOP body must hold at least one instruction');
      if (count === 0) pc += 1 + ins.body;
      else {
        if (loops.length >= depth) return fail('loopDepth', pc, `LOOPs nest deeper than ${depth}`);
        const end = pc + 1 + ins.body;
        if (loops.length && end > loops[loops.length - 1]!.end) return fail('loopBody', pc, 'LOOP body runs past the enclosing body');
        loops.push({ start: pc + 1, end, left: count });
        pc += 1;
      }
      continue;
    }
    if (ins.op === 'SYS' && ins.fn === 'setlen') regs[LEN_REGS.indexOf(ins.reg)] = ins.imm as number;
    for (const q of raw.release) {
      const k = `${queue}>${q}`;
      tokens.set(k, (tokens.get(k) ?? 0) + 1);
    }
    pc++;
  }
}

// ---------------------------------------------------------------------------------------------
// Footprints

export type Space = BufferName | 'hbm' | 'ddr';

export interface Access {
  readonly space: Space;
  /** Element range [lo, hi) of a buffer (weight/meta: lanes, beat * C*L + lane), or bytes of an external space. */
  readonly lo: number;
  readonly hi: number;
  readonly write: boolean;
}

export interface Machine {
  readonly hw: GenConfig;
  readonly geo: AccelGeometry;
  readonly modes: Pattern[];
}

const MACHINES = new WeakMap<GenConfig, Machine>();
export function machineOf(hw: GenConfig): Machine {
  let m = MACHINES.get(hw);
  if (!m) MACHINES.set(hw, (m = { hw, geo: accelGeometry(hw), modes: modeTable(hw.sparsity) }));
  return m;
}

/** Bytes of one external row of an LD/ST. */
export function rowBytesOf(ins: InstrOf<'LD'> | InstrOf<'ST'>, len: number): number {
  const bits = DTYPE_BITS[ins.dtype];
  return ins.grp ? weightStreamBytes(len, bits === 4 ? 'int4' : 'int8', true) : Math.ceil((len * bits) / 8);
}

export interface Row {
  readonly i: readonly [number, number, number];
  /** External byte address and on-chip element address (lanes for weight/meta). */
  readonly ea: number;
  readonly sa: number;
}

/** The rows of a resolved LD/ST in execution order (at most `limit`). */
export function transferRows(hw: GenConfig, ins: InstrOf<'LD'> | InstrOf<'ST'>, limit = 1 << 20): Row[] {
  const CL = hw.chains * hw.chainLength;
  const unit = ins.buf === 'weight' || ins.buf === 'meta' ? CL : 1;
  const c = [ins.count0 as number, ins.count1 as number, ins.count2 as number];
  if (c[0]! * c[1]! * c[2]! > limit) throw new RangeError(`transfer of ${c[0]! * c[1]! * c[2]!} rows is past the analysis limit ${limit}`);
  const rows: Row[] = [];
  for (let i2 = 0; i2 < c[2]!; i2++) {
    for (let i1 = 0; i1 < c[1]!; i1++) {
      for (let i0 = 0; i0 < c[0]!; i0++) {
        const ea = (ins.addr as number) + i2 * ins.estride2 + i1 * ins.estride1 + i0 * ins.estride0;
        const sa = ((ins.sram as number) + i2 * ins.istride2 + i1 * ins.istride1 + i0 * ins.istride0) * unit;
        rows.push({ i: [i2, i1, i0], ea, sa });
      }
    }
  }
  return rows;
}

/** MV/MM tile geometry of a resolved instruction (undefined when the pattern is not in the table). */
export function tileOf(m: Machine, ins: InstrOf<'MM'> | InstrOf<'MV'>) {
  const pattern = m.modes[ins.pattern];
  if (pattern === undefined) return undefined;
  const L = m.hw.chainLength;
  const g = chainGeometry(pattern, L, m.hw.groupSize);
  const cols = (ins.op === 'MM' ? ins.k : ins.cols) as number;
  const rows = (ins.op === 'MM' ? ins.n : ins.rows) as number;
  const tokens = ins.op === 'MM' ? (ins.m as number) : 1;
  const windows = Math.ceil(cols / L);
  const batches = Math.ceil(rows / (m.hw.chains * g.segments));
  return { pattern, cols, rows, tokens, windows, batches, beats: batches * windows };
}

/** Which elements operand b of an SFU op covers (relative to b), or 0 when b is unused. */
export function sfuBLength(ins: InstrOf<'SFU'>): number {
  const len = ins.len as number;
  const rows = ins.rows as number;
  switch (ins.fn) {
    case 'add':
    case 'mul':
      return len * rows;
    case 'rmsnorm':
    case 'layernorm':
      return len;
    case 'rope':
      return Math.floor(ins.imm / 2);
    case 'requant':
      return ins.imm === 0 ? len : 0;
    default:
      return 0;
  }
}

export const sfuUsesB = (ins: InstrOf<'SFU'>): boolean => ['add', 'mul', 'rmsnorm', 'layernorm', 'rope'].includes(ins.fn) || (ins.fn === 'requant' && ins.imm === 0);

/** Every buffer/external range a resolved instruction reads or writes when it runs without error. */
export function footprint(hw: GenConfig, ins: Instr): Access[] {
  const m = machineOf(hw);
  const out: Access[] = [];
  const add = (space: Space, lo: number, n: number, write: boolean) => {
    if (n > 0) out.push({ space, lo, hi: lo + n, write });
  };
  switch (ins.op) {
    case 'LD':
    case 'ST': {
      const load = ins.op === 'LD';
      const len = ins.len as number;
      const rb = rowBytesOf(ins, len);
      for (const r of transferRows(hw, ins)) {
        add(ins.space, r.ea, rb, !load);
        add(ins.buf, r.sa, len, load);
      }
      break;
    }
    case 'MM':
    case 'MV': {
      const t = tileOf(m, ins);
      if (!t || t.windows * t.batches * t.tokens === 0) break;
      const { CL, L } = m.geo;
      const wbase = ins.wbase as number;
      const wBeat = ins.wsrc === 'kv' ? Math.floor(wbase / CL) : wbase;
      add(ins.asrc, ins.abase as number, t.tokens * t.windows * L, false);
      add(ins.wsrc, wBeat * CL, t.beats * CL, false);
      if (ins.wsrc === 'weight' && t.pattern !== 'dense') add('meta', ins.mbase * CL, t.beats * CL, false);
      if (ins.acc) add('acc', ins.obase as number, t.tokens * t.rows, false);
      add('acc', ins.obase as number, t.tokens * t.rows, true);
      break;
    }
    case 'SFU': {
      const len = ins.len as number;
      const rows = ins.rows as number;
      const n = len * rows;
      if (n === 0) break;
      add(ins.abuf, ins.a as number, n, false);
      if (sfuUsesB(ins)) add(ins.bbuf, ins.b as number, sfuBLength(ins), false);
      const dp = ins.dpitch || len;
      if (dp === len) add(ins.dbuf, ins.d as number, n, true);
      else for (let i = 0; i < rows; i++) add(ins.dbuf, (ins.d as number) + i * dp, len, true);
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Engine error checks

export interface InstrError {
  readonly cls: ErrClass;
  readonly message: string;
}

/** Sizes of the external spaces (bytes); Infinity skips the external range check. */
export interface ExtSizes {
  readonly hbm: number;
  readonly ddr: number;
}

/** Buffer `buf` may be touched by this engine access (src/arch/mmu/buffers.ts flags). */
export function accessError(hw: GenConfig, ins: Instr): string | undefined {
  const b = machineOf(hw).geo.buffers;
  switch (ins.op) {
    case 'LD':
      return b[ins.buf].ld ? undefined : `the LD engine cannot write the ${ins.buf} buffer`;
    case 'ST':
      return b[ins.buf].st ? undefined : `the ST engine cannot read the ${ins.buf} buffer`;
    case 'MM':
    case 'MV':
      if (!b[ins.asrc].mxRow || ins.asrc !== 'act') return `the MX engine reads activations from the act buffer only, not ${ins.asrc}`;
      return b[ins.wsrc].mxRow ? undefined : `the MX engine cannot read weights from ${ins.wsrc}`;
    case 'SFU':
      if (!b[ins.abuf].sfuRead) return `the SFU cannot read the ${ins.abuf} buffer (operand a)`;
      if (sfuUsesB(ins) && !b[ins.bbuf].sfuRead) return `the SFU cannot read the ${ins.bbuf} buffer (operand b)`;
      if (!b[ins.dbuf].sfuWrite) return `the SFU cannot write the ${ins.dbuf} buffer`;
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The error the engine reports for a resolved instruction, or undefined: the golden model's
 * checks (same conditions, same classes as ERR), plus buffer access rights, which the hardware
 * checks first. Data-dependent failures (a group multiplier 0 in a weight stream) are not seen.
 */
export function checkInstr(hw: GenConfig, ins: Instr, ext: ExtSizes = { hbm: Infinity, ddr: Infinity }): InstrError | undefined {
  const m = machineOf(hw);
  const err = (cls: ErrClass, message: string): InstrError => ({ cls, message });
  const acc = accessError(hw, ins);
  if (acc) return err('access', acc);
  const size = (buf: BufferName) => m.geo.buffers[buf].elements;
  const range = (buf: BufferName, lo: number, n: number, what: string) => (lo < 0 || lo + n > size(buf) ? err('range', `${what} ${buf}[${lo}..${lo + n - 1}] is outside the ${size(buf)}-element buffer`) : undefined);
  switch (ins.op) {
    case 'LD':
    case 'ST': {
      const load = ins.op === 'LD';
      const bits = DTYPE_BITS[ins.dtype];
      const len = ins.len as number;
      if (ins.grp && (!load || ins.buf !== 'weight' || bits > 8 || len % 32 !== 0)) return err('format', 'grp applies to LD into the weight buffer of int4/int8 rows whose length is a multiple of 32');
      if (bits === 4 && len % 2 !== 0) return err('format', `int4 rows must hold an even number of elements (len ${len})`);
      const unit = ins.buf === 'weight' || ins.buf === 'meta' ? m.geo.CL : 1;
      if (unit > 1 && len % unit !== 0) return err('align', `rows of the ${ins.buf} buffer are whole beats of ${unit} lanes (len ${len})`);
      const rb = rowBytesOf(ins, len);
      const memBytes = ext[ins.space];
      for (const r of transferRows(hw, ins)) {
        if (r.ea + rb > memBytes) return err('external', `${ins.space} bytes ${r.ea}..${r.ea + rb - 1} are outside the ${memBytes}-byte image`);
        const e = range(ins.buf, r.sa, len, load ? 'LD into' : 'ST from');
        if (e) return e;
      }
      return undefined;
    }
    case 'MM':
    case 'MV': {
      const t = tileOf(m, ins);
      if (!t) return err('pattern', `pattern ${ins.pattern} is not in the design's ${m.modes.length}-entry mode table`);
      if (ins.wsrc === 'kv' && t.pattern !== 'dense') return err('pattern', 'KV operands are dense');
      const { L, CL } = m.geo;
      const abase = ins.abase as number;
      const wbase = ins.wbase as number;
      const obase = ins.obase as number;
      if (abase % L !== 0) return err('align', `abase ${abase} is not a multiple of the window size ${L}`);
      if (ins.wsrc === 'kv' && wbase % CL !== 0) return err('align', `wbase ${wbase} is not a multiple of the beat size ${CL}`);
      const wBeat = ins.wsrc === 'kv' ? wbase / CL : wbase;
      return (
        range(ins.wsrc, wBeat * CL, t.beats * CL, `${ins.op} weights`) ??
        range(ins.asrc, abase, t.tokens * t.windows * L, `${ins.op} activations`) ??
        range('acc', obase, t.tokens * t.rows, `${ins.op} results`) ??
        (ins.wsrc === 'weight' && t.pattern !== 'dense' ? range('meta', ins.mbase * CL, t.beats * CL, `${ins.op} indexes`) : undefined)
      );
    }
    case 'SFU': {
      if (ins.itype === 'fp16' || ins.otype === 'fp16') return err('format', 'fp16 SFU operands are reserved (not implemented)');
      const len = ins.len as number;
      const rows = ins.rows as number;
      const dp = ins.dpitch || len;
      if (dp < len) return err('format', `dpitch ${dp} is shorter than a row (${len})`);
      const e1 = range(ins.abuf, ins.a as number, rows * len, 'SFU operand a') ?? range(ins.dbuf, ins.d as number, rows ? (rows - 1) * dp + len : 0, 'SFU result d');
      if (e1) return e1;
      const scaled = ins.imm !== 0 && ins.fn !== 'rope' && ins.fn !== 'requant';
      if (ins.ewr !== 0 && !scaled) return err('format', 'ewr needs an output multiplier (imm) and a function other than rope/requant');
      if (ins.erd !== 0 && ins.fn !== 'requant') return err('format', 'erd applies to requant only');
      const b = ins.b as number;
      switch (ins.fn) {
        case 'add':
        case 'mul': {
          const e = range(ins.bbuf, b, rows * len, 'SFU operand b');
          if (e) return e;
          break;
        }
        case 'rmsnorm':
        case 'layernorm': {
          const e = range(ins.bbuf, b, len, 'SFU gammas b');
          if (e) return e;
          // The golden model divides by len (mean of the row): an empty row is not defined.
          if (len === 0 && rows > 0) return err('format', `${ins.fn} of empty rows`);
          break;
        }
        case 'rope': {
          const hs = ins.imm;
          if (hs < 2 || hs % 2 || len % hs) return err('format', `rope head size (imm) ${hs} must be even and divide len ${len}`);
          const e = range(ins.bbuf, b, hs / 2, 'SFU rope table b');
          if (e) return e;
          break;
        }
        case 'requant': {
          if (ins.imm === 0) {
            const e = range(ins.bbuf, b, len, 'SFU column scales b');
            if (e) return e;
          }
          break;
        }
      }
      if (scaled && ins.ewr !== 0 && rows > ROW_SCALE_ROWS) return err('format', `ewr covers at most ${ROW_SCALE_ROWS} rows, got ${rows}`);
      return undefined;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Interval sets

/** Sorted, merged [lo, hi) intervals per space, reads and writes apart. */
export class Footprint {
  readonly reads = new Map<Space, number[][]>();
  readonly writes = new Map<Space, number[][]>();
  private dirty = false;

  add(a: Access): void {
    const m = a.write ? this.writes : this.reads;
    let l = m.get(a.space);
    if (!l) m.set(a.space, (l = []));
    l.push([a.lo, a.hi]);
    this.dirty = true;
  }

  /** Merges overlapping/touching intervals (call before queries). */
  seal(): this {
    if (!this.dirty) return this;
    for (const m of [this.reads, this.writes]) {
      for (const [k, l] of m) {
        l.sort((x, y) => x[0]! - y[0]!);
        const out: number[][] = [];
        for (const iv of l) {
          const last = out[out.length - 1];
          if (last && iv[0]! <= last[1]!) last[1] = Math.max(last[1]!, iv[1]!);
          else out.push([iv[0]!, iv[1]!]);
        }
        m.set(k, out);
      }
    }
    this.dirty = false;
    return this;
  }

  get empty(): boolean {
    return this.reads.size === 0 && this.writes.size === 0;
  }
}

function overlaps(a: number[][] | undefined, b: number[][] | undefined): boolean {
  if (!a || !b) return false;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]![1]! <= b[j]![0]!) i++;
    else if (b[j]![1]! <= a[i]![0]!) j++;
    else return true;
  }
  return false;
}

/** RAW, WAR or WAW between two sealed footprints. */
export function conflicts(x: Footprint, y: Footprint): boolean {
  for (const [s, w] of x.writes) if (overlaps(w, y.writes.get(s)) || overlaps(w, y.reads.get(s))) return true;
  for (const [s, w] of y.writes) if (overlaps(w, x.reads.get(s))) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Race and definition analysis

export interface RaceReport {
  readonly space: Space;
  readonly addr: number;
  /** Static indexes of the two unordered instructions (first in program order first). */
  readonly a: number;
  readonly b: number;
  readonly kind: 'RAW' | 'WAR' | 'WAW';
}

export interface UninitReport {
  readonly pc: number;
  readonly space: Space;
  readonly addr: number;
}

export interface Analysis {
  readonly walk: WalkResult;
  /** Union footprint of each static instruction over all its executions (sealed). */
  readonly union: Map<number, Footprint>;
  readonly race?: RaceReport;
  readonly uninit?: UninitReport;
  /** Elements written per buffer (dynamic union), sealed. */
  readonly written: Footprint;
  /** Set when the program does more work than `maxWork` (element accesses) allows. */
  readonly tooBig?: string;
  /** Element accesses of the whole run. */
  readonly work: number;
}

export interface AnalyzeOptions extends WalkOptions {
  /** Look for unordered conflicting accesses (default true). */
  readonly races?: boolean;
  /** Look for reads of buffer elements no earlier instruction wrote (default true). */
  readonly uninit?: boolean;
  /** Element accesses at most (default 2e7); more is reported as tooBig. */
  readonly maxWork?: number;
  /** Build `union` and `written` (default true). */
  readonly collect?: boolean;
}

interface Loc {
  lastW: Int32Array;
  /** Latest read per queue (same-queue reads are ordered, so the latest one is enough). */
  lastR: Int32Array;
  written: Uint8Array;
}

/**
 * Walks the program and checks that every pair of conflicting accesses from different queues is
 * ordered by queue order, tokens or a SYS barrier (vector clocks over the four engine queues),
 * so every legal schedule computes the same result as program order.
 */
export function analyze(hw: GenConfig, instrs: readonly Instr[], opts: AnalyzeOptions = {}): Analysis {
  const w = walk(instrs, opts);
  const union = new Map<number, Footprint>();
  const written = new Footprint();
  const wantRaces = opts.races ?? true;
  const wantUninit = opts.uninit ?? true;
  const collect = opts.collect ?? true;
  const Q = ENGINE_QUEUES.length;
  const qIndex = (q: QueueName) => ENGINE_QUEUES.indexOf(q as (typeof ENGINE_QUEUES)[number]);
  // Events: one per executed engine instruction.
  const evQ: number[] = [];
  const evPc: number[] = [];
  const evVc: Int32Array[] = [];
  const qLast: Int32Array[] = Array.from({ length: Q }, () => new Int32Array(Q));
  const qCount = new Int32Array(Q);
  let barrier = new Int32Array(Q);
  const fifo = new Map<string, Int32Array[]>();
  const locs = new Map<Space, Loc>();
  let race: RaceReport | undefined;
  let uninit: UninitReport | undefined;
  let tooBig: string | undefined;
  let work = 0;
  const maxWork = opts.maxWork ?? 2e7;
  const loc = (space: Space, hi: number): Loc => {
    let l = locs.get(space);
    if (!l || l.lastW.length < hi) {
      const n = Math.max(hi, 2 * (l?.lastW.length ?? 0), 1024);
      const nl: Loc = { lastW: new Int32Array(n).fill(-1), lastR: new Int32Array(n * Q).fill(-1), written: new Uint8Array(n) };
      if (l) {
        nl.lastW.set(l.lastW);
        nl.written.set(l.written);
        for (let q = 0; q < Q; q++) nl.lastR.set(l.lastR.subarray(q * l.lastW.length, (q + 1) * l.lastW.length), q * n);
      }
      locs.set(space, (l = nl));
    }
    return l;
  };
  const hb = (a: number, b: number): boolean => {
    if (a === b) return true;
    const qa = evQ[a]!;
    if (qa === evQ[b]) return a < b;
    return evVc[a]![qa]! <= evVc[b]![qa]!;
  };
  const external = (s: Space) => s === 'hbm' || s === 'ddr';
  for (const step of w.steps) {
    const ins = step.ins;
    if (ins.op === 'SYS' || ins.op === 'LOOP') {
      if (ins.op === 'SYS' && ins.fn !== 'setlen') {
        barrier = new Int32Array(Q);
        for (const v of qLast) for (let i = 0; i < Q; i++) barrier[i] = Math.max(barrier[i]!, v[i]!);
      }
      continue;
    }
    const q = qIndex(queueOf(ins));
    const vc = Int32Array.from(qLast[q]!);
    for (let i = 0; i < Q; i++) vc[i] = Math.max(vc[i]!, barrier[i]!);
    for (const p of ins.wait) {
      const f = fifo.get(`${p}>${ENGINE_QUEUES[q]}`);
      const got = f?.shift();
      if (got) for (let i = 0; i < Q; i++) vc[i] = Math.max(vc[i]!, got[i]!);
    }
    vc[q] = ++qCount[q]!;
    qLast[q] = vc;
    for (const c of ins.release) {
      const k = `${ENGINE_QUEUES[q]}>${c}`;
      let f = fifo.get(k);
      if (!f) fifo.set(k, (f = []));
      f.push(vc);
    }
    const e = evQ.length;
    evQ.push(q);
    evPc.push(step.pc);
    evVc.push(vc);
    let acc: Access[];
    try {
      acc = footprint(hw, ins);
    } catch (err) {
      tooBig ??= `instruction ${step.pc}: ${(err as Error).message}`;
      acc = [];
    }
    for (const a of acc) work += a.hi - a.lo;
    if (work > maxWork) {
      tooBig ??= `more than ${maxWork} element accesses`;
      break;
    }
    if (collect) {
      let u = union.get(step.pc);
      if (!u) union.set(step.pc, (u = new Footprint()));
      for (const a of acc) u.add(a);
    }
    // Reads first, then writes (an instruction reads its operands before it writes its result).
    const ordered = [...acc.filter((a) => !a.write), ...acc.filter((a) => a.write)];
    for (const a of ordered) {
      if (collect && a.write && !external(a.space)) written.add(a);
      if (!wantRaces && !wantUninit) continue;
      const l = loc(a.space, a.hi);
      const n = l.lastW.length;
      const ext = external(a.space);
      const { lastW, lastR, written: wr } = l;
      // Consecutive elements mostly share their last writer/readers: check each event once.
      let okW = -2;
      let okR = -2;
      for (let x = a.lo; x < a.hi; x++) {
        const lw = lastW[x]!;
        if (wantRaces && lw >= 0 && lw !== okW && !race) {
          if (hb(lw, e)) okW = lw;
          else race = { space: a.space, addr: x, a: evPc[lw]!, b: step.pc, kind: a.write ? 'WAW' : 'RAW' };
        }
        if (!a.write) {
          if (wantUninit && !uninit && !ext && !wr[x]) uninit = { pc: step.pc, space: a.space, addr: x };
          if (wantRaces) lastR[q * n + x] = e;
        } else {
          wr[x] = 1;
          if (!wantRaces) continue;
          for (let qq = 0; qq < Q; qq++) {
            const rd = lastR[qq * n + x]!;
            if (rd < 0) continue;
            lastR[qq * n + x] = -1;
            if (rd === e || rd === okR || race) continue;
            if (hb(rd, e)) okR = rd;
            else race = { space: a.space, addr: x, a: evPc[rd]!, b: step.pc, kind: 'WAR' };
          }
          lastW[x] = e;
        }
      }
    }
  }
  for (const f of union.values()) f.seal();
  written.seal();
  return { walk: w, union, race, uninit, written, tooBig, work };
}

// ---------------------------------------------------------------------------------------------
// Program structure and tokens

/** Bounds on the dispatch walk and the element accesses of an analysis. */
export interface Limits {
  readonly maxSteps?: number;
  readonly maxWork?: number;
}

/** A program as a tree: LOOP nodes own their body. */
export interface Node {
  readonly ins: Instr;
  readonly body?: Node[];
}

export const SYNC: Instr = { op: 'SYS', wait: [], release: [], fn: 'sync', reg: 'L0', imm: 0 };
export const END: Instr = { op: 'SYS', wait: [], release: [], fn: 'end', reg: 'L0', imm: 0 };
export const isSync = (i: Instr | undefined): boolean => i?.op === 'SYS' && i.fn === 'sync';

/** Parses LOOP bodies into a tree; throws on a body that runs past its enclosing list. */
export function parseTree(instrs: readonly Instr[]): Node[] {
  const parse = (from: number, to: number): Node[] => {
    const out: Node[] = [];
    let i = from;
    while (i < to) {
      const ins = instrs[i]!;
      if (ins.op === 'LOOP') {
        const end = i + 1 + ins.body;
        if (end > to) throw new RangeError(`LOOP at ${i} runs past its enclosing body`);
        out.push({ ins, body: parse(i + 1, end) });
        i = end;
      } else {
        out.push({ ins });
        i++;
      }
    }
    return out;
  };
  return parse(0, instrs.length);
}

/** Flattens a tree, setting every LOOP's body length. */
export function flatten(nodes: readonly Node[]): Instr[] {
  const out: Instr[] = [];
  const go = (list: readonly Node[]) => {
    for (const n of list) {
      if (n.body) {
        const at = out.length;
        out.push(n.ins);
        go(n.body);
        out[at] = { ...(n.ins as InstrOf<'LOOP'>), body: out.length - at - 1 };
      } else out.push(n.ins);
    }
  };
  go(nodes);
  return out;
}

function queuesIn(nodes: readonly Node[], acc = new Set<QueueName>()): Set<QueueName> {
  for (const n of nodes) {
    const q = queueOf(n.ins);
    if (q !== 'SYS') acc.add(q);
    if (n.body) queuesIn(n.body, acc);
  }
  return acc;
}

/**
 * The sync discipline that makes per-segment tokens sufficient: a SYS sync right before every
 * LOOP, and at the end of every body (inside it, unless the body uses one queue only; then a
 * sync right after the loop does).
 */
export function addLoopSyncs(nodes: readonly Node[]): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (!n.body) {
      out.push(n);
      continue;
    }
    if (!isSync(out[out.length - 1]?.ins)) out.push({ ins: SYNC });
    const body = addLoopSyncs(n.body);
    const single = queuesIn(body).size <= 1;
    if (!single && !isSync(body[body.length - 1]?.ins)) body.push({ ins: SYNC });
    out.push({ ins: n.ins, body });
    const next = nodes[i + 1];
    if (!isSync(body[body.length - 1]?.ins) && !isSync(next?.ins) && !(next?.ins.op === 'SYS' && next.ins.fn === 'end')) out.push({ ins: SYNC });
  }
  return out;
}

const byQueue = (a: QueueName, b: QueueName) => QUEUES.indexOf(a) - QUEUES.indexOf(b);

/**
 * Replaces every wait/release with the tokens that order conflicting accesses inside each
 * segment (the runs between SYS sync/end, LOOP and body ends), as the compiler's Emitter does,
 * using each instruction's footprint over all its executions. Segments must be separated by
 * syncs where they conflict (see addLoopSyncs).
 */
export function assignTokens(hw: GenConfig, instrs: readonly Instr[], opts: Limits = {}): Instr[] {
  const out: Instr[] = instrs.map((i) => ({ ...i, wait: [], release: [] }) as Instr);
  const an = analyze(hw, out, { ...opts, tokens: false, races: false, uninit: false });
  if (an.walk.error) throw new RangeError(`cannot assign tokens: ${an.walk.error.message} (instruction ${an.walk.error.pc})`);
  if (an.tooBig) throw new RangeError(`cannot assign tokens: ${an.tooBig}`);
  const boundary = new Set<number>();
  out.forEach((ins, i) => {
    if (ins.op === 'LOOP') {
      boundary.add(i);
      boundary.add(i + 1 + ins.body);
    } else if (ins.op === 'SYS' && ins.fn !== 'setlen') boundary.add(i);
  });
  const Q = QUEUES.length;
  let seg: number[] = [];
  let lastWaited = new Int32Array(Q * Q).fill(-1);
  const empty = new Footprint();
  for (let i = 0; i <= out.length; i++) {
    if (i === out.length || boundary.has(i)) {
      seg = [];
      lastWaited = new Int32Array(Q * Q).fill(-1);
      if (i === out.length || out[i]!.op === 'LOOP' || out[i]!.op === 'SYS') continue;
    }
    const ins = out[i]!;
    const q = QUEUES.indexOf(queueOf(ins));
    if (QUEUES[q] === 'SYS') continue;
    const fp = an.union.get(i) ?? empty;
    const latest = new Int32Array(Q).fill(-1);
    for (const d of seg) {
      const qd = QUEUES.indexOf(queueOf(out[d]!));
      if (qd === q || d <= latest[qd]!) continue;
      if (conflicts(an.union.get(d) ?? empty, fp)) latest[qd] = d;
    }
    for (let p = 0; p < Q; p++) {
      const d = latest[p]!;
      if (d < 0 || lastWaited[p * Q + q]! >= d) continue;
      (out[d]!.release as QueueName[]).push(QUEUES[q]!);
      (ins.wait as QueueName[]).push(QUEUES[p]!);
      lastWaited[p * Q + q] = d;
    }
    seg.push(i);
  }
  for (const i of out) {
    (i.wait as QueueName[]).sort(byQueue);
    (i.release as QueueName[]).sort(byQueue);
  }
  return out;
}

/** Sync discipline plus fresh tokens: any program with a valid LOOP structure comes out schedule-independent. */
export function normalize(hw: GenConfig, instrs: readonly Instr[], opts: Limits = {}): Instr[] {
  return assignTokens(hw, flatten(addLoopSyncs(parseTree(instrs))), opts);
}

/** Word address of each instruction (and of the end). */
export function wordAddresses(instrs: readonly Instr[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const i of instrs) {
    out.push(at);
    at += OPS.get(i.op)!.words;
  }
  out.push(at);
  return out;
}
