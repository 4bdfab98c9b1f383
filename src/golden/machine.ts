/**
 * The golden model: executes a binary instruction stream on a memory image, bit-exactly as the
 * hardware does. MV/MM go through the MPE's own transaction-level model (src/arch/mpe/model.ts),
 * the SFU through src/numerics/fixed.ts, weight expansion through src/numerics/quant.ts, so
 * the RTL and this model share one definition of every result.
 *
 * Instructions run in program order. That is one legal schedule of the hardware's queues, so
 * the machine also checks the dependency tokens: every wait must find a token released earlier
 * in program order, and a block must end with every token consumed.
 */
import type { GenConfig } from '../arch/config.ts';
import { MpeModel, type MpeTile } from '../arch/mpe/model.ts';
import { disassemble } from '../isa/asm.ts';
import { isLenRef, type Instr, type InstrOf } from '../isa/instr.ts';
import { BUFFERS, DTYPES, OPS, QUEUES, type QueueName } from '../isa/table.ts';
import { FX, geluFx, layernormRow, mulShift, rmsnormRow, ropeRow, rowQuantize, rowScale, sat, siluFx, softmaxRow, unpackColumnScale, type Multiplier } from '../numerics/fixed.ts';
import { wrapSigned } from '../numerics/bits.ts';
import { decodeWeightStream, weightStreamBytes } from '../numerics/quant.ts';
import { chainGeometry, indexWidth, modeTable } from '../sparsity/pattern.ts';
import type { MemoryImage } from '../compiler/memory.ts';
import { accelGeometry, type AccelGeometry } from '../arch/mmu/buffers.ts';
import { sfuRowMax } from '../arch/sfu/engine.ts';

export type BufferName = (typeof BUFFERS)[number];

export class MachineError extends Error {
  override name = 'MachineError';
  constructor(
    readonly index: number,
    readonly instr: Instr | undefined,
    message: string,
  ) {
    super(`instruction ${index}${instr ? ` (${disassemble([instr]).trim()})` : ''}: ${message}`);
  }
}

export interface MachineStats {
  instructions: number;
  perOp: Record<string, number>;
  /** Dense-equivalent multiply-accumulates issued to the MPE (zero-padded lanes included). */
  mpeMacs: number;
  /** MPE busy cycles from its own cycle model. */
  mpeCycles: number;
  /** SFU elements processed. */
  sfuElements: number;
  loadBytes: { hbm: number; ddr: number };
  storeBytes: { hbm: number; ddr: number };
}

/** Rows per slot of the SFU's dynamic-scaling register file (slots 1..7). */
export const ROW_SCALE_ENTRIES = 256;
const DTYPE_BITS: Record<(typeof DTYPES)[number], number> = { int4: 4, int8: 8, int16: 16, int32: 32 };
const SFU_BITS: Record<string, number> = { int8: 8, int16: 16, int32: 32 };

export class GoldenMachine {
  readonly regs = new Array<number>(8).fill(0);
  readonly buffers: Record<BufferName, Int32Array>;
  private readonly widths: Record<BufferName, { bits: number; signed: boolean }>;
  /** The hardware's buffer table: element widths and which instruction may touch which buffer. */
  private readonly geo: AccelGeometry;
  /** Longest row the SFU scales dynamically (ewr). */
  private readonly sfuRowMax: number;
  private readonly mpe: MpeModel;
  private readonly CL: number;
  stats: MachineStats = GoldenMachine.emptyStats();
  /**
   * Called after every row an ST writes, with the instructions executed so far (this one
   * included): co-simulation names the instruction behind a difference and checks stores one by one.
   */
  onStore?: (row: { pc: number; instr: Instr; executed: number; space: 'hbm' | 'ddr'; addr: number; bytes: number }) => void;
  private pc = 0;
  /** The SFU's per-row unscale multipliers, rowScales[slot][row] (slot 0 unused). */
  readonly rowScales: Multiplier[][] = Array.from({ length: 8 }, () => Array.from({ length: ROW_SCALE_ENTRIES }, () => ({ m: 0, sh: 0 })));

  constructor(
    readonly hw: GenConfig,
    readonly memory: MemoryImage,
  ) {
    const CL = hw.chains * hw.chainLength;
    this.CL = CL;
    const patterns = hw.sparsity;
    const weightBeats = Math.max(hw.weightDepth, Math.ceil(hw.kvDepth / CL));
    this.mpe = new MpeModel({ chains: hw.chains, length: hw.chainLength, groupSize: hw.groupSize, patterns, aWidth: hw.actWidth, bWidth: hw.weightWidth, actDepth: hw.actDepth, weightDepth: weightBeats, accDepth: hw.accDepth });
    this.buffers = {
      weight: new Int32Array(hw.weightDepth * CL),
      meta: new Int32Array(hw.weightDepth * CL),
      scale: new Int32Array(hw.accDepth),
      bias: new Int32Array(hw.biasDepth),
      act: new Int32Array(hw.actDepth * hw.chainLength),
      kv: new Int32Array(hw.kvDepth),
      acc: this.mpe.acc,
      global: new Int32Array(hw.globalDepth),
    };
    this.geo = accelGeometry(hw);
    this.sfuRowMax = sfuRowMax(hw);
    this.widths = Object.fromEntries(Object.values(this.geo.buffers).map((b) => [b.name, { bits: b.bits, signed: b.signed }])) as Record<BufferName, { bits: number; signed: boolean }>;
  }

  static emptyStats(): MachineStats {
    return { instructions: 0, perOp: {}, mpeMacs: 0, mpeCycles: 0, sfuElements: 0, loadBytes: { hbm: 0, ddr: 0 }, storeBytes: { hbm: 0, ddr: 0 } };
  }

  /** Runs from `start` until SYS end; returns the index after it. */
  run(program: readonly Instr[], start = 0, maxInstructions = 50_000_000): number {
    const tokens = new Map<string, number>();
    const loops: { start: number; end: number; left: number }[] = [];
    let pc = start;
    let executed = 0;
    for (;;) {
      while (loops.length && pc === loops[loops.length - 1]!.end) {
        const top = loops[loops.length - 1]!;
        if (--top.left > 0) pc = top.start;
        else loops.pop();
      }
      const ins = program[pc];
      if (!ins) throw new MachineError(pc, undefined, 'ran past the end of the program without SYS end');
      if (++executed > maxInstructions) throw new MachineError(pc, ins, `no SYS end after ${maxInstructions} instructions`);
      const queue = OPS.get(ins.op)!.queue;
      for (const q of ins.wait) {
        const k = `${q}>${queue}`;
        const n = tokens.get(k) ?? 0;
        if (n <= 0) throw new MachineError(pc, ins, `waits for a ${q} token that no earlier instruction released: the queues would deadlock`);
        tokens.set(k, n - 1);
      }
      this.stats.instructions++;
      const key = ins.op === 'SFU' || ins.op === 'SYS' ? `${ins.op}.${ins.fn}` : ins.op;
      this.stats.perOp[key] = (this.stats.perOp[key] ?? 0) + 1;
      try {
        if (ins.op === 'SYS' && ins.fn === 'end') {
          const left = [...tokens].filter(([, n]) => n !== 0);
          if (left.length) throw new Error(`block ends with unconsumed tokens ${left.map(([k, n]) => `${k}:${n}`).join(', ')}`);
          if (loops.length) throw new Error('SYS end inside a LOOP body');
          return pc + 1;
        }
        if (ins.op === 'LOOP') {
          const count = this.val(ins, 'count', 16);
          const body = ins.body;
          if (body < 1) throw new Error('LOOP body must hold at least one instruction');
          if (count === 0) pc += 1 + body;
          else {
            if (loops.length >= this.hw.loopDepth) throw new Error(`LOOPs nest deeper than ${this.hw.loopDepth}`);
            const end = pc + 1 + body;
            if (loops.length && end > loops[loops.length - 1]!.end) throw new Error('LOOP body runs past the enclosing body');
            loops.push({ start: pc + 1, end, left: count });
            pc += 1;
          }
          continue;
        }
        this.pc = pc;
        this.exec(ins);
      } catch (e) {
        if (e instanceof MachineError) throw e;
        throw new MachineError(pc, ins, (e as Error).message);
      }
      for (const q of ins.release) {
        const k = `${queue}>${q}`;
        tokens.set(k, (tokens.get(k) ?? 0) + 1);
      }
      pc++;
    }
  }

  /** A field's value at dispatch: constant, or length register + offset modulo 2^width. */
  private val(ins: Instr, field: string, width: number): number {
    const v = (ins as unknown as Record<string, unknown>)[field];
    if (isLenRef(v)) return (((this.regs[v.reg]! + v.offset) % 2 ** width) + 2 ** width) % 2 ** width;
    return v as number;
  }

  private exec(ins: Instr): void {
    switch (ins.op) {
      case 'LD':
      case 'ST':
        return this.transfer(ins);
      case 'MM':
      case 'MV':
        return this.matrix(ins);
      case 'SFU':
        return this.sfu(ins);
      case 'SYS':
        if (ins.fn === 'setlen') this.regs[['L0', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7'].indexOf(ins.reg)] = this.val(ins, 'imm', 32);
        return; // sync: program order already waits for everything
    }
  }

  private checkRange(buf: BufferName, addr: number, n: number, what: string): void {
    const size = this.buffers[buf].length;
    if (addr < 0 || addr + n > size) throw new Error(`${what} ${buf}[${addr}..${addr + n - 1}] is outside the ${size}-element buffer`);
  }

  private put(buf: BufferName, addr: number, v: number): void {
    const w = this.widths[buf];
    this.buffers[buf][addr] = w.signed ? wrapSigned(v, w.bits) : ((v % 2 ** w.bits) + 2 ** w.bits) % 2 ** w.bits;
  }

  private transfer(ins: InstrOf<'LD'> | InstrOf<'ST'>): void {
    const load = ins.op === 'LD';
    const mem = this.memory.space(ins.space);
    const bits = DTYPE_BITS[ins.dtype];
    const len = this.val(ins, 'len', 16);
    const counts = [this.val(ins, 'count0', 16), this.val(ins, 'count1', 16), this.val(ins, 'count2', 16)];
    const addr = this.val(ins, 'addr', 36);
    const sram = this.val(ins, 'sram', 20);
    if (ins.grp && (!load || ins.buf !== 'weight' || bits > 8 || len % 32 !== 0)) throw new Error('grp applies to LD into the weight buffer of int4/int8 rows whose length is a multiple of 32');
    if (bits === 4 && len % 2 !== 0) throw new Error(`int4 rows must hold an even number of elements (len ${len})`);
    // The weight and meta buffers are addressed in beats (rows are whole beats), the rest in elements.
    const unit = ins.buf === 'weight' || ins.buf === 'meta' ? this.CL : 1;
    if (unit > 1 && len % unit !== 0) throw new Error(`rows of the ${ins.buf} buffer are whole beats of ${unit} lanes (len ${len})`);
    const g = this.geo.buffers[ins.buf];
    if (load ? !g.ld : !g.st) throw new Error(`${ins.op} cannot access the ${ins.buf} buffer`);
    const rowBytes = ins.grp ? weightStreamBytes(len, bits === 4 ? 'int4' : 'int8', true) : (len * bits) / 8;
    for (let i2 = 0; i2 < counts[2]!; i2++) {
      for (let i1 = 0; i1 < counts[1]!; i1++) {
        for (let i0 = 0; i0 < counts[0]!; i0++) {
          const ea = addr + i2 * ins.estride2 + i1 * ins.estride1 + i0 * ins.estride0;
          const sa = (sram + i2 * ins.istride2 + i1 * ins.istride1 + i0 * ins.istride0) * unit;
          if (ea + rowBytes > mem.length) throw new Error(`${ins.space} bytes ${ea}..${ea + rowBytes - 1} are outside the ${mem.length}-byte image`);
          this.checkRange(ins.buf, sa, len, load ? 'LD into' : 'ST from');
          if (load) {
            this.stats.loadBytes[ins.space] += rowBytes;
            if (ins.grp) {
              const lanes = decodeWeightStream(mem.subarray(ea, ea + rowBytes), len, bits === 4 ? 'int4' : 'int8', true);
              for (let j = 0; j < len; j++) this.put('weight', sa + j, lanes[j]!);
            } else {
              const unsigned = ins.buf === 'meta';
              for (let j = 0; j < len; j++) this.put(ins.buf, sa + j, readElem(mem, ea, j, bits, unsigned));
            }
          } else {
            this.stats.storeBytes[ins.space] += rowBytes;
            for (let j = 0; j < len; j++) writeElem(mem, ea, j, bits, this.buffers[ins.buf][sa + j]!);
            this.onStore?.({ pc: this.pc, instr: ins, executed: this.stats.instructions, space: ins.space, addr: ea, bytes: rowBytes });
          }
        }
      }
    }
  }

  private matrix(ins: InstrOf<'MM'> | InstrOf<'MV'>): void {
    const hw = this.hw;
    const L = hw.chainLength;
    const modes = modeTable(hw.sparsity);
    if (ins.pattern >= modes.length) throw new Error(`pattern ${ins.pattern} is not in the design's ${modes.length}-entry mode table`);
    const pattern = modes[ins.pattern]!;
    if (ins.wsrc === 'kv' && pattern !== 'dense') throw new Error('KV operands are dense');
    if ((ins.asrc as string) !== 'act') throw new Error(`asrc ${ins.asrc} is reserved (the MPE reads activations from the act buffer)`);
    const g = chainGeometry(pattern, L, hw.groupSize);
    const cols = this.val(ins, ins.op === 'MM' ? 'k' : 'cols', 16);
    const rows = this.val(ins, ins.op === 'MM' ? 'n' : 'rows', 16);
    const tokens = ins.op === 'MM' ? this.val(ins, 'm', 16) : 1;
    const wbase = this.val(ins, 'wbase', 20);
    const abase = this.val(ins, 'abase', 20);
    const obase = this.val(ins, 'obase', 20);
    if (abase % L !== 0) throw new Error(`abase ${abase} is not a multiple of the window size ${L}`);
    // Weight buffer: wbase/mbase are beat addresses; KV buffer: a beat-aligned element address.
    if (ins.wsrc === 'kv' && wbase % this.CL !== 0) throw new Error(`wbase ${wbase} is not a multiple of the beat size ${this.CL}`);
    const wBeat = ins.wsrc === 'kv' ? wbase / this.CL : wbase;
    const windows = Math.ceil(cols / L);
    const batches = Math.ceil(rows / (hw.chains * g.segments));
    const wbuf = ins.wsrc === 'kv' ? this.buffers.kv : this.buffers.weight;
    // KV elements enter the MPE's weight lanes: they keep their low weightWidth bits.
    const narrow = ins.wsrc === 'kv' && hw.weightWidth < hw.actWidth;
    const abuf = ins.asrc === 'global' ? this.buffers.global : this.buffers.act;
    this.checkRange(ins.wsrc, wBeat * this.CL, batches * windows * this.CL, `${ins.op} weights`);
    this.checkRange(ins.asrc, abase, tokens * windows * L, `${ins.op} activations`);
    this.checkRange('acc', obase, (tokens - 1) * rows + rows, `${ins.op} results`);
    if (ins.wsrc === 'weight' && pattern !== 'dense') this.checkRange('meta', ins.mbase * this.CL, batches * windows * this.CL, `${ins.op} indexes`);
    const CL = this.CL;
    const meta = this.buffers.meta;
    const zeros = new Int32Array(CL);
    const tile: MpeTile = { mode: ins.pattern, rows, batches, windows, tokens, actBase: abase / L, actStride: windows, wBase: wBeat, outBase: obase, outStride: rows, accumulate: ins.acc };
    const { cycles } = this.mpe.run(tile, {
      act: (a) => abuf.subarray(a * L, a * L + L),
      weights: (a) => ({
        w: narrow ? wbuf.subarray(a * CL, a * CL + CL).map((v) => wrapSigned(v, hw.weightWidth)) : wbuf.subarray(a * CL, a * CL + CL),
        idx: ins.wsrc === 'kv' || pattern === 'dense' ? zeros : meta.subarray((ins.mbase + a - wBeat) * CL, (ins.mbase + a - wBeat + 1) * CL),
      }),
    });
    this.stats.mpeCycles += cycles;
    this.stats.mpeMacs += batches * windows * CL * tokens * (pattern === 'dense' ? 1 : pattern.m / pattern.n);
  }

  private sfu(ins: InstrOf<'SFU'>): void {
    if (ins.itype === 'fp16' || ins.otype === 'fp16') throw new Error('fp16 SFU operands are reserved (not implemented)');
    const len = this.val(ins, 'len', 16);
    const rows = this.val(ins, 'rows', 16);
    const pos = this.val(ins, 'pos', 16);
    const a = this.val(ins, 'a', 20);
    const b = this.val(ins, 'b', 20);
    const d = this.val(ins, 'd', 20);
    const A = this.buffers[ins.abuf];
    const B = this.buffers[ins.bbuf];
    const n = rows * len;
    const dp = ins.dpitch || len;
    if (dp < len) throw new Error(`dpitch ${dp} is shorter than a row (${len})`);
    const bUsed = ['add', 'mul', 'rmsnorm', 'layernorm', 'rope'].includes(ins.fn) || (ins.fn === 'requant' && ins.imm === 0);
    const G = this.geo.buffers;
    if (!G[ins.abuf].sfuRead || (bUsed && !G[ins.bbuf].sfuRead)) throw new Error(`the SFU cannot read the ${G[ins.abuf].sfuRead ? ins.bbuf : ins.abuf} buffer`);
    if (!G[ins.dbuf].sfuWrite) throw new Error(`the SFU cannot write the ${ins.dbuf} buffer`);
    this.checkRange(ins.abuf, a, n, 'SFU operand a');
    this.checkRange(ins.dbuf, d, rows ? (rows - 1) * dp + len : 0, 'SFU result d');
    const obits = SFU_BITS[ins.otype]!;
    // With ewr the output scaling waits until a row's exponent is known (see rowExponent).
    const scaled = ins.imm !== 0 && ins.fn !== 'rope' && ins.fn !== 'requant';
    const dynamic = scaled && ins.ewr !== 0;
    if (ins.ewr !== 0 && !scaled) throw new Error('ewr needs an output multiplier (imm) and a function other than rope/requant');
    // rowScale's reciprocal is exact for 8- and 16-bit results only.
    if (ins.ewr !== 0 && obits === 32) throw new Error('ewr applies to int8/int16 results');
    if (ins.erd !== 0 && ins.fn !== 'requant') throw new Error('erd applies to requant only');
    const conv = (v: number) => (dynamic ? v : scaled ? sat(mulShift(v, ins.imm, ins.shift), obits) : sat(v, obits));
    const out = new Array<number>(n);
    const rowA = (i: number) => A.subarray(a + i * len, a + (i + 1) * len);
    switch (ins.fn) {
      case 'copy':
        for (let i = 0; i < n; i++) out[i] = conv(A[a + i]!);
        break;
      case 'add':
      case 'mul':
        this.checkRange(ins.bbuf, b, n, 'SFU operand b');
        for (let i = 0; i < n; i++) out[i] = conv(ins.fn === 'add' ? sat(A[a + i]! + B[b + i]!, 32) : sat(mulShift(A[a + i]!, B[b + i]!, FX), 32));
        break;
      case 'silu':
      case 'gelu':
        for (let i = 0; i < n; i++) out[i] = conv(ins.fn === 'silu' ? siluFx(A[a + i]!) : geluFx(A[a + i]!));
        break;
      case 'rmsnorm':
      case 'layernorm': {
        this.checkRange(ins.bbuf, b, len, 'SFU gammas b');
        if (len === 0) break; // empty rows: nothing to normalise, nothing written
        const gamma = B.subarray(b, b + len);
        for (let i = 0; i < rows; i++) {
          const y = ins.fn === 'rmsnorm' ? rmsnormRow(rowA(i), gamma, len) : layernormRow(rowA(i), gamma, len);
          for (let j = 0; j < len; j++) out[i * len + j] = conv(y[j]!);
        }
        break;
      }
      case 'softmax':
        for (let i = 0; i < rows; i++) {
          const y = softmaxRow(rowA(i), len, (j) => !ins.causal || j <= pos + i, obits);
          for (let j = 0; j < len; j++) out[i * len + j] = conv(y[j]!);
        }
        break;
      case 'rope': {
        const hs = ins.imm;
        if (hs < 2 || hs % 2 || len % hs) throw new Error(`rope head size (imm) ${hs} must be even and divide len ${len}`);
        this.checkRange(ins.bbuf, b, hs / 2, 'SFU rope table b');
        const freq = B.subarray(b, b + hs / 2);
        for (let i = 0; i < rows; i++) {
          const y = ropeRow(rowA(i), len, hs, freq, pos + i);
          for (let j = 0; j < len; j++) out[i * len + j] = sat(y[j]!, obits);
        }
        break;
      }
      case 'requant': {
        if (ins.imm === 0) this.checkRange(ins.bbuf, b, len, 'SFU column scales b');
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < len; j++) {
            const { m, sh } = ins.imm !== 0 ? { m: ins.imm, sh: ins.shift } : unpackColumnScale(B[b + j]!);
            const v = mulShift(A[a + i * len + j]!, m, sh);
            const u = ins.erd !== 0 ? this.rowScales[ins.erd]![i]! : undefined;
            out[i * len + j] = sat(u ? mulShift(v, u.m, u.sh) : v, obits);
          }
        }
        break;
      }
    }
    if (dynamic) {
      if (rows > ROW_SCALE_ENTRIES) throw new Error(`ewr covers at most ${ROW_SCALE_ENTRIES} rows, got ${rows}`);
      if (len > this.sfuRowMax) throw new Error(`ewr rows are at most ${this.sfuRowMax} elements (the SFU's row scratch), got ${len}`);
      for (let i = 0; i < rows; i++) {
        const row = out.slice(i * len, (i + 1) * len);
        const rs = rowScale(row, len, ins.imm, ins.shift, obits);
        this.rowScales[ins.ewr]![i] = rs.unscale;
        for (let j = 0; j < len; j++) out[i * len + j] = rowQuantize(row[j]!, rs, obits);
      }
    }
    for (let i = 0; i < rows; i++) for (let j = 0; j < len; j++) this.put(ins.dbuf, d + i * dp + j, out[i * len + j]!);
    this.stats.sfuElements += n;
  }
}

function readElem(mem: Uint8Array, base: number, j: number, bits: number, unsigned: boolean): number {
  switch (bits) {
    case 4: {
      const raw = (mem[base + (j >> 1)]! >> ((j & 1) * 4)) & 15;
      return unsigned ? raw : (raw << 28) >> 28;
    }
    case 8:
      return unsigned ? mem[base + j]! : (mem[base + j]! << 24) >> 24;
    case 16: {
      const v = mem[base + 2 * j]! | (mem[base + 2 * j + 1]! << 8);
      return unsigned ? v : (v << 16) >> 16;
    }
    default: {
      const o = base + 4 * j;
      const v = mem[o]! | (mem[o + 1]! << 8) | (mem[o + 2]! << 16) | (mem[o + 3]! << 24);
      return unsigned ? v >>> 0 : v;
    }
  }
}

function writeElem(mem: Uint8Array, base: number, j: number, bits: number, v: number): void {
  switch (bits) {
    case 4: {
      const o = base + (j >> 1);
      const sh = (j & 1) * 4;
      mem[o] = (mem[o]! & ~(15 << sh)) | ((v & 15) << sh);
      return;
    }
    case 8:
      mem[base + j] = v & 0xff;
      return;
    case 16:
      mem[base + 2 * j] = v & 0xff;
      mem[base + 2 * j + 1] = (v >> 8) & 0xff;
      return;
    default:
      for (let k = 0; k < 4; k++) mem[base + 4 * j + k] = (v >>> (8 * k)) & 0xff;
  }
}

export { QUEUES, type QueueName };
