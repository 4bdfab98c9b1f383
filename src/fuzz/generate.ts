/**
 * Random valid programs (and programs with exactly one bad instruction) for a small accelerator
 * configuration, to check that the RTL and the golden model agree bit for bit.
 *
 * A program is: setlen of a few registers; LDs that initialize every loadable buffer and MM/MV
 * tiles that initialize the accumulators (so nothing reads undefined data); a random body of
 * LD/ST/MV/MM/SFU/setlen items and LOOP nests whose dyn fields sweep with induction registers;
 * SYS sync; STs that dump every written buffer element into reserved DDR/HBM regions; SYS end.
 * Tokens come from `normalize` (src/fuzz/analysis.ts): a sync before every LOOP and at the end
 * of bodies, and per-segment tokens from the instructions' footprints, so the result is the same
 * for every legal schedule of the four queues (the race checker in analysis.ts verifies it).
 *
 * Every instruction is generated concretely and checked with `checkInstr` (the engines' own
 * error conditions) at every corner of the loop nest it sits in before it is kept; fields are
 * then optionally rewritten as `L<r>+c` against registers whose values the generator tracks
 * (affine in the iteration counters of the enclosing LOOPs).
 */
import type { GenConfig } from '../arch/config.ts';
import type { BufferName } from '../arch/mmu/buffers.ts';
import { MemoryImage, type Space as ExtSpace } from '../compiler/memory.ts';
import { encodeProgram, putBits } from '../isa/encode.ts';
import type { Instr, InstrOf, LenRef } from '../isa/instr.ts';
import { DTYPES, OPS, SFU_OPS, SFU_TYPES, usedMasks, type FieldSpec } from '../isa/table.ts';
import { packColumnScale, ropeFreqTurns, toFx } from '../numerics/fixed.ts';
import { maxGroupMultiplier, weightStreamBytes } from '../numerics/quant.ts';
import { chainGeometry, patternName, type NmPattern } from '../sparsity/pattern.ts';
import { Rng } from '../util/random.ts';
import {
  END,
  GOLDEN_LOOP_DEPTH,
  ROW_SCALE_ROWS,
  SYNC,
  addLoopSyncs,
  analyze,
  assignTokens,
  checkInstr,
  dtypeBits,
  dynFieldsOf,
  flatten,
  machineOf,
  mod,
  resolve,
  rowBytesOf,
  sfuBLength,
  sfuUsesB,
  tileOf,
  transferRows,
  walk,
  wordAddresses,
  type ErrClass,
  type Machine,
  type Node,
} from './analysis.ts';

type Dtype = (typeof DTYPES)[number];
type SfuFn = (typeof SFU_OPS)[number];
type SfuType = (typeof SFU_TYPES)[number];

export interface GenerateOptions {
  /** Body items after the prologue (ops and loops); default random 12..40. */
  readonly size?: number;
  /** Initialize every buffer in the prologue (default true): then no instruction reads an element nothing wrote. */
  readonly init?: boolean;
  /** Deepest LOOP nest in the body (default min(3, hw.loopDepth)). */
  readonly loopDepth?: number;
}

export interface Region {
  readonly name: string;
  readonly space: ExtSpace;
  readonly addr: number;
  readonly bytes: number;
}

export interface ExpectedError {
  /** What is wrong (e.g. `range:sfu`, `access:ld-acc`, `decode:opcode`). */
  readonly kind: string;
  readonly errClass: ErrClass;
  /** Static index of the instruction that fails, and its word address (ERR_PC). */
  readonly index: number;
  readonly wordAddr: number;
}

export interface ProgramDescription {
  readonly seed: number;
  readonly summary: string;
  /** Input, scratch and dump regions of the memory image. */
  readonly regions: readonly Region[];
  /** Static instruction counts per op (SFU and SYS per function). */
  readonly counts: Readonly<Record<string, number>>;
}

export interface FuzzProgram {
  readonly hw: GenConfig;
  readonly seed: number;
  readonly instrs: Instr[];
  /** The binary the hardware fetches (differs from encodeProgram(instrs) only for decode failures). */
  readonly words: Uint8Array;
  /** Initial memory image (runners must not modify it). */
  readonly memory: MemoryImage;
  readonly description: ProgramDescription;
  /** Failing mode: the error the program must stop with. */
  readonly expected?: ExpectedError;
}

// ---------------------------------------------------------------------------------------------

interface Affine {
  c: number;
  /** Coefficient per loop level. */
  k: number[];
}

interface LoopCtx {
  readonly level: number;
  readonly reg: number;
  readonly count: number;
  readonly body: Node[];
  readonly reads: Set<number>;
  readonly owned: number[];
  readonly setInside: Set<number>;
  readonly snapshot: (Affine | null)[];
}

interface RegionData extends Region {
  readonly kind: string;
  readonly data: Uint8Array;
  /** Row starts must be this many bytes apart from the region start (typed sources, streams, beats). */
  readonly align: number;
  readonly dtype?: Dtype;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;
const LOADABLE: BufferName[] = ['weight', 'meta', 'scale', 'bias', 'act', 'kv', 'global'];
const STORABLE: BufferName[] = ['scale', 'bias', 'act', 'kv', 'acc', 'global'];
const SFU_READ: BufferName[] = ['scale', 'bias', 'act', 'kv', 'acc', 'global'];
const SFU_WRITE: BufferName[] = ['scale', 'bias', 'act', 'kv', 'global'];

const ld = (f: Partial<InstrOf<'LD'>> & Pick<InstrOf<'LD'>, 'buf' | 'dtype' | 'space' | 'addr' | 'sram' | 'len'>): InstrOf<'LD'> => ({
  op: 'LD', wait: [], release: [], chan: 0, chstep: false, count0: 1, count1: 1, count2: 1, istride0: 0, istride1: 0, istride2: 0, estride0: 0, estride1: 0, estride2: 0, grp: false, ...f,
});
const st = (f: Partial<InstrOf<'ST'>> & Pick<InstrOf<'ST'>, 'buf' | 'dtype' | 'space' | 'addr' | 'sram' | 'len'>): InstrOf<'ST'> => ({ ...ld(f as never), op: 'ST' }) as InstrOf<'ST'>;
const sfu = (f: Partial<InstrOf<'SFU'>> & Pick<InstrOf<'SFU'>, 'fn' | 'abuf' | 'dbuf' | 'len' | 'rows' | 'a' | 'd'>): InstrOf<'SFU'> => ({
  op: 'SFU', wait: [], release: [], causal: false, itype: 'int32', otype: 'int32', shift: 0, imm: 0, pos: 0, bbuf: 'act', ewr: 0, erd: 0, b: 0, dpitch: 0, ...f,
});
const mv = (f: Partial<InstrOf<'MV'>> & Pick<InstrOf<'MV'>, 'cols' | 'rows'>): InstrOf<'MV'> => ({
  op: 'MV', wait: [], release: [], pattern: 0, wprec: 'int8', aprec: 'int8', acc: false, wsrc: 'weight', asrc: 'act', wbase: 0, mbase: 0, sbase: 0, abase: 0, obase: 0, ...f,
});
const mm = (f: Partial<InstrOf<'MM'>> & Pick<InstrOf<'MM'>, 'm' | 'k' | 'n'>): InstrOf<'MM'> => ({
  op: 'MM', wait: [], release: [], pattern: 0, wprec: 'int8', aprec: 'int8', acc: false, wsrc: 'weight', asrc: 'act', wbase: 0, mbase: 0, sbase: 0, abase: 0, obase: 0, ...f,
});
const setlen = (reg: number, imm: number | LenRef): InstrOf<'SYS'> => ({ op: 'SYS', wait: [], release: [], fn: 'setlen', reg: `L${reg}` as InstrOf<'SYS'>['reg'], imm });
const loopIns = (count: number | LenRef): InstrOf<'LOOP'> => ({ op: 'LOOP', wait: [], release: [], count, body: 0 });

/** Canonical dyn offset (as the decoder reads it back): unsigned for hex fields, signed otherwise. */
function canonicalOffset(f: FieldSpec, raw: number): number {
  const u = mod(raw, 2 ** f.width);
  return f.fmt === 'hex' || u < 2 ** (f.width - 1) ? u : u - 2 ** f.width;
}

interface OpOptions {
  /** Extra validity check on each resolved corner. */
  readonly extra?: (r: Instr) => boolean;
  /** Fields that may become dyn (default: every dyn field). */
  readonly dyn?: readonly string[];
  /** Probability of trying dyn fields (default 0.35). */
  readonly dynChance?: number;
  /** Force field -> register bindings (offsets computed to keep the base value). */
  readonly bind?: Readonly<Record<string, number>>;
  /** Do not emit, just return the checked instruction. */
  readonly dry?: boolean;
}

class Gen {
  readonly rng: Rng;
  readonly m: Machine;
  readonly L: number;
  readonly C: number;
  readonly CL: number;
  readonly top: Node[] = [];
  readonly loops: LoopCtx[] = [];
  readonly regs: (Affine | null)[] = new Array(8).fill(null);
  readonly regions: RegionData[] = [];
  private readonly sources = new Map<string, RegionData>();
  private readonly tops: Record<ExtSpace, number> = { hbm: 0, ddr: 0 };
  /** Mode index the meta beats hold valid indexes for (-1: unknown). */
  readonly metaPat: Int16Array;
  readonly ewrSlots = new Set<number>();
  /** Recent element ranges per buffer (to make dependencies likely) and tagged contents. */
  readonly recent = new Map<BufferName, number[]>();
  readonly tags = new Map<string, [number, number][]>();
  readonly maxLoopDepth: number;
  /** Top-level list positions between body items (where a failing snippet may go). */
  readonly topMarks: number[] = [];

  constructor(
    readonly hw: GenConfig,
    readonly seed: number,
    readonly opts: GenerateOptions,
  ) {
    this.rng = new Rng(seed);
    this.m = machineOf(hw);
    this.L = hw.chainLength;
    this.C = hw.chains;
    this.CL = this.L * this.C;
    this.metaPat = new Int16Array(hw.weightDepth).fill(-1);
    this.maxLoopDepth = Math.min(opts.loopDepth ?? 3, hw.loopDepth, GOLDEN_LOOP_DEPTH);
  }

  // --- small helpers -----------------------------------------------------------------------

  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  weighted<T>(items: readonly [T, number][]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let x = this.rng.next() * total;
    for (const [v, w] of items) if ((x -= w) < 0) return v;
    return items[items.length - 1]![0];
  }
  elements(buf: BufferName): number {
    return this.m.geo.buffers[buf].elements;
  }
  cur(): Node[] {
    return this.loops.length ? this.loops[this.loops.length - 1]!.body : this.top;
  }
  sparseModes(): number[] {
    return this.m.modes.map((_, i) => i).filter((i) => i > 0);
  }

  // --- registers -----------------------------------------------------------------------------

  evalAff(a: Affine, p: readonly number[]): number {
    let v = a.c;
    a.k.forEach((k, l) => (v += k * (p[l] ?? 0)));
    return v;
  }
  isConst(r: number): boolean {
    const a = this.regs[r];
    return !!a && a.k.every((k) => k === 0);
  }
  /** Corner points of the active loop nest: each counter at 0, 1 and its last value. */
  points(): number[][] {
    let pts: number[][] = [[]];
    for (const lp of this.loops) {
      const vals = [...new Set([0, Math.min(1, Math.max(0, lp.count - 1)), Math.max(0, lp.count - 1)])];
      pts = pts.flatMap((p) => vals.map((v) => [...p, v]));
    }
    return pts;
  }
  /** Every iteration point of the active nest (up to `limit`; beyond that only the corners). */
  allPoints(limit = 512): number[][] {
    let pts: number[][] = [[]];
    for (const lp of this.loops) {
      pts = pts.flatMap((p) => Array.from({ length: lp.count }, (_, i) => [...p, i]));
      if (pts.length > limit) return this.points();
    }
    return pts;
  }
  regsAt(p: readonly number[]): number[] {
    return this.regs.map((a) => (a ? this.evalAff(a, p) : NaN));
  }
  markRead(r: number): void {
    for (const lp of this.loops) lp.reads.add(r);
  }
  /** Registers a new loop (or setlen) may take over at this point. */
  freeRegs(): number[] {
    const owned = new Set(this.loops.flatMap((l) => l.owned));
    const read = new Set(this.loops.flatMap((l) => [...l.reads]));
    return [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !owned.has(r) && !read.has(r));
  }
  setReg(r: number, v: Affine | null): void {
    this.regs[r] = v;
    for (const lp of this.loops) lp.setInside.add(r);
  }

  // --- memory --------------------------------------------------------------------------------

  alloc(name: string, kind: string, data: Uint8Array, align: number, dtype?: Dtype, space?: ExtSpace): RegionData {
    const sp = space ?? (this.chance(0.5) ? 'hbm' : 'ddr');
    const base = Math.ceil(this.tops[sp] / 64) * 64;
    // Unaligned region starts: the engines must handle any byte address.
    const addr = base + (this.chance(0.7) ? this.rng.int(1, 63) : 0);
    this.tops[sp] = addr + data.length;
    const r: RegionData = { name, kind, space: sp, addr, bytes: data.length, data, align, dtype };
    this.regions.push(r);
    return r;
  }

  randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 16) {
      const mode = this.weighted([['rand', 5], ['small', 2], ['zero', 1], ['equal', 1], ['edge', 1]] as const);
      const eq = this.rng.int(0, 255);
      for (let j = i; j < Math.min(n, i + 16); j++) {
        out[j] = mode === 'rand' ? this.rng.int(0, 255) : mode === 'small' ? (this.rng.int(-8, 8) & 0xff) : mode === 'zero' ? 0 : mode === 'equal' ? eq : this.rng.pick([0x80, 0x7f, 0xff, 0x00, 0x01]);
      }
    }
    return out;
  }

  int32Bytes(values: readonly number[]): Uint8Array {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setInt32(i * 4, v | 0, true));
    return b;
  }

  fxValues(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      const mode = this.weighted([['fx', 5], ['tiny', 1], ['zero', 1], ['equal', 1], ['neg', 1], ['big', 1]] as const);
      const eq = this.rng.int(-(2 ** 20), 2 ** 20);
      for (let j = 0; j < 8; j++) {
        out.push(
          mode === 'fx'
            ? this.rng.int(-(8 << 16), 8 << 16)
            : mode === 'tiny'
              ? this.rng.int(-700, 700)
              : mode === 'zero'
                ? 0
                : mode === 'equal'
                  ? eq
                  : mode === 'neg'
                    ? this.rng.pick([-(2 ** 31), -(2 ** 30), -(2 ** 31) + 1, this.rng.int(-(2 ** 31), -(2 ** 24))])
                    : this.rng.pick([2 ** 31 - 1, 2 ** 30, this.rng.int(2 ** 24, 2 ** 31 - 1)]),
        );
      }
    }
    return out.slice(0, n);
  }

  private readonly lanesOf = new Map<number, Uint8Array>();
  /** 16 beats of valid index lanes for sparse mode `mode` (shared by its sources in every dtype). */
  metaLanes(mode: number): Uint8Array {
    const have = this.lanesOf.get(mode);
    if (have) return have;
    const p = this.m.modes[mode] as NmPattern;
    // Every group of N consecutive lanes (segments are whole groups) holds N sorted positions of M.
    const groups = (16 * this.CL) / p.n;
    const out = new Uint8Array(16 * this.CL);
    const pool = new Uint8Array(p.m);
    let o = 0;
    for (let grp = 0; grp < groups; grp++) {
      // Partial Fisher-Yates: n distinct positions of m, then sorted.
      for (let i = 0; i < p.m; i++) pool[i] = i;
      for (let u = 0; u < p.n; u++) {
        const j = u + Math.floor(this.rng.next() * (p.m - u));
        const t = pool[u]!;
        pool[u] = pool[j]!;
        pool[j] = t;
      }
      out.set(pool.subarray(0, p.n).sort(), o);
      o += p.n;
    }
    this.lanesOf.set(mode, out);
    return out;
  }

  /** The source region of one kind (created on first use). */
  source(kind: string): RegionData {
    const have = this.sources.get(kind);
    if (have) return have;
    let r: RegionData;
    const [k, a1, a2] = kind.split(':');
    switch (k) {
      case 'raw':
        r = this.alloc(kind, k, this.randomBytes(2048), 1);
        break;
      case 'scratch':
        r = this.alloc(`${kind}`, k, this.randomBytes(4096), 1, undefined, a1 as ExtSpace);
        break;
      case 'fx':
        r = this.alloc(kind, k, this.int32Bytes(this.fxValues(512)), 4, 'int32');
        break;
      case 'scales': {
        const v = Array.from({ length: 256 }, () =>
          this.chance(0.85) ? packColumnScale({ m: this.rng.int(2 ** 15, 2 ** 16 - 1), sh: this.rng.int(8, 40) }) : packColumnScale({ m: this.rng.int(0, 2 ** 16 - 1), sh: this.rng.int(0, 47) }),
        );
        r = this.alloc(kind, k, this.int32Bytes(v), 4, 'int32');
        break;
      }
      case 'gamma': {
        const v = Array.from({ length: 256 }, () => (this.chance(0.85) ? toFx(0.5 + this.rng.next()) : this.rng.pick([0, toFx(-1), toFx(4), this.rng.int(-(2 ** 20), 2 ** 20)])));
        r = this.alloc(kind, k, this.int32Bytes(v), 4, 'int32');
        break;
      }
      case 'freq': {
        // Consecutive RoPE tables for head sizes 2..64 (theta 10000), then random turns.
        const v: number[] = [];
        for (let hs = 2; hs <= 64; hs *= 2) for (let i = 0; i < hs / 2; i++) v.push(ropeFreqTurns(i, hs, 10000) | 0);
        while (v.length < 256) v.push(this.rng.int(0, 2 ** 32 - 1) | 0);
        r = this.alloc(kind, k, this.int32Bytes(v), 4, 'int32');
        break;
      }
      case 'grp': {
        // A grouped weight stream: blocks of 32 lanes, then two multipliers in 1..kmax.
        const prec = a1 as 'int4' | 'int8';
        const kmax = maxGroupMultiplier(prec, this.hw.weightWidth);
        const blocks = 96;
        const payload = prec === 'int8' ? 32 : 16;
        const data = new Uint8Array(blocks * (payload + 2));
        let o = 0;
        for (let b = 0; b < blocks; b++) {
          for (let i = 0; i < payload; i++) data[o++] = prec === 'int8' ? this.rng.int(-127, 127) & 0xff : this.rng.int(0, 255);
          data[o++] = this.chance(0.3) ? kmax : this.rng.int(1, kmax);
          data[o++] = this.chance(0.3) ? 1 : this.rng.int(1, kmax);
        }
        r = this.alloc(kind, k, data, payload + 2, prec);
        break;
      }
      case 'meta': {
        // Valid N:M indexes of mode a1 (sorted, distinct in each group), beat after beat, in dtype a2.
        const lanes = this.metaLanes(Number(a1));
        const dtype = a2 as Dtype;
        const bits = dtypeBits(dtype);
        const data = new Uint8Array((lanes.length * bits) / 8);
        lanes.forEach((v, j) => {
          if (bits === 4) data[j >> 1]! |= v << ((j & 1) * 4);
          else data[(j * bits) / 8] = v;
        });
        r = this.alloc(kind, k, data, (this.CL * bits) / 8, dtype);
        break;
      }
      default:
        throw new Error(`unknown source kind ${kind}`);
    }
    this.sources.set(kind, r);
    return r;
  }

  // --- emitting ------------------------------------------------------------------------------

  /** Every corner of the active loops resolves to an instruction the engines accept. */
  valid(ins: Instr, extra?: (r: Instr) => boolean): boolean {
    for (const p of this.points()) {
      const r = resolve(ins, this.regsAt(p));
      for (const f of dynFieldsOf(ins.op)) if (Number.isNaN((r as unknown as Record<string, number>)[f.name])) return false;
      try {
        if (checkInstr(this.hw, r)) return false;
        if (extra && !extra(r)) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Rewrites field `f` as L<reg>+c keeping its value at the first corner; undefined if it would wrap inside the nest. */
  bindField(ins: Instr, f: FieldSpec, reg: number): LenRef | undefined {
    const a = this.regs[reg];
    if (!a) return undefined;
    const v = (ins as unknown as Record<string, number>)[f.name]!;
    const zero = this.loops.map(() => 0);
    const raw = v - this.evalAff(a, zero);
    if (!this.isConst(reg)) {
      for (const p of this.points()) {
        const x = this.evalAff(a, p) + raw;
        if (x < 0 || x >= 2 ** f.width) return undefined;
      }
    }
    return { reg, offset: canonicalOffset(f, raw) };
  }

  dynify(ins: Instr, o: OpOptions): Instr | undefined {
    const op = OPS.get(ins.op)!;
    const allowed = dynFieldsOf(ins.op).filter((f) => !o.dyn || o.dyn.includes(f.name));
    const usable = [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => this.regs[r]);
    if (!allowed.length || !usable.length) return undefined;
    const inductions = this.loops.map((l) => l.reg).filter((r) => this.regs[r]);
    const out = { ...ins } as unknown as Record<string, unknown>;
    const n = this.rng.int(1, op.slots);
    const pick = [...allowed].sort(() => this.rng.next() - 0.5).slice(0, n);
    let any = false;
    for (const f of pick) {
      const reg = inductions.length && this.chance(0.7) ? this.rng.pick(inductions) : this.rng.pick(usable);
      const ref = this.bindField(ins, f, reg);
      if (ref) {
        out[f.name] = ref;
        any = true;
      }
    }
    return any ? (out as unknown as Instr) : undefined;
  }

  /** Checks `ins` at every corner, maybe makes some fields dyn, and emits it. */
  op(ins: Instr, o: OpOptions = {}): Instr | undefined {
    if (!this.valid(ins, o.extra)) return undefined;
    let out = ins;
    if (o.bind) {
      const b = { ...ins } as unknown as Record<string, unknown>;
      for (const [name, reg] of Object.entries(o.bind)) {
        const f = dynFieldsOf(ins.op).find((x) => x.name === name)!;
        const ref = this.bindField(ins, f, reg);
        if (!ref) return undefined;
        b[name] = ref;
      }
      out = b as unknown as Instr;
      if (!this.valid(out, o.extra)) return undefined;
    } else if (!o.dry && this.chance(o.dynChance ?? 0.35)) {
      const d = this.dynify(ins, o);
      if (d && this.valid(d, o.extra)) out = d;
    }
    if (o.dry) return out;
    for (const f of dynFieldsOf(out.op)) {
      const v = (out as unknown as Record<string, unknown>)[f.name];
      if (typeof v === 'object' && v) this.markRead((v as LenRef).reg);
    }
    this.cur().push({ ins: out });
    this.track(out);
    return out;
  }

  /** Bookkeeping after an op: recent ranges, meta patterns, row-scale slots. */
  track(ins: Instr): void {
    const exact = dynFieldsOf(ins.op).every((f) => typeof (ins as unknown as Record<string, unknown>)[f.name] === 'number');
    const note = (buf: BufferName, lo: number) => {
      const l = this.recent.get(buf) ?? [];
      l.push(lo);
      if (l.length > 8) l.shift();
      this.recent.set(buf, l);
    };
    const r = resolve(ins, this.regsAt(this.loops.map(() => 0)));
    if (r.op === 'SFU') {
      if (r.ewr) this.ewrSlots.add(r.ewr);
      note(r.dbuf, r.d as number);
    } else if (r.op === 'MM' || r.op === 'MV') note('acc', r.obase as number);
    else if (r.op === 'LD' || r.op === 'ST') {
      note(r.buf, (r.sram as number) * (r.buf === 'weight' || r.buf === 'meta' ? this.CL : 1));
      if (r.op === 'LD' && r.buf === 'meta') {
        // Which mode the loaded beats are valid for: exact when the rows do not move, else unknown.
        const src = this.regions.find((x) => x.kind === 'meta' && x.space === r.space && (r.addr as number) >= x.addr && (r.addr as number) < x.addr + x.bytes);
        const pat = src && exact ? Number(src.name.split(':')[1]) : -1;
        for (const p of this.allPoints()) {
          const rr = resolve(ins, this.regsAt(p)) as InstrOf<'LD'>;
          for (const row of transferRows(this.hw, rr)) this.metaPat.fill(pat, row.sa / this.CL, (row.sa + (rr.len as number)) / this.CL);
        }
      }
      if (r.op === 'LD' && exact) {
        const src = this.regions.find((x) => r.space === x.space && (r.addr as number) >= x.addr && (r.addr as number) < x.addr + x.bytes);
        if (src && ['scales', 'gamma', 'freq'].includes(src.kind)) {
          for (const row of transferRows(this.hw, r as InstrOf<'LD'>)) this.tag(`${r.buf}:${src.kind}`, row.sa, row.sa + (r.len as number));
        }
      }
    }
  }

  tag(name: string, lo: number, hi: number): void {
    const l = this.tags.get(name) ?? [];
    l.push([lo, hi]);
    this.tags.set(name, l);
  }

  /** A start for `n` elements in `buf` (multiple of `align`), often near a recent access. */
  place(buf: BufferName, n: number, align = 1, tag?: string): number | undefined {
    const E = this.elements(buf);
    const maxStart = Math.floor((E - n) / align);
    if (maxStart < 0) return undefined;
    const tagged = tag ? this.tags.get(tag)?.filter(([lo, hi]) => hi - lo >= n) : undefined;
    if (tagged?.length && this.chance(0.8)) {
      const [lo, hi] = this.rng.pick(tagged);
      const s = Math.ceil(this.rng.int(lo, hi - n) / align);
      if (s * align + n <= Math.min(hi, E)) return s * align;
    }
    const rec = this.recent.get(buf);
    if (rec?.length && this.chance(0.45)) {
      const s = Math.floor((this.rng.pick(rec) + this.rng.int(-4, 4)) / align);
      if (s >= 0 && s <= maxStart) return s * align;
    }
    return this.rng.int(0, maxStart) * align;
  }

  // --- LOOPs ---------------------------------------------------------------------------------

  /**
   * Opens a LOOP: setlen of the induction register (to an immediate or an outer register +
   * c), the LOOP itself (count immediate or from a register), and the increment at the start
   * or end of the body (closeLoop adds it there).
   */
  openLoop(o: { count: number; step: number; v0?: number; inc: 'start' | 'end'; reg?: number }): LoopCtx | undefined {
    if (this.loops.length >= this.maxLoopDepth) return undefined;
    const free = this.freeRegs();
    if (!free.length) return undefined;
    const r = o.reg ?? this.rng.pick(free);
    if (!free.includes(r)) return undefined;
    const level = this.loops.length;
    const owned = [r];
    // Start value: an immediate, or an enclosing induction register + c.
    const outer = this.loops.map((l) => l.reg).filter((x) => this.regs[x]);
    let v0: Affine;
    if (o.v0 === undefined && outer.length && this.chance(0.4)) {
      const s = this.rng.pick(outer);
      const c = this.rng.int(0, 16);
      v0 = { c: this.regs[s]!.c + c, k: [...this.regs[s]!.k] };
      this.cur().push({ ins: setlen(r, { reg: s, offset: c }) });
      this.markRead(s);
    } else {
      const c = o.v0 ?? this.rng.pick([0, 0, this.rng.int(0, 64)]);
      v0 = { c, k: [] };
      this.cur().push({ ins: setlen(r, c) });
    }
    this.setReg(r, null);
    // Count: immediate, or a register (sometimes one set just for it, with an offset).
    let count: number | LenRef = o.count;
    if (this.chance(0.35)) {
      const consts = [0, 1, 2, 3, 4, 5, 6, 7].filter((x) => x !== r && this.isConst(x));
      const spare = free.filter((x) => x !== r);
      if (consts.length && this.chance(0.5)) {
        const q = this.rng.pick(consts);
        count = { reg: q, offset: canonicalOffset({ width: 16, fmt: undefined } as FieldSpec, o.count - this.regs[q]!.c) };
        this.markRead(q);
      } else if (spare.length) {
        const q = this.rng.pick(spare);
        const off = this.rng.int(-3, 3);
        const val = o.count - off + (this.chance(0.2) ? 65536 : 0);
        if (val >= 0) {
          this.cur().push({ ins: setlen(q, val) });
          this.setReg(q, { c: val, k: [] });
          owned.push(q);
          count = { reg: q, offset: off };
          this.markRead(q);
        }
      }
    }
    const ctx: LoopCtx = { level, reg: r, count: o.count, body: [], reads: new Set(), owned, setInside: new Set(), snapshot: [...this.regs] };
    // The LOOP node is added to the parent now; its body fills in as the ctx's list.
    this.cur().push({ ins: loopIns(count), body: ctx.body });
    this.loops.push(ctx);
    const k = new Array<number>(level + 1).fill(0);
    v0.k.forEach((x, i) => (k[i] = x));
    k[level] = o.step;
    this.regs[r] = { c: v0.c + (o.inc === 'start' ? o.step : 0), k };
    (ctx as { inc?: { step: number; v0: Affine; where: 'start' | 'end' } }).inc = { step: o.step, v0, where: o.inc };
    if (o.inc === 'start') ctx.body.push({ ins: setlen(r, { reg: r, offset: o.step }) });
    return ctx;
  }

  closeLoop(): void {
    const ctx = this.loops[this.loops.length - 1]!;
    const inc = (ctx as unknown as { inc: { step: number; v0: Affine; where: 'start' | 'end' } }).inc;
    if (inc.where === 'end') ctx.body.push({ ins: setlen(ctx.reg, { reg: ctx.reg, offset: inc.step }) });
    if (ctx.body.length === 0) ctx.body.push({ ins: SYNC });
    this.loops.pop();
    const N = ctx.count;
    // Registers after the loop: the induction register is v0 + step * N; registers set inside
    // keep their value from the last iteration (or their old value when the body never ran).
    for (const x of ctx.setInside) {
      if (x === ctx.reg) continue;
      const a = this.regs[x];
      if (N === 0) this.regs[x] = ctx.snapshot[x] ?? null;
      else if (a) this.regs[x] = { c: a.c + (a.k[ctx.level] ?? 0) * (N - 1), k: a.k.slice(0, ctx.level) };
    }
    this.regs[ctx.reg] = { c: inc.v0.c + inc.step * N, k: inc.v0.k.slice(0, ctx.level) };
    for (const lp of this.loops) {
      for (const x of ctx.setInside) lp.setInside.add(x);
      lp.setInside.add(ctx.reg);
      for (const x of ctx.owned) lp.setInside.add(x);
      for (const x of ctx.reads) lp.reads.add(x);
    }
    for (const x of ctx.owned) if (x !== ctx.reg && this.loops.length) this.loops[this.loops.length - 1]!.setInside.add(x);
  }

  // --- instruction generators ---------------------------------------------------------------

  pickDtype(): Dtype {
    return this.weighted([['int4', 2], ['int8', 4], ['int16', 2], ['int32', 2]] as const);
  }

  /** Loop nest of a transfer: counts and strides (in on-chip units and bytes). */
  nest(rowUnits: number, rowBytes: number, eAlign: number, allowZero = true): { c: number[]; s: number[]; e: number[] } {
    const depth = this.weighted([[1, 4], [2, 3], [3, 2]] as const);
    const c = [this.rng.int(1, 4), depth >= 2 ? this.rng.int(1, 3) : 1, depth >= 3 ? this.rng.int(1, 2) : 1];
    if (allowZero && this.chance(0.03)) c[this.rng.int(0, 2)] = 0;
    const gap = () => (this.chance(0.6) ? 0 : this.rng.int(1, 3));
    const s0 = this.chance(0.08) ? 0 : this.chance(0.05) ? Math.max(0, rowUnits - 1) : rowUnits + gap();
    const s1 = c[0]! * s0 + gap();
    const s2 = c[1]! * s1 + gap();
    const eg = () => (this.chance(0.5) ? 0 : this.rng.int(1, 5) * eAlign);
    const roundUp = (x: number) => Math.ceil(x / eAlign) * eAlign;
    const e0 = this.chance(0.08) ? 0 : roundUp(rowBytes) + eg();
    const e1 = roundUp(c[0]! * e0) + eg();
    const e2 = roundUp(c[1]! * e1) + eg();
    const s = [s0, s1, s2];
    const e = [e0, e1, e2];
    // Strides of unused levels are ignored: give them junk.
    for (let i = 0; i < 3; i++) {
      if (c[i] === 1 && this.chance(0.3)) {
        s[i] = this.rng.int(0, 300);
        e[i] = this.rng.int(0, 5000);
      }
    }
    return { c, s, e };
  }

  /** Rows of a resolved transfer stay inside the region, at its row alignment. */
  inRegion(region: RegionData): (r: Instr) => boolean {
    return (r) => {
      const t = r as InstrOf<'LD'>;
      const rb = rowBytesOf(t, t.len as number);
      for (const row of transferRows(this.hw, t, 4096)) {
        if (row.ea < region.addr || row.ea + rb > region.addr + region.bytes || (row.ea - region.addr) % region.align !== 0) return false;
      }
      return true;
    };
  }

  /** Picks source kind and dtype for an LD into `buf`. */
  ldSource(buf: BufferName, pattern?: number): { kind: string; dtype: Dtype; grp: boolean } {
    const raw = (): { kind: string; dtype: Dtype; grp: boolean } => ({ kind: this.chance(0.8) ? 'raw' : `scratch:${this.chance(0.5) ? 'hbm' : 'ddr'}`, dtype: this.pickDtype(), grp: false });
    switch (buf) {
      case 'weight':
        if (this.chance(0.4)) {
          const prec = this.chance(0.6) ? 'int4' : 'int8';
          return { kind: `grp:${prec}`, dtype: prec, grp: true };
        }
        return raw();
      case 'meta': {
        const sparse = this.sparseModes();
        if (!sparse.length) return raw();
        const p = pattern ?? this.rng.pick(sparse);
        const dtype = this.weighted([['int4', 3], ['int8', 3], ['int16', 1], ['int32', 1]] as const);
        return { kind: `meta:${p}:${dtype}`, dtype, grp: false };
      }
      case 'scale':
        return this.chance(0.75) ? { kind: 'scales', dtype: 'int32', grp: false } : this.chance(0.5) ? { kind: 'fx', dtype: 'int32', grp: false } : raw();
      case 'bias':
        return this.chance(0.7) ? { kind: this.rng.pick(['gamma', 'freq', 'fx']), dtype: 'int32', grp: false } : raw();
      case 'global':
        return this.chance(0.6) ? { kind: 'fx', dtype: 'int32', grp: false } : raw();
      default:
        return raw();
    }
  }

  /** A random LD (or the one covering [lo, lo + rows * len) exactly when `exact` is given). */
  genLD(o: { buf?: BufferName; pattern?: number; exact?: { sram: number; len: number; rows: number }; kind?: string; dtype?: Dtype; dry?: boolean; dyn?: boolean } = {}): Instr | undefined {
    const buf = o.buf ?? this.weighted(LOADABLE.map((b) => [b, b === 'weight' || b === 'global' || b === 'act' ? 3 : 2] as [BufferName, number]));
    const srcSpec = o.kind ? { kind: o.kind, dtype: o.dtype ?? 'int32', grp: o.kind.startsWith('grp') } : this.ldSource(buf, o.pattern);
    const region = this.source(srcSpec.kind);
    const dtype = region.dtype && srcSpec.kind !== 'raw' && !srcSpec.kind.startsWith('scratch') ? region.dtype : srcSpec.dtype;
    const bits = dtypeBits(dtype);
    const unit = buf === 'weight' || buf === 'meta' ? this.CL : 1;
    let mult = srcSpec.grp ? lcm(this.CL, 32) : unit;
    if (bits === 4) mult = lcm(mult, 2);
    for (let attempt = 0; attempt < 12; attempt++) {
      let len: number;
      let n: { c: number[]; s: number[]; e: number[] };
      const rowB = (l: number) => (srcSpec.grp ? weightStreamBytes(l, dtype as 'int4' | 'int8', true) : Math.ceil((l * bits) / 8));
      if (o.exact) {
        len = o.exact.len;
        const rb = rowB(len);
        const rows = o.exact.rows;
        const room = region.bytes - rb;
        const es = rows > 1 ? Math.floor(room / (rows - 1) / region.align) * region.align : 0;
        if (room < 0 || (rows > 1 && es < 0)) return undefined;
        const e0 = rows > 1 ? Math.min(es, this.rng.int(0, Math.max(0, Math.floor(es / region.align))) * region.align) : 0;
        n = { c: [rows, 1, 1], s: [len / unit, 0, 0], e: [e0, 0, 0] };
        if (rows > 1 && rows % 2 === 0 && this.chance(0.4)) n = { c: [rows / 2, 2, 1], s: [len / unit, (rows / 2) * (len / unit), 0], e: [e0, this.rng.int(0, Math.max(0, Math.floor((room - (rows / 2 - 1) * e0) / region.align))) * region.align, 0] };
      } else {
        const maxMult = Math.max(1, Math.floor(Math.min(this.elements(buf), unit > 1 ? 2 * this.CL : 64) / mult));
        len = this.chance(0.04) ? 0 : mult * this.rng.int(1, maxMult);
        n = this.nest(len / unit, rowB(len), region.align);
      }
      const rb = rowB(len);
      const live = n.c.every((x) => x > 0);
      const span = (st: number[]) => (live ? (n.c[0]! - 1) * st[0]! + (n.c[1]! - 1) * st[1]! + (n.c[2]! - 1) * st[2]! : 0);
      const bufExtent = live ? span(n.s) * unit + len : 0;
      const extExtent = live ? span(n.e) + rb : 0;
      if (bufExtent > this.elements(buf) || extExtent > region.bytes) continue;
      const sram = o.exact ? o.exact.sram / unit : (this.place(buf, Math.max(bufExtent, 1), unit) ?? 0) / unit;
      const k = this.rng.int(0, Math.floor((region.bytes - extExtent) / region.align));
      const chstep = this.chance(0.15);
      const ins = ld({
        buf, dtype, space: region.space, addr: region.addr + k * region.align, sram, len, grp: srcSpec.grp,
        chan: this.rng.int(0, chstep ? 63 - n.c[2]! : 63), chstep,
        count0: n.c[0]!, count1: n.c[1]!, count2: n.c[2]!, istride0: n.s[0]!, istride1: n.s[1]!, istride2: n.s[2]!, estride0: n.e[0]!, estride1: n.e[1]!, estride2: n.e[2]!,
      });
      const out = this.op(ins, { extra: this.inRegion(region), dry: o.dry, dynChance: o.dyn === false ? 0 : undefined });
      if (out) return out;
    }
    return undefined;
  }

  genST(o: { buf?: BufferName; dry?: boolean } = {}): Instr | undefined {
    const buf = o.buf ?? this.weighted(STORABLE.map((b) => [b, b === 'acc' || b === 'global' ? 3 : 2] as [BufferName, number]));
    const region = this.source(`scratch:${this.chance(0.5) ? 'hbm' : 'ddr'}`);
    const dtype = this.pickDtype();
    const bits = dtypeBits(dtype);
    for (let attempt = 0; attempt < 12; attempt++) {
      const len = this.chance(0.04) ? 0 : (bits === 4 ? 2 : 1) * this.rng.int(1, 32);
      const rb = Math.ceil((len * bits) / 8);
      const n = this.nest(len, rb, 1);
      const live = n.c.every((x) => x > 0);
      const span = (s: number[]) => (live ? (n.c[0]! - 1) * s[0]! + (n.c[1]! - 1) * s[1]! + (n.c[2]! - 1) * s[2]! : 0);
      const bufExtent = live ? span(n.s) + len : 0;
      const extExtent = live ? span(n.e) + rb : 0;
      if (bufExtent > this.elements(buf) || extExtent > region.bytes) continue;
      const sram = this.place(buf, Math.max(bufExtent, 1)) ?? 0;
      const chstep = this.chance(0.15);
      const ins = st({
        buf, dtype, space: region.space, addr: region.addr + this.rng.int(0, region.bytes - extExtent), sram, len,
        chan: this.rng.int(0, chstep ? 63 - n.c[2]! : 63), chstep,
        count0: n.c[0]!, count1: n.c[1]!, count2: n.c[2]!, istride0: n.s[0]!, istride1: n.s[1]!, istride2: n.s[2]!, estride0: n.e[0]!, estride1: n.e[1]!, estride2: n.e[2]!,
      });
      const out = this.op(ins, { extra: this.inRegion(region), dry: o.dry });
      if (out) return out;
    }
    return undefined;
  }

  /** Meta beats [b, b + n) all hold indexes valid for mode `p`: a start, or undefined. */
  metaRun(p: number, n: number): number | undefined {
    const starts: number[] = [];
    for (let s = 0; s + n <= this.metaPat.length; s++) {
      let ok = true;
      for (let i = s; i < s + n && ok; i++) ok = this.metaPat[i] === p;
      if (ok) starts.push(s);
    }
    return starts.length ? this.rng.pick(starts) : undefined;
  }

  genMX(o: { dry?: boolean; op?: 'MM' | 'MV'; wsrc?: 'weight' | 'kv' } = {}): Instr | undefined {
    const { L, CL } = this;
    for (let attempt = 0; attempt < 12; attempt++) {
      const isMM = (o.op ?? (this.chance(0.5) ? 'MM' : 'MV')) === 'MM';
      const wsrc = o.wsrc ?? (this.chance(0.25) ? 'kv' : 'weight');
      const pattern = wsrc === 'kv' ? 0 : this.rng.int(0, this.m.modes.length - 1);
      const g = chainGeometry(this.m.modes[pattern]!, L, this.hw.groupSize);
      const perBatch = this.C * g.segments;
      const windows = this.chance(0.04) ? 0 : this.rng.int(1, 3);
      const batches = this.rng.int(1, 3);
      const cols = windows === 0 ? 0 : (windows - 1) * L + (this.chance(0.5) ? L : this.rng.int(1, L));
      const rows = this.chance(0.04) ? 0 : (batches - 1) * perBatch + (this.chance(0.4) ? perBatch : this.rng.int(1, perBatch));
      const tokens = isMM ? (this.chance(0.04) ? 0 : this.rng.int(1, 4)) : 1;
      const beats = Math.ceil(rows / perBatch) * windows;
      const wBeats = wsrc === 'kv' ? Math.floor(this.elements('kv') / CL) : this.hw.weightDepth;
      if (beats > wBeats || tokens * windows > this.hw.actDepth || tokens * rows > this.hw.accDepth) continue;
      const wbeat = this.rng.int(0, wBeats - beats);
      let mbase = this.rng.int(0, Math.max(0, this.hw.weightDepth - 1));
      if (wsrc === 'weight' && pattern > 0 && beats > 0) {
        let run = this.metaRun(pattern, beats);
        if (run === undefined && !o.dry) {
          // Load indexes for this mode first.
          const at = this.rng.int(0, this.hw.weightDepth - beats);
          if (!this.genLD({ buf: 'meta', pattern, exact: { sram: at * CL, len: beats * CL, rows: 1 }, dyn: false })) continue;
          run = at;
        }
        if (run === undefined) continue;
        mbase = run;
      }
      const abase = (this.place('act', Math.max(1, tokens * windows * L), L) ?? 0);
      const obase = this.place('acc', Math.max(1, tokens * rows)) ?? 0;
      const common = {
        pattern, wprec: this.rng.pick(['int8', 'int4'] as const), aprec: this.rng.pick(['int8', 'int16'] as const), acc: this.chance(0.3), wsrc, asrc: 'act' as const,
        wbase: wsrc === 'kv' ? wbeat * CL : wbeat, mbase, sbase: this.rng.int(0, this.hw.accDepth - 1), abase, obase,
      };
      const ins = isMM ? mm({ ...common, m: tokens, k: cols, n: rows }) : mv({ ...common, cols, rows });
      const out = this.op(ins, { dry: o.dry });
      if (out) return out;
    }
    return undefined;
  }

  /** SFU operands must not partly overlap the result (exact in-place is fine). */
  sfuSelfOk(r: Instr): boolean {
    const s = r as InstrOf<'SFU'>;
    const len = s.len as number;
    const rows = s.rows as number;
    const n = len * rows;
    if (n === 0) return true;
    const dp = s.dpitch || len;
    const d = s.d as number;
    const dHi = d + (rows - 1) * dp + len;
    const hit = (buf: BufferName, lo: number, hi: number) => buf === s.dbuf && lo < dHi && d < hi;
    const a = s.a as number;
    if (hit(s.abuf, a, a + n) && !(a === d && dp === len)) return false;
    if (sfuUsesB(s)) {
      const b = s.b as number;
      const bl = sfuBLength(s);
      if (hit(s.bbuf, b, b + bl) && !(b === d && dp === len && (s.fn === 'add' || s.fn === 'mul'))) return false;
    }
    return true;
  }

  typeFor(buf: BufferName): SfuType {
    const bits = this.m.geo.buffers[buf].bits;
    if (this.chance(0.25)) return this.rng.pick(['int8', 'int16', 'int32'] as const);
    return bits <= 8 ? 'int8' : bits <= 16 ? 'int16' : 'int32';
  }

  genSFU(o: { fn?: SfuFn; dry?: boolean } = {}): Instr | undefined {
    for (let attempt = 0; attempt < 16; attempt++) {
      const fn: SfuFn = o.fn ?? this.weighted([['copy', 2], ['add', 2], ['mul', 2], ['softmax', 2], ['rmsnorm', 2], ['layernorm', 1.5], ['silu', 1.5], ['gelu', 1.5], ['rope', 2], ['requant', 3]] as const);
      const rows = this.chance(0.03) ? 0 : this.weighted([[1, 3], [2, 2], [this.rng.int(3, 8), 2]] as const);
      let len: number;
      let hs = 0;
      if (fn === 'rope') {
        hs = this.rng.pick([2, 4, 8, 16, 32]);
        len = hs * this.rng.int(1, Math.max(1, Math.floor(48 / hs)));
      } else if (fn === 'rmsnorm' || fn === 'layernorm') len = this.rng.int(1, 48);
      else len = this.chance(0.03) ? 0 : this.rng.int(1, 48);
      const abuf: BufferName = fn === 'requant' && this.chance(0.7) ? 'acc' : this.weighted([['global', 5], ['act', 2], ['kv', 1], ['acc', 2], ['bias', 0.5], ['scale', 0.5]] as const);
      const dbuf: BufferName = this.weighted([['global', 5], ['act', 3], ['kv', 1], ['bias', 0.5], ['scale', 0.5]] as const);
      const itype = this.typeFor(abuf);
      const otype = this.typeFor(dbuf);
      let imm = 0;
      let shift = 0;
      let ewr = 0;
      let erd = 0;
      let causal = false;
      let pos = 0;
      let bbuf: BufferName = 'act';
      let btag: string | undefined;
      if (fn === 'rope') {
        imm = hs;
        shift = this.chance(0.8) ? 0 : this.rng.int(-32, 31);
        pos = this.rng.int(0, this.chance(0.2) ? 65535 : 300);
        bbuf = this.chance(0.8) ? 'bias' : this.rng.pick(SFU_READ);
        btag = `${bbuf}:freq`;
      } else if (fn === 'requant') {
        if (this.chance(0.5)) {
          bbuf = this.chance(0.85) ? 'scale' : this.rng.pick(SFU_READ);
          btag = `${bbuf}:scales`;
        } else {
          imm = this.rng.int(1, 65535);
          shift = this.rng.int(4, 28);
        }
        if (this.chance(0.3)) erd = this.ewrSlots.size && this.chance(0.8) ? this.rng.pick([...this.ewrSlots]) : this.rng.int(1, 7);
      } else {
        if (this.chance(0.55)) {
          imm = this.chance(0.8) ? this.rng.int(2 ** 12, 2 ** 16 - 1) : this.rng.int(1, 65535);
          shift = this.chance(0.85) ? this.rng.int(8, 24) : this.rng.int(-32, 31);
          if ((otype === 'int8' || otype === 'int16') && rows <= ROW_SCALE_ROWS && this.chance(0.3)) ewr = this.rng.int(1, 7);
        }
        if (fn === 'add' || fn === 'mul') bbuf = this.rng.pick(SFU_READ);
        if (fn === 'rmsnorm' || fn === 'layernorm') {
          bbuf = this.chance(0.75) ? 'bias' : this.rng.pick(SFU_READ);
          btag = `${bbuf}:gamma`;
        }
        if (fn === 'softmax') {
          causal = this.chance(0.5);
          pos = this.chance(0.3) ? 0 : this.rng.int(0, len + 4);
        }
      }
      const dpitch = rows > 1 && this.chance(0.3) ? len + this.rng.int(0, 8) : this.chance(0.05) ? len : 0;
      const dp = dpitch || len;
      const n = rows * len;
      const a = this.place(abuf, Math.max(1, n));
      if (a === undefined) continue;
      const inPlace = this.m.geo.buffers[abuf].sfuWrite && dp === len && this.chance(0.12);
      const dTo = inPlace ? abuf : dbuf;
      const d = inPlace ? a : this.place(dTo, Math.max(1, rows ? (rows - 1) * dp + len : 1));
      if (d === undefined) continue;
      const probe = sfu({ fn, abuf, dbuf: dTo, len, rows, a, d, imm, shift });
      const bl = sfuUsesB(probe) ? sfuBLength(probe) : 0;
      const b = bl ? (this.place(bbuf, bl, 1, btag) ?? 0) : 0;
      const ins = sfu({ fn, causal, itype, otype, shift, imm, len, rows, pos, abuf, bbuf, dbuf: dTo, ewr, erd, a, b, d, dpitch });
      const out = this.op(ins, { extra: (r) => this.sfuSelfOk(r), dry: o.dry });
      if (out) return out;
    }
    return undefined;
  }

  genSetlen(): void {
    const free = this.freeRegs();
    if (!free.length || this.loops.length) return;
    const r = this.rng.pick(free);
    const consts = [0, 1, 2, 3, 4, 5, 6, 7].filter((x) => x !== r && this.isConst(x));
    if (consts.length && this.chance(0.3)) {
      const s = this.rng.pick(consts);
      const c = this.rng.int(-64, 256);
      const v = mod(this.regs[s]!.c + c, 2 ** 32);
      this.cur().push({ ins: setlen(r, { reg: s, offset: c }) });
      this.setReg(r, { c: v, k: [] });
      return;
    }
    const v = this.weighted([
      [this.rng.int(0, 64), 3],
      [this.rng.int(0, 4096), 3],
      [2 ** 16 + this.rng.int(0, 255), 1],
      [2 ** 20 + this.rng.int(0, 255), 1],
      [2 ** 32 - this.rng.int(1, 300), 1],
    ] as const);
    this.cur().push({ ins: setlen(r, v) });
    this.setReg(r, { c: v, k: [] });
  }

  /** One body item: an op, a setlen or a LOOP nest. */
  item(budget: { left: number }): void {
    budget.left--;
    const inLoop = this.loops.length > 0;
    const kind = this.weighted([
      ['LD', 3],
      ['ST', 2],
      ['MX', 3],
      ['SFU', 5],
      ['setlen', inLoop ? 0 : 1],
      ['loop', this.loops.length < this.maxLoopDepth ? (inLoop ? 1 : 2) : 0],
    ] as const);
    switch (kind) {
      case 'LD':
        this.genLD();
        return;
      case 'ST':
        this.genST();
        return;
      case 'MX':
        this.genMX();
        return;
      case 'SFU':
        this.genSFU();
        return;
      case 'setlen':
        this.genSetlen();
        return;
      case 'loop': {
        const count = this.weighted([[0, 1], [1, 2], [this.rng.int(2, 4), 6]] as const);
        const step = this.rng.pick([0, 1, 2, 4, 8, this.L, 2 * this.L, this.CL]);
        if (!this.openLoop({ count, step, inc: this.chance(0.5) ? 'start' : 'end' })) return;
        const n = this.rng.int(1, 4);
        for (let i = 0; i < n && budget.left > 0; i++) this.item(budget);
        this.closeLoop();
        return;
      }
    }
  }

  // --- prologue and epilogue ----------------------------------------------------------------

  /** LDs covering all of `buf` (main rows plus a tail). */
  initBuffer(buf: BufferName): void {
    const E = this.elements(buf);
    const unit = buf === 'weight' || buf === 'meta' ? this.CL : 1;
    const chunks: { lo: number; hi: number; kind?: string; pattern?: number }[] = [];
    if (buf === 'meta' && this.sparseModes().length) {
      const sp = this.sparseModes();
      const beats = E / this.CL;
      sp.forEach((p, i) => {
        const lo = Math.floor((beats * i) / sp.length) * this.CL;
        const hi = Math.floor((beats * (i + 1)) / sp.length) * this.CL;
        if (hi > lo) chunks.push({ lo, hi, pattern: p });
      });
    } else if (buf === 'bias') {
      const half = Math.floor(E / 2);
      chunks.push({ lo: 0, hi: half, kind: 'gamma' }, { lo: half, hi: E, kind: 'freq' });
    } else chunks.push({ lo: 0, hi: E });
    for (const ch of chunks) {
      let lo = ch.lo;
      let guard = 0;
      while (lo < ch.hi && guard++ < 8) {
        const src = ch.kind ? { kind: ch.kind, dtype: 'int32' as Dtype, grp: false } : this.ldSource(buf, ch.pattern);
        const bits = dtypeBits(src.dtype);
        let mult = src.grp ? lcm(this.CL, 32) : unit;
        if (bits === 4) mult = lcm(mult, 2);
        const left = ch.hi - lo;
        if (left < mult) {
          // A tail the grouped/int4 rows cannot cover: plain int8 rows.
          if (left % unit) break;
          if (!this.genLD({ buf, exact: { sram: lo, len: left, rows: 1 }, kind: buf === 'meta' && ch.pattern ? `meta:${ch.pattern}:int8` : 'raw', dtype: 'int8', dyn: false })) break;
          lo = ch.hi;
          continue;
        }
        const len = mult * Math.max(1, Math.min(Math.floor(left / mult), this.rng.int(1, Math.max(1, Math.floor(128 / mult)))));
        const rows = Math.floor(left / len);
        if (this.genLD({ buf, exact: { sram: lo, len, rows }, kind: src.kind, dtype: src.dtype, dyn: false })) lo += rows * len;
      }
      if (lo < ch.hi) throw new Error(`fuzz generator: cannot initialize ${buf}[${lo}..${ch.hi - 1}] (seed ${this.seed})`);
    }
  }

  /** MM/MV tiles writing every accumulator (dense, one window): sometimes as a LOOP with a dyn obase. */
  initAcc(): void {
    const R = this.C;
    const A = this.hw.accDepth;
    const T = Math.max(1, Math.min(Math.floor(A / R), this.hw.actDepth, 16));
    const tiles = Math.floor(A / (R * T));
    let covered = 0;
    const tile = (obase: number, bind?: number) => {
      const ins = mm({ m: T, k: this.rng.int(1, this.L), n: R, wbase: this.rng.int(0, this.hw.weightDepth - 1), abase: 0, obase, acc: false });
      return this.op(ins, { bind: bind === undefined ? undefined : { obase: bind }, dynChance: 0 });
    };
    if (tiles >= 2 && this.chance(0.5)) {
      const ctx = this.openLoop({ count: tiles, step: R * T, v0: 0, inc: this.chance(0.5) ? 'start' : 'end' });
      if (ctx) {
        const ok = tile(0, ctx.reg);
        this.closeLoop();
        if (!ok) throw new Error('fuzz generator: acc init tile rejected');
        covered = tiles * R * T;
      }
    }
    while (covered < A) {
      const rem = A - covered;
      if (rem >= R * T) {
        if (!tile(covered)) throw new Error('fuzz generator: acc init tile rejected');
        covered += R * T;
      } else {
        const ins = mv({ cols: this.rng.int(1, this.L), rows: rem, wbase: 0, abase: 0, obase: covered });
        if (!this.op(ins, { dynChance: 0 })) throw new Error('fuzz generator: acc init MV rejected');
        covered = A;
      }
    }
  }

  prologue(): void {
    for (let i = this.rng.int(1, 3); i > 0; i--) this.genSetlen();
    if (this.opts.init ?? true) {
      const order = [...LOADABLE].sort(() => this.rng.next() - 0.5);
      for (const b of order) this.initBuffer(b);
      this.initAcc();
    }
  }

  body(size: number): void {
    const budget = { left: size };
    while (budget.left > 0) {
      this.item(budget);
      this.topMarks.push(this.top.length);
    }
  }

  /** STs of every written element of every storable buffer into fresh dump regions. */
  dumps(): void {
    const an = analyze(this.hw, flatten([...this.top, { ins: END }]), { tokens: false, races: false, uninit: false });
    if (an.walk.error) throw new Error(`fuzz generator: program walk failed: ${an.walk.error.message}`);
    const bufs = [...STORABLE].sort(() => this.rng.next() - 0.5);
    for (const buf of bufs) {
      const ivs = an.written.writes.get(buf);
      if (!ivs) continue;
      const bits = this.m.geo.buffers[buf].bits;
      for (const [lo, hi] of ivs) {
        const dtype: Dtype = bits > 16 ? 'int32' : bits > 8 ? this.rng.pick(['int16', 'int32'] as const) : this.rng.pick(['int8', 'int8', 'int16', 'int32'] as const);
        const eb = dtypeBits(dtype) / 8;
        const n = hi! - lo!;
        const region = this.alloc(`dump:${buf}:${lo}`, 'dump', this.randomBytes(n * eb), 1);
        let at = 0;
        while (at < n) {
          const left = n - at;
          const len = Math.min(left, this.rng.pick([8, 16, 24, 32, 64, 100]));
          const rows = Math.min(Math.floor(left / len), 65535);
          let c0 = rows;
          let c1 = 1;
          if (rows >= 4 && rows % 2 === 0 && this.chance(0.5)) {
            c0 = rows / 2;
            c1 = 2;
          }
          const ins = st({
            buf, dtype, space: region.space, addr: region.addr + at * eb, sram: lo! + at, len, chan: this.rng.int(0, 63),
            count0: c0, count1: c1, istride0: len, istride1: c0 * len, estride0: len * eb, estride1: c0 * len * eb,
          });
          if (!this.op(ins, { dynChance: 0 })) throw new Error(`fuzz generator: dump of ${buf} rejected`);
          at += c0 * c1 * len;
        }
      }
    }
  }

  memory(): MemoryImage {
    const mem = new MemoryImage(Math.ceil((this.tops.hbm + 1) / 64) * 64, Math.ceil((this.tops.ddr + 1) / 64) * 64);
    for (const r of this.regions) mem.space(r.space).set(r.data, r.addr);
    return mem;
  }

  describe(instrs: readonly Instr[]): ProgramDescription {
    const counts: Record<string, number> = {};
    for (const i of instrs) {
      const k = i.op === 'SFU' || i.op === 'SYS' ? `${i.op}.${i.fn}` : i.op;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    const hw = this.hw;
    const modes = this.m.modes.map(patternName).join(',');
    const summary = `seed ${this.seed}: ${instrs.length} instructions on C=${hw.chains} L=${hw.chainLength} (modes ${modes}, act ${hw.actWidth}b, weight ${hw.weightWidth}b), ${Object.entries(counts)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ')}`;
    return { seed: this.seed, summary, regions: this.regions.map(({ name, space, addr, bytes }) => ({ name, space, addr, bytes })), counts };
  }
}

/** The program's top-level list with the final sync, dumps and end appended; flattened with loop syncs. */
function finish(g: Gen): Instr[] {
  g.top.push({ ins: { ...SYNC } });
  g.dumps();
  g.top.push({ ins: END });
  return flatten(addLoopSyncs(g.top));
}

/**
 * A valid random program for `hw`: runs on the golden model without error, ends with SYS end and
 * every token consumed, touches buffers only as accelGeometry allows, reads no undefined buffer
 * element, and computes the same memory image under every legal schedule of the four queues.
 */
export function randomProgram(hw: GenConfig, seed: number, opts: GenerateOptions = {}): FuzzProgram {
  const g = new Gen(hw, seed, opts);
  g.prologue();
  g.body(opts.size ?? g.rng.int(12, 40));
  const instrs = assignTokens(hw, finish(g));
  return { hw, seed, instrs, words: encodeProgram(instrs), memory: g.memory(), description: g.describe(instrs) };
}

// ---------------------------------------------------------------------------------------------
// Failing programs

/** The failure kinds `randomFailingProgram` can build for `hw`. */
export function failureKinds(hw: GenConfig): string[] {
  const m = machineOf(hw);
  const kinds = [
    'range:ld', 'range:st', 'range:sfu', 'range:mx-acc', 'range:mx-weight', 'range:mx-act',
    'align:abase', 'align:kv-wbase', 'align:beat',
    'access:ld-acc', 'access:st-weight', 'access:st-meta', 'access:sfu-write-acc', 'access:sfu-write-weight', 'access:sfu-read-meta', 'access:mx-global',
    'format:grp-buf', 'format:grp-dtype', 'format:int4-odd', 'format:fp16', 'format:dpitch', 'format:rope', 'format:ewr-imm', 'format:ewr-fn', 'format:erd',
    'tokens', 'deadlock', 'loopBody:empty', 'loopBody:past', 'endInLoop',
    'decode:opcode', 'decode:reserved', 'decode:enum',
  ];
  if (m.modes.length < 16) kinds.push('pattern:range');
  if (m.modes.length > 1) kinds.push('pattern:kv');
  if (hw.loopDepth === GOLDEN_LOOP_DEPTH) kinds.push('loopDepth');
  if (m.geo.buffers.global.elements >= 257 && m.geo.buffers.act.elements >= 257) kinds.push('format:ewr-rows');
  return kinds;
}

const CLASS_OF: Record<string, ErrClass> = {
  range: 'range', align: 'align', access: 'access', pattern: 'pattern', format: 'format', tokens: 'tokens', deadlock: 'deadlock',
  loopBody: 'loopBody', loopDepth: 'loopDepth', endInLoop: 'endInLoop',
};

/** The bad instruction(s) of a failure kind, and which of them fails. */
function badSnippet(g: Gen, kind: string): { instrs: Instr[]; fails: number; corrupt?: (words: Uint32Array) => void; atEnd?: boolean } | undefined {
  const { hw, L, CL } = g;
  const E = (b: BufferName) => g.elements(b);
  const raw = g.source('raw');
  const scratch = g.source('scratch:ddr');
  const one = (i: Instr | undefined) => (i ? { instrs: [i], fails: 0 } : undefined);
  const copy = { fn: 'copy' as const, itype: 'int32' as const, otype: 'int32' as const, abuf: 'global' as BufferName, dbuf: 'global' as BufferName, len: 4, rows: 1, a: 0, d: 8 };
  switch (kind) {
    case 'range:ld':
      return one(ld({ buf: 'global', dtype: 'int8', space: raw.space, addr: raw.addr, sram: E('global') - 3, len: 4 }));
    case 'range:st':
      return one(st({ buf: 'acc', dtype: 'int32', space: scratch.space, addr: scratch.addr, sram: E('acc') - 2, len: 4 }));
    case 'range:sfu':
      return one(sfu({ ...copy, dbuf: 'act', d: E('act') - 2 }));
    case 'range:mx-acc':
      return one(mv({ cols: L, rows: g.C, obase: hw.accDepth - 1 }));
    case 'range:mx-weight':
      return one(mv({ cols: L, rows: g.C, wbase: hw.weightDepth }));
    case 'range:mx-act':
      return one(mv({ cols: L, rows: g.C, abase: E('act') }));
    case 'align:abase':
      return one(mv({ cols: L, rows: g.C, abase: L + 1 }));
    case 'align:kv-wbase':
      return one(mv({ cols: L, rows: g.C, wsrc: 'kv', wbase: CL + 1 }));
    case 'align:beat':
      return one(ld({ buf: 'weight', dtype: 'int8', space: raw.space, addr: raw.addr, sram: 0, len: CL + 2 }));
    case 'access:ld-acc':
      return one(ld({ buf: 'acc', dtype: 'int32', space: raw.space, addr: raw.addr, sram: 0, len: 4 }));
    case 'access:st-weight':
    case 'access:st-meta':
      return one(st({ buf: kind.endsWith('weight') ? 'weight' : 'meta', dtype: 'int8', space: scratch.space, addr: scratch.addr, sram: 0, len: CL }));
    case 'access:sfu-write-acc':
      return one(sfu({ ...copy, dbuf: 'acc', d: 0 }));
    case 'access:sfu-write-weight':
      return one(sfu({ ...copy, dbuf: 'weight', d: 0 }));
    case 'access:sfu-read-meta':
      return one(sfu({ ...copy, abuf: 'meta', a: 0 }));
    case 'access:mx-global':
      return one(mv({ cols: L, rows: g.C, asrc: 'global' }));
    case 'pattern:range':
      return one(mv({ cols: L, rows: g.C, pattern: g.m.modes.length }));
    case 'pattern:kv':
      return one(mv({ cols: L, rows: g.C, wsrc: 'kv', pattern: 1 }));
    case 'format:grp-buf':
      return one(ld({ buf: 'act', dtype: 'int8', space: raw.space, addr: raw.addr, sram: 0, len: 32, grp: true }));
    case 'format:grp-dtype':
      return one(ld({ buf: 'weight', dtype: 'int16', space: raw.space, addr: raw.addr, sram: 0, len: lcm(CL, 32), grp: true }));
    case 'format:int4-odd':
      return one(ld({ buf: 'global', dtype: 'int4', space: raw.space, addr: raw.addr, sram: 0, len: 5 }));
    case 'format:fp16':
      return one(sfu({ ...copy, [g.chance(0.5) ? 'itype' : 'otype']: 'fp16' }));
    case 'format:dpitch':
      return one(sfu({ ...copy, len: 8, rows: 2, dpitch: 5, d: 100 }));
    case 'format:rope':
      return one(sfu({ ...copy, fn: 'rope', len: 8, imm: g.rng.pick([0, 3, 6]), bbuf: 'bias', b: 0 }));
    case 'format:ewr-imm':
      return one(sfu({ ...copy, otype: 'int8', ewr: 1 }));
    case 'format:ewr-fn':
      return one(sfu({ ...copy, fn: 'requant', abuf: 'acc', otype: 'int8', imm: 0x4000, shift: 14, ewr: 2 }));
    case 'format:erd':
      return one(sfu({ ...copy, erd: 2 }));
    case 'format:ewr-rows':
      return one(sfu({ ...copy, otype: 'int8', dbuf: 'act', imm: 0x4000, shift: 14, ewr: 1, len: 1, rows: ROW_SCALE_ROWS + 1, a: 0, d: 0 }));
    case 'tokens': {
      const i = g.genLD({ buf: 'global', dry: true });
      return i ? { instrs: [{ ...i, release: ['MX'] } as Instr], fails: -1, atEnd: true } : undefined;
    }
    case 'deadlock': {
      const i = g.genSFU({ dry: true });
      return i ? { instrs: [{ ...i, wait: ['LD'] } as Instr], fails: 0 } : undefined;
    }
    case 'loopBody:empty':
      return { instrs: [{ ...loopIns(1), body: 0 }, { ...SYNC }], fails: 0 };
    case 'loopBody:past':
      return { instrs: [{ ...loopIns(1), body: 2 }, { ...loopIns(1), body: 5 }, ...Array.from({ length: 6 }, () => ({ ...SYNC }))], fails: 1 };
    case 'loopDepth':
      return { instrs: [5, 4, 3, 2, 1].map((b) => ({ ...loopIns(1), body: b }) as Instr).concat([{ ...SYNC }]), fails: 4 };
    case 'endInLoop':
      return { instrs: [{ ...loopIns(1), body: 1 }, END], fails: 1 };
    case 'decode:opcode':
    case 'decode:reserved':
    case 'decode:enum': {
      const i = kind === 'decode:enum' ? (g.chance(0.5) ? { ...SYNC } : g.genSFU({ dry: true })) : (g.genLD({ buf: 'global', dry: true }) ?? g.genSFU({ dry: true }));
      if (!i) return undefined;
      const op = OPS.get(i.op)!;
      const corrupt = (w: Uint32Array) => {
        if (kind === 'decode:opcode') {
          w[0] = (w[0]! & ~0xf) | g.rng.pick([0, 8, 9, 12, 15]);
        } else if (kind === 'decode:reserved') {
          const masks = usedMasks(op);
          const free: [number, number][] = [];
          masks.forEach((mk, wi) => {
            for (let b = 0; b < 32; b++) if (!((mk >>> b) & 1)) free.push([wi, b]);
          });
          const [wi, b] = g.rng.pick(free);
          w[wi] = (w[wi]! | (1 << b)) >>> 0;
        } else {
          const f = op.fields.find((x) => x.name === 'fn')!;
          const clear = new Uint32Array(w.length);
          putBits(clear, f, 2 ** f.width - 1);
          for (let k = 0; k < w.length; k++) w[k] = (w[k]! & ~clear[k]!) >>> 0;
          putBits(w, f, g.rng.int(f.values!.length, 2 ** f.width - 1));
        }
      };
      return { instrs: [i], fails: 0, corrupt };
    }
  }
  return undefined;
}

/**
 * A program that must stop with a given error: a valid random program with one bad snippet at
 * top level, fenced by SYS sync (so everything before it is complete when it fails). `kind`
 * picks the failure (see failureKinds); the default is random.
 */
export function randomFailingProgram(hw: GenConfig, seed: number, opts: GenerateOptions & { kind?: string } = {}): FuzzProgram & { expected: ExpectedError } {
  const g = new Gen(hw, seed, opts);
  g.prologue();
  g.body(opts.size ?? g.rng.int(4, 16));
  const kinds = failureKinds(hw);
  const kind = opts.kind ?? g.rng.pick(kinds);
  if (!kinds.includes(kind)) throw new RangeError(`failure kind ${kind} is not available for this configuration (${kinds.join(', ')})`);
  const snip = badSnippet(g, kind);
  if (!snip) throw new Error(`fuzz generator: cannot build failure ${kind} (seed ${seed})`);
  // The snippet goes after a top-level mark (a sync), so no token is pending there.
  const markNode: Node = { ins: { ...SYNC } };
  g.top.splice(g.topMarks.length ? g.rng.pick(g.topMarks) : g.top.length, 0, markNode);
  const shaped = finish(g);
  const m = shaped.indexOf(markNode.ins);
  if (m < 0) throw new Error('fuzz generator: lost the failure mark');
  let flat = assignTokens(hw, shaped);
  const pos = m + 1;
  flat = [...flat.slice(0, pos), ...snip.instrs, { ...SYNC }, ...flat.slice(pos)];
  const index = snip.atEnd ? flat.length - 1 : pos + snip.fails;
  const addrs = wordAddresses(flat);
  let words = encodeProgram(flat);
  if (snip.corrupt) {
    words = words.slice();
    const dv = new DataView(words.buffer, words.byteOffset, words.byteLength);
    const from = addrs[pos]!;
    const sub = Uint32Array.from({ length: OPS.get(flat[pos]!.op)!.words }, (_, k) => dv.getUint32((from + k) * 4, true));
    snip.corrupt(sub);
    sub.forEach((v, k) => dv.setUint32((from + k) * 4, v, true));
  }
  const errClass: ErrClass = kind.startsWith('decode:') ? (kind === 'decode:opcode' ? 'opcode' : kind === 'decode:reserved' ? 'reserved' : 'enumValue') : CLASS_OF[kind.split(':')[0]!]!;
  const expected: ExpectedError = { kind, errClass, index, wordAddr: addrs[index]! };
  return { hw, seed, instrs: flat, words, memory: g.memory(), description: g.describe(flat), expected };
}

// ---------------------------------------------------------------------------------------------
// Coverage

/** Features of the executed instructions (dynamic, resolved): what a set of programs exercised. */
export function features(hw: GenConfig, instrs: readonly Instr[]): Set<string> {
  const out = new Set<string>();
  const m = machineOf(hw);
  for (const i of instrs) {
    for (const f of dynFieldsOf(i.op)) if (typeof (i as unknown as Record<string, unknown>)[f.name] === 'object') out.add(`dyn.${i.op}.${f.name}`);
    if (i.wait.length) out.add('tokens');
  }
  const w = walk(instrs, { tokens: false });
  let depth = 0;
  for (const { ins } of w.steps) {
    switch (ins.op) {
      case 'LD':
      case 'ST': {
        out.add(`${ins.op}.${ins.buf}.${ins.dtype}`);
        out.add(`${ins.op}.${ins.buf}`);
        out.add(`${ins.op}.${ins.dtype}`);
        if (ins.grp) out.add(`LD.grp.${ins.dtype}`);
        const levels = [ins.count0, ins.count1, ins.count2].filter((c) => (c as number) > 1).length;
        out.add(`${ins.op}.nest${levels}`);
        if ([ins.count0, ins.count1, ins.count2].includes(0) || ins.len === 0) out.add(`${ins.op}.empty`);
        if ((ins.addr as number) % m.geo.axiBytes !== 0) out.add(`${ins.op}.unaligned`);
        if (ins.chstep) out.add(`${ins.op}.chstep`);
        break;
      }
      case 'MM':
      case 'MV': {
        out.add(ins.op);
        out.add(`MX.pattern.${ins.pattern}`);
        out.add(`${ins.op}.wsrc.${ins.wsrc}`);
        if (ins.acc) out.add('MX.acc');
        const t = tileOf(m, ins);
        if (t && t.windows * t.beats * t.tokens === 0) out.add('MX.empty');
        if (t && t.cols % hw.chainLength !== 0) out.add('MX.partialWindow');
        break;
      }
      case 'SFU': {
        out.add(`SFU.${ins.fn}`);
        out.add(`SFU.otype.${ins.otype}`);
        out.add(`SFU.itype.${ins.itype}`);
        if (ins.fn === 'softmax') out.add(ins.causal ? ((ins.pos as number) > 0 ? 'SFU.softmax.causal.pos' : 'SFU.softmax.causal') : 'SFU.softmax.plain');
        if (ins.fn === 'requant') out.add(ins.imm === 0 ? 'SFU.requant.scales' : 'SFU.requant.imm');
        if (ins.ewr) out.add('SFU.ewr');
        if (ins.erd) out.add('SFU.erd');
        if (ins.dpitch && ins.dpitch !== ins.len) out.add('SFU.dpitch');
        if (ins.imm && ins.fn !== 'rope' && ins.fn !== 'requant') out.add('SFU.scaled');
        if ((ins.len as number) * (ins.rows as number) === 0) out.add('SFU.empty');
        if (ins.abuf === ins.dbuf && ins.a === ins.d && (ins.len as number) > 0) out.add('SFU.inPlace');
        out.add(`SFU.a.${ins.abuf}`);
        out.add(`SFU.d.${ins.dbuf}`);
        break;
      }
      case 'SYS':
        out.add(`SYS.${ins.fn}`);
        break;
      case 'LOOP':
        out.add((ins.count as number) === 0 ? 'LOOP.count0' : 'LOOP');
        break;
    }
  }
  // Static LOOP nesting.
  const nest = (list: Node[], d: number) => {
    for (const n of list) {
      if (n.body) {
        depth = Math.max(depth, d + 1);
        nest(n.body, d + 1);
      }
    }
  };
  try {
    nest(parseTreeSafe(instrs), 0);
  } catch {
    // malformed (failing programs)
  }
  if (depth >= 2) out.add('LOOP.nested');
  for (const i of instrs) if (i.op === 'SYS' && i.fn === 'setlen' && typeof i.imm === 'object') out.add('SYS.setlen.dyn');
  for (const i of instrs) if (i.op === 'LOOP' && typeof i.count === 'object') out.add('LOOP.dynCount');
  return out;
}

function parseTreeSafe(instrs: readonly Instr[]): Node[] {
  const out: Node[] = [];
  const stack: { end: number; list: Node[] }[] = [{ end: instrs.length, list: out }];
  instrs.forEach((ins, i) => {
    while (stack.length > 1 && i >= stack[stack.length - 1]!.end) stack.pop();
    const node: Node = ins.op === 'LOOP' ? { ins, body: [] } : { ins };
    stack[stack.length - 1]!.list.push(node);
    if (node.body) stack.push({ end: i + 1 + (ins as InstrOf<'LOOP'>).body, list: node.body });
  });
  return out;
}

/** Features every large enough set of programs for `hw` should show (the coverage test's list). */
export function expectedFeatures(hw: GenConfig): string[] {
  const m = machineOf(hw);
  const out: string[] = [];
  for (const b of LOADABLE) for (const d of DTYPES) out.push(`LD.${b}.${d}`);
  for (const b of STORABLE) out.push(`ST.${b}`);
  for (const d of DTYPES) out.push(`ST.${d}`);
  out.push('LD.grp.int4', 'LD.grp.int8', 'LD.nest1', 'LD.nest2', 'LD.nest3', 'ST.nest2', 'ST.nest3', 'LD.unaligned', 'ST.unaligned', 'LD.empty', 'ST.empty', 'LD.chstep');
  out.push('MM', 'MV', 'MM.wsrc.kv', 'MV.wsrc.kv', 'MM.wsrc.weight', 'MV.wsrc.weight', 'MX.acc', 'MX.empty', 'MX.partialWindow');
  m.modes.forEach((_, i) => out.push(`MX.pattern.${i}`));
  for (const f of SFU_OPS) out.push(`SFU.${f}`);
  for (const t of ['int8', 'int16', 'int32']) out.push(`SFU.otype.${t}`, `SFU.itype.${t}`);
  out.push('SFU.softmax.causal', 'SFU.softmax.causal.pos', 'SFU.softmax.plain', 'SFU.requant.scales', 'SFU.requant.imm', 'SFU.ewr', 'SFU.erd', 'SFU.dpitch', 'SFU.scaled', 'SFU.empty', 'SFU.inPlace');
  for (const b of SFU_READ) out.push(`SFU.a.${b}`);
  for (const b of SFU_WRITE) out.push(`SFU.d.${b}`);
  out.push('SYS.setlen', 'SYS.setlen.dyn', 'SYS.sync', 'SYS.end', 'LOOP', 'LOOP.count0', 'LOOP.nested', 'LOOP.dynCount', 'tokens');
  for (const [op, fields] of [['LD', ['addr', 'sram', 'len', 'count0']], ['ST', ['addr', 'sram', 'len']], ['MM', ['m', 'k', 'n', 'wbase', 'abase', 'obase']], ['MV', ['cols', 'rows', 'wbase', 'abase', 'obase']], ['SFU', ['len', 'rows', 'pos', 'a', 'b', 'd']], ['SYS', ['imm']], ['LOOP', ['count']]] as const) {
    for (const f of fields) out.push(`dyn.${op}.${f}`);
  }
  return out;
}
