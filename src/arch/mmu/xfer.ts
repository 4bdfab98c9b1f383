/**
 * What the LD and ST engines (src/arch/mmu/ld.ts, st.ts) share: the instruction front end
 * (field latch, the start-time checks of golden transfer(), the start/busy/done/error
 * handshake of docs/accelerator.md "Engine contract"), AXI burst splitting, a FIFO on an
 * inferred RAM and byte-granular barrel shifters.
 *
 * Checks, in this order (the first that fails gives the code; nothing moves):
 *   access  the buffer is not open to this engine (accelGeometry flags: LD into acc, ST from
 *           weight/meta)                                                     -> ERR.access
 *   format  grp other than LD into weight of int4/int8 rows with len % 32 == 0,
 *           int4 rows of odd len                                             -> ERR.format
 *   align   weight/meta rows whose len is not a multiple of C*L (golden: "rows of the ...
 *           buffer are whole beats")                                         -> ERR.align
 *   range   (only when every count is non-zero) the last row's on-chip range passes the
 *           buffer: (sram + sum (count_k - 1) * istride_k) * unit + len > elements
 *                                                                            -> ERR.range
 * The strides are unsigned, so the last row is the one furthest from the buffer start: checking
 * it covers every row.
 */
import { Bool, lit, log2Ceil, mux, select, UInt, type Expr, type Instance, type ModuleBuilder, type Signal } from '../../hdl/index.ts';
import { field, fieldSpec, queueInstrBits } from '../../isa/hdl-fields.ts';
import type { InstrOf } from '../../isa/instr.ts';
import { BUFFERS, DTYPES, slices } from '../../isa/table.ts';
import { weightStreamBytes } from '../../numerics/quant.ts';
import type { GenConfig } from '../config.ts';
import { ERR } from '../control/status.ts';
import { addrGen } from './addr-gen.ts';
import { divisionByConstant } from './buffer.ts';
import { accelGeometry, type AccelGeometry } from './buffers.ts';

/** Bits of the LD/ST `instr` port (the widest op of the queue). */
export const XFER_INSTR_BITS = queueInstrBits('LD');
/** ISA external byte address width. */
export const EXT_BITS = 36;
/** AXI address (bit 36 = space), length and channel widths. */
export const AXI_ADDR_BITS = 37;
export const AXI_LEN_BITS = 8;
export const AXI_CHAN_BITS = 6;
/** Longest burst (beats) and the page a burst may not cross (bytes). */
export const MAX_BURST = 16;
export const PAGE_BYTES = 4096;
/** Bits of a row's byte count (int32 rows of 65535 elements: 262140 bytes). */
export const ROW_BYTES_BITS = 18;
/** Width of the LD/ST count fields and of len. */
export const COUNT_BITS = 16;
/** Bytes of one grp block: 32 payload lanes (int8: 32 bytes, int4: 16) and two multipliers. */
export const GRP_BLOCK_BYTES = { int8: 34, int4: 18 } as const;
/** Cycles from the `start` cycle to the cycle the address walkers start (field latch, two check stages). */
export const XFER_SETUP_CYCLES = 3;
/** Cycles from `start` to `done` of an instruction refused by a check or without work (zero counts or len). */
export const XFER_IMMEDIATE_DONE_CYCLES = 4;

export const DTYPE_BITS = [4, 8, 16, 32] as const;
export const DTYPE_CODE = Object.fromEntries(DTYPES.map((d, i) => [d, i])) as Record<(typeof DTYPES)[number], number>;
export const BUF_CODE = Object.fromEntries(BUFFERS.map((b, i) => [b, i])) as Record<(typeof BUFFERS)[number], number>;

/** Fields of an LD/ST instruction as numbers (dyn fields resolved). */
export type XferOperands = Pick<InstrOf<'LD'>, 'buf' | 'dtype' | 'grp' | 'space' | 'chan' | 'chstep' | 'istride0' | 'istride1' | 'istride2' | 'estride0' | 'estride1' | 'estride2'> & {
  readonly addr: number;
  readonly sram: number;
  readonly len: number;
  readonly count0: number;
  readonly count1: number;
  readonly count2: number;
};

/** External byte address of every row, in loop order (36-bit wrap). */
export function rowAddresses(x: XferOperands): number[] {
  const out: number[] = [];
  for (let i2 = 0; i2 < x.count2; i2++) for (let i1 = 0; i1 < x.count1; i1++) for (let i0 = 0; i0 < x.count0; i0++) out.push((x.addr + i2 * x.estride2 + i1 * x.estride1 + i0 * x.estride0) % 2 ** 36);
  return out;
}

/** Bytes of one row in external memory (grp: the weight stream). */
export function xferRowBytes(x: Pick<XferOperands, 'dtype' | 'grp' | 'len'>): number {
  const bits = 4 << DTYPES.indexOf(x.dtype);
  return x.grp ? weightStreamBytes(x.len, bits === 4 ? 'int4' : 'int8', true) : (x.len * bits) / 8;
}

/** An LD/ST module name that names every parameter that shapes it (a short hash of the rest). */
export function xferModuleName(prefix: string, c: GenConfig, extra: Record<string, number> = {}): string {
  const g = accelGeometry(c);
  const key = JSON.stringify({
    b: Object.values(g.buffers).map((b) => [b.bits, b.elements, b.banks, b.ldLanes]),
    w: c.weightDepth,
    ...extra,
  });
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `${prefix}_c${c.chains}_l${c.chainLength}_d${c.axiDataBits}_${h.toString(16).padStart(8, '0')}`;
}

export const umin = (a: Expr, b: Expr): Expr => {
  const w = Math.max(a.width, b.width);
  return mux(a.ext(w).lt(b.ext(w)), a.ext(w), b.ext(w));
};

/** x << (8 * amt bytes), truncated to x's width; one named wire per amount bit. */
export function shlBytes(m: ModuleBuilder, name: string, x: Expr, amt: Expr): Expr {
  let cur: Expr = x;
  for (let i = 0; i < amt.width; i++) {
    const n = 8 * 2 ** i;
    const shifted = n >= cur.width ? lit(0, cur.type) : cur.shl(n).trunc(cur.width);
    cur = m.wire(`${name}_l${i}`, cur.type, mux(amt.bit(i), shifted, cur));
  }
  return cur;
}

/** x >> (8 * amt bytes) (zero fill), same width; one named wire per amount bit. */
export function shrBytes(m: ModuleBuilder, name: string, x: Expr, amt: Expr): Expr {
  let cur: Expr = x;
  for (let i = 0; i < amt.width; i++) {
    const n = 8 * 2 ** i;
    const shifted = n >= cur.width ? lit(0, cur.type) : cur.shr(n).ext(cur.width);
    cur = m.wire(`${name}_r${i}`, cur.type, mux(amt.bit(i), shifted, cur));
  }
  return cur;
}

export interface Fifo {
  /** The head entry is valid (pop only then). */
  readonly valid: Signal;
  readonly data: Signal;
  /** Entries in the RAM (the head register not counted); push only while below `depth`. */
  readonly count: Signal;
  readonly full: Expr;
  /** Entries the FIFO holds in all: RAM depth + the head register. */
  readonly capacity: number;
}

/**
 * A show-ahead FIFO: RAM of `depth` entries (a power of two) plus a head register (the RAM's
 * registered read port). An entry pushed in cycle t is at the head in cycle t+2 at the earliest.
 */
export function ramFifo(m: ModuleBuilder, name: string, depth: number, width: number, push: Expr, data: Expr, pop: Expr, style: 'distributed' | 'block' = 'distributed'): Fifo {
  if (depth < 2 || (depth & (depth - 1)) !== 0) throw new RangeError(`FIFO ${name}: depth must be a power of two >= 2, got ${depth}`);
  const aw = log2Ceil(depth);
  const mem = m.memory(`${name}_mem`, { depth, type: UInt(width), readLatency: 1, style });
  const wp = m.reg(`${name}_wp`, UInt(aw));
  const rp = m.reg(`${name}_rp`, UInt(aw));
  const count = m.reg(`${name}_count`, UInt(log2Ceil(depth + 1)));
  const valid = m.reg(`${name}_valid`, Bool);
  const load = m.wire(`${name}_load`, Bool, count.ne(0).and(valid.not().or(pop)));
  mem.write(wp, data, push);
  const q = mem.read(`${name}_q`, rp, load);
  wp.assign(mux(push, wp.add(1).trunc(aw), wp));
  rp.assign(mux(load, rp.add(1).trunc(aw), rp));
  count.assign(count.add(push).sub(load.ext(count.width)).trunc(count.width));
  valid.assign(mux(load, lit(1, Bool), mux(pop, lit(0, Bool), valid)));
  return { valid, data: q, count, full: count.eq(depth), capacity: depth + 1 };
}

/**
 * Beats of the next burst from beat address `beat` with `left` beats of the row to go: at most
 * MAX_BURST, never past a PAGE_BYTES boundary. Width 5 (1..16 for left >= 1).
 */
export function burstBeats(m: ModuleBuilder, name: string, beat: Expr, left: Expr, axiBytes: number): Signal {
  const pageBeats = PAGE_BYTES / axiBytes;
  const k = log2Ceil(pageBeats);
  const toPage = lit(pageBeats, UInt(k + 1)).sub(beat.trunc(k).ext(k + 1)).trunc(k + 1);
  const w = Math.max(left.width, k + 1, 5);
  const a = umin(umin(left.ext(w), toPage.ext(w)), lit(MAX_BURST, UInt(w)));
  return m.wire(name, UInt(5), a.trunc(5));
}

/** Bytes of `n` elements of the dtype code `dtype` (int4: n must be even). */
export function bytesOf(n: Expr, dtype: Expr): Expr {
  const w = n.width + 2;
  return select(dtype, [n.shr(1).ext(w), n.ext(w), n.shl(1).ext(w), n.shl(2).ext(w)]);
}

export interface XferFields {
  readonly buf: Signal;
  readonly dtype: Signal;
  readonly space: Signal;
  readonly addr: Signal;
  readonly chan: Signal;
  readonly chstep: Signal;
  readonly sram: Signal;
  readonly len: Signal;
  readonly grp: Signal;
  readonly count: readonly Signal[];
  readonly istride: readonly Signal[];
  readonly estride: readonly Signal[];
}

export interface XferFront {
  readonly g: AccelGeometry;
  readonly f: XferFields;
  /** Bytes of one row in external memory (grp: weight stream bytes). */
  readonly rowBytes: Signal;
  /** One-cycle pulse: the checks passed and there is work; start the address walkers. */
  readonly go: Expr;
  /** High while the instruction runs (after go, until the completion condition). */
  readonly running: Expr;
  /** The buffer is one of the beat-addressed ones (weight, meta). */
  readonly beatBuf: Expr;
  readonly isMeta: Expr;
  /** (count_k - 1) x istride_k (on-chip units), registered in the first check stage: valid from the second on. */
  readonly prods: readonly Signal[];
  /** Connects the completion condition (sampled while running); done follows one cycle later. */
  finish(cond: Expr): void;
}

const ST = { idle: 0, chk1: 1, chk2: 2, dec: 3, run: 4, fin: 5 } as const;

/**
 * The start/busy/done/error ports, the field latch and the checks. Timing: start in cycle t,
 * `go` in t+3 (XFER_SETUP_CYCLES), `done` in t+4 for refused or empty instructions, else one
 * cycle after the completion condition.
 */
export function xferFront(m: ModuleBuilder, c: GenConfig, load: boolean): XferFront {
  const g = accelGeometry(c);
  const op = load ? 'LD' : 'ST';
  const start = m.input('start', Bool);
  const instr = m.input('instr', UInt(XFER_INSTR_BITS));
  const busy = m.output('busy', Bool);
  const done = m.output('done', Bool);
  const error = m.output('error', Bool);
  const errCode = m.output('err_code', UInt(8));

  const state = m.reg('state', UInt(3));
  const idle = state.eq(ST.idle);
  const take = m.wire('take_instr', Bool, start.and(idle));
  const latch = (name: string) => {
    const v = field(instr, op, name);
    const r = m.reg(`i_${name}`, v.type, { enable: take, reset: null });
    r.assign(v);
    return r;
  };
  const f: XferFields = {
    buf: latch('buf'),
    dtype: latch('dtype'),
    space: latch('space'),
    addr: latch('addr'),
    chan: latch('chan'),
    chstep: latch('chstep'),
    sram: latch('sram'),
    len: latch('len'),
    grp: latch('grp'),
    count: [0, 1, 2].map((k) => latch(`count${k}`)),
    istride: [0, 1, 2].map((k) => latch(`istride${k}`)),
    estride: [0, 1, 2].map((k) => latch(`estride${k}`)),
  };
  // The rest of the instruction (header, dyn slots, reserved bits) is the controller's business.
  const used = new Set<number>();
  for (const name of ['buf', 'dtype', 'space', 'addr', 'chan', 'chstep', 'sram', 'len', 'grp', 'count0', 'count1', 'count2', 'istride0', 'istride1', 'istride2', 'estride0', 'estride1', 'estride2']) {
    markField(used, op, name);
  }
  for (let lo = 0; lo < XFER_INSTR_BITS; ) {
    if (used.has(lo)) {
      lo++;
      continue;
    }
    let hi = lo;
    while (hi + 1 < XFER_INSTR_BITS && !used.has(hi + 1)) hi++;
    m.unused(instr.slice(hi, lo));
    lo = hi + 1;
  }

  const B = g.buffers;
  const is = (name: (typeof BUFFERS)[number]) => f.buf.eq(BUF_CODE[name]);
  const isWeight = m.wire('is_weight', Bool, is('weight'));
  const isMeta = m.wire('is_meta', Bool, is('meta'));
  const beatBuf = m.wire('beat_buf', Bool, isWeight.or(isMeta));
  const allowed = BUFFERS.filter((b) => (load ? B[b].ld : B[b].st)).map(is);
  const accessErr = allowed.length ? allowed.reduce((a, b) => a.or(b)).not() : lit(1, Bool);
  const dtypeIs = (d: (typeof DTYPES)[number]) => f.dtype.eq(DTYPE_CODE[d]);
  const grpErr = load ? f.grp.and(isWeight.not().or(f.dtype.gt(DTYPE_CODE.int8)).or(f.len.trunc(5).ne(0))) : f.grp;
  const oddInt4 = dtypeIs('int4').and(f.len.bit(0));
  const CL = g.CL;
  let lenModCL: Expr;
  if ((CL & (CL - 1)) === 0) lenModCL = CL === 1 ? lit(0, Bool) : f.len.trunc(Math.log2(CL));
  else {
    const { magic, shift } = divisionByConstant(CL, COUNT_BITS);
    const q = f.len.mul(lit(magic, UInt(log2Ceil(magic + 1)))).shr(shift).resize(COUNT_BITS);
    lenModCL = f.len.sub(q.mul(lit(CL, UInt(log2Ceil(CL + 1)))).trunc(COUNT_BITS)).trunc(COUNT_BITS);
  }
  const alignErr = beatBuf.and(lenModCL.ne(0));
  const noRows = f.count.map((x) => x.eq(0)).reduce((a, b) => a.or(b));

  // chk1: flags, products and row bytes.
  const inChk1 = state.eq(ST.chk1);
  const rAccess = m.reg('chk_access', Bool, { enable: inChk1 });
  rAccess.assign(accessErr);
  const rFormat = m.reg('chk_format', Bool, { enable: inChk1 });
  rFormat.assign(grpErr.or(oddInt4));
  const rAlign = m.reg('chk_align', Bool, { enable: inChk1 });
  rAlign.assign(alignErr);
  const rNoRows = m.reg('chk_no_rows', Bool, { enable: inChk1 });
  rNoRows.assign(noRows);
  const prods = [0, 1, 2].map((k) => {
    const r = m.reg(`chk_prod${k}`, UInt(2 * COUNT_BITS), { enable: inChk1, reset: null });
    r.assign(f.count[k]!.sub(1).trunc(COUNT_BITS).mul(f.istride[k]!));
    return r;
  });
  const rowBytes = m.reg('row_bytes', UInt(ROW_BYTES_BITS), { enable: inChk1, reset: null });
  {
    const len = f.len.ext(ROW_BYTES_BITS);
    const blocks = f.len.shr(5).ext(ROW_BYTES_BITS);
    const plain = select(f.dtype, [f.len.shr(1).ext(ROW_BYTES_BITS), len, len.shl(1).trunc(ROW_BYTES_BITS), len.shl(2).trunc(ROW_BYTES_BITS)]);
    // grp: blocks x 34 (int8) or 18 (int4) bytes.
    const grpBytes = mux(dtypeIs('int4'), blocks.shl(4).add(blocks.shl(1)), blocks.shl(5).add(blocks.shl(1))).trunc(ROW_BYTES_BITS);
    rowBytes.assign(load ? mux(f.grp, grpBytes, plain) : plain);
  }

  // chk2: the last row's end against the buffer size.
  const inChk2 = state.eq(ST.chk2);
  const maxSa = f.sram.ext(34).add(prods[0]!.ext(34)).add(prods[1]!.ext(34)).add(prods[2]!.ext(34)).trunc(34);
  const unitW = log2Ceil(CL + 1);
  const endW = 34 + unitW + 1;
  const scaled = CL === 1 ? maxSa.ext(endW) : mux(beatBuf, maxSa.mul(lit(CL, UInt(unitW))).ext(endW), maxSa.ext(endW));
  const rowEnd = scaled.add(f.len.ext(endW)).trunc(endW);
  const elems = select(f.buf, BUFFERS.map((b) => lit(B[b].elements, UInt(endW))));
  const rRange = m.reg('chk_range', Bool, { enable: inChk2 });
  rRange.assign(rowEnd.gt(elems));
  const rNoLen = m.reg('chk_no_len', Bool, { enable: inChk2 });
  rNoLen.assign(f.len.eq(0));

  // dec: error code or go.
  const inDec = state.eq(ST.dec);
  const code = mux(rAccess, lit(ERR.access, UInt(8)), mux(rFormat, lit(ERR.format, UInt(8)), mux(rAlign, lit(ERR.align, UInt(8)), mux(rNoRows.not().and(rRange), lit(ERR.range, UInt(8)), lit(ERR.none, UInt(8))))));
  const failed = m.wire('failed', Bool, code.ne(ERR.none));
  const go = m.wire('go', Bool, inDec.and(failed.not()).and(rNoRows.not()).and(rNoLen.not()));
  const rErr = m.reg('err_r', Bool, { enable: inDec.or(take) });
  rErr.assign(mux(take, lit(0, Bool), failed));
  const rCode = m.reg('err_code_r', UInt(8), { enable: inDec.or(take) });
  rCode.assign(mux(take, lit(0, UInt(8)), code));

  const running = state.eq(ST.run);
  const finishCond = m.wire('finish_cond', Bool);
  const next = mux(
    take,
    lit(ST.chk1, UInt(3)),
    mux(inChk1, lit(ST.chk2, UInt(3)), mux(inChk2, lit(ST.dec, UInt(3)), mux(inDec, mux(go, lit(ST.run, UInt(3)), lit(ST.fin, UInt(3))), mux(running, mux(finishCond, lit(ST.fin, UInt(3)), lit(ST.run, UInt(3))), lit(ST.idle, UInt(3)))))),
  );
  state.assign(next);
  busy.assign(idle.not());
  done.assign(state.eq(ST.fin));
  error.assign(rErr);
  errCode.assign(rCode);

  return {
    g,
    f,
    rowBytes,
    go,
    running,
    beatBuf,
    isMeta,
    prods,
    finish: (cond: Expr) => finishCond.assign(running.and(cond)),
  };
}

/**
 * An address walker (addr_gen) over the instruction's loop nest, started by `go`: `ext` walks
 * addr + sum i_k * estride_k, `buf` whatever the caller needs (on-chip addresses, the channel),
 * each at its own width (wrapping); `ready` steps to the next row.
 */
export function xferWalker(m: ModuleBuilder, fr: Pick<XferFront, 'f' | 'go'>, name: string, ext: { width: number; base: Expr; strides: Expr[] }, buf: { width: number; base: Expr; strides: Expr[] }, ready: Expr): Instance {
  const f = fr.f;
  return m.instance(name, addrGen, { extWidth: ext.width, bufWidth: buf.width, countWidth: COUNT_BITS }, {
    start: fr.go,
    ready,
    ext_base: ext.base,
    ext_stride0: ext.strides[0]!,
    ext_stride1: ext.strides[1]!,
    ext_stride2: ext.strides[2]!,
    buf_base: buf.base,
    buf_stride0: buf.strides[0]!,
    buf_stride1: buf.strides[1]!,
    buf_stride2: buf.strides[2]!,
    count0: f.count[0]!,
    count1: f.count[1]!,
    count2: f.count[2]!,
  });
}

function markField(used: Set<number>, op: string, name: string): void {
  for (const s of slices(fieldSpec(op, name))) for (let i = 0; i < s.width; i++) used.add(32 * s.word + s.lsb + i);
}
