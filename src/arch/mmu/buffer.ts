/**
 * A banked, element-addressed on-chip buffer (docs/accelerator.md "Buffers"): element a lives in
 * bank a mod B at row floor(a / B), so a run of up to B consecutive elements touches each bank
 * once and is read or written in one cycle at any alignment.
 */
import { Bool, defineModule, lit, log2Ceil, mux, pack, select, split, UInt, type Expr, type ModuleBuilder, type Signal } from '../../hdl/index.ts';
import { BUFFER_READ_LATENCY } from './buffers.ts';

/** Element addresses on the ports: the ISA's 20-bit on-chip address fields. */
export const ELEM_ADDR_BITS = 20;

export interface BufMemParams {
  /** Buffer name (module name and docs). */
  readonly name: string;
  /** Stored bits per element. */
  readonly bits: number;
  /** Reads extend elements to 32 bits by sign (true) or with zeros. */
  readonly signed: boolean;
  readonly banks: number;
  readonly rows: number;
  /** Elements per write (at most banks). */
  readonly writeLanes: number;
  /** Element read ports: `<name>_rd_*`, `lanes` consecutive elements each (at most banks). */
  readonly readPorts: readonly { readonly name: string; readonly lanes: number }[];
  /** A row read port (`row_rd_*`, raw bits of all banks, latency 1) for the MPE. */
  readonly rowRead: boolean;
}

export function checkBufMemParams(p: BufMemParams): void {
  const int = (k: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`buffer ${p.name}: ${k} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  int('bits', p.bits, 1, 32);
  int('banks', p.banks, 1, 1 << 16);
  int('rows', p.rows, 1, 1 << 20);
  int('writeLanes', p.writeLanes, 1, p.banks);
  for (const r of p.readPorts) int(`${r.name} lanes`, r.lanes, 1, p.banks);
}

/**
 * floor(a / d) as (a * magic) >> k for every a < 2^width: checked exhaustively here, so the
 * generated circuit divides by a non-power-of-two bank count without a divider.
 */
export function divisionByConstant(d: number, width: number): { magic: number; shift: number } {
  if ((d & (d - 1)) === 0) return { magic: 1, shift: Math.log2(d) };
  for (let k = width; k < width + 24; k++) {
    const magic = Math.ceil(2 ** k / d);
    let ok = true;
    for (let a = 0; a < 2 ** width && ok; a++) ok = Math.floor((a * magic) / 2 ** k) === Math.floor(a / d);
    if (ok) return { magic, shift: k };
  }
  throw new RangeError(`no multiply-shift division by ${d} for ${width}-bit values`);
}

/** Splits an element address into (row, bank) for `banks` banks. */
function rowBank(m: ModuleBuilder, prefix: string, addr: Expr, banks: number, rowBits: number): { row: Signal; bank: Signal } {
  const bw = log2Ceil(banks);
  const { magic, shift } = divisionByConstant(banks, addr.width);
  const q = magic === 1 ? addr.shr(shift) : addr.mul(lit(magic, UInt(log2Ceil(magic + 1)))).shr(shift);
  const row = m.wire(`${prefix}_row`, UInt(rowBits), q.resize(rowBits));
  // Addresses past the buffer wrap (the engines range-check them first).
  if (magic === 1 && addr.width > shift + rowBits) m.unused(addr.slice(addr.width - 1, shift + rowBits));
  const bank = m.wire(`${prefix}_bank`, UInt(bw), magic === 1 ? addr.trunc(bw) : addr.sub(q.resize(addr.width).mul(lit(banks, UInt(bw + 1))).trunc(addr.width)).trunc(bw));
  return { row, bank };
}

export const bufMem = defineModule<BufMemParams>(
  'buf_mem',
  (p) => `buf_${p.name}_b${p.banks}_r${p.rows}_w${p.bits}_${p.readPorts.map((r) => `${r.name}${r.lanes}`).join('_')}${p.rowRead ? '_row' : ''}`,
  (m, p) => {
    checkBufMemParams(p);
    const B = p.banks;
    const RW = log2Ceil(p.rows);
    const BW = log2Ceil(B);
    const AW = ELEM_ADDR_BITS;
    m.doc(`On-chip buffer '${p.name}': ${p.rows} rows x ${B} banks of ${p.bits}-bit elements; element a in bank a mod ${B}, row floor(a / ${B}).`);
    const banks = Array.from({ length: B }, (_, j) => m.memory(`bank_${j}`, { depth: p.rows, type: UInt(p.bits), readLatency: 1, style: 'block' }));
    const lit0 = (w: number) => lit(0, UInt(w));
    /** (j - s) mod B for bank j and start bank s: the run offset bank j holds. */
    // (Bank B-1 with B a power of two: s <= j always holds, so no comparison Verilator would flag.)
    const full = 2 ** BW - 1;
    const offset = (j: number, s: Expr) => (j === full ? lit(j, UInt(BW + 1)).sub(s.ext(BW + 1)).trunc(BW) : mux(s.le(j), lit(j, UInt(BW + 1)).sub(s.ext(BW + 1)), lit(j + B, UInt(BW + 2)).sub(s.ext(BW + 2)).trunc(BW + 1)).trunc(BW));
    /** Rows of the run wrap into the next row for banks below the start bank. */
    const rowOf = (j: number, s: Expr, row: Expr) => (j === full ? row : mux(lit(j, UInt(BW)).lt(s), row.add(1).trunc(RW), row));

    // Write port: `count` consecutive elements from wr_addr.
    const wrEn = m.input('wr_en', Bool);
    const wrAddr = m.input('wr_addr', UInt(AW));
    const wrCount = m.input('wr_count', UInt(log2Ceil(p.writeLanes + 1)));
    const wrData = m.input('wr_data', UInt(32 * p.writeLanes));
    const w = rowBank(m, 'wr', wrAddr, B, RW);
    const wLanes = split(wrData, p.writeLanes).map((x) => x.trunc(p.bits));
    // Lanes carry 32-bit values; the buffer keeps the low `bits` (the golden model wraps the same way).
    if (p.bits < 32) m.unused(...split(wrData, p.writeLanes).map((x) => x.slice(31, p.bits)));
    for (let j = 0; j < B; j++) {
      const off = m.wire(`wr_off_${j}`, UInt(BW), offset(j, w.bank));
      const en = wrEn.and(off.ext(Math.max(BW, wrCount.width) + 1).lt(wrCount.ext(Math.max(BW, wrCount.width) + 1)));
      banks[j]!.write(rowOf(j, w.bank, w.row), p.writeLanes === 1 ? wLanes[0]! : select(off, wLanes), en);
    }

    // Element read ports: lanes consecutive elements, data BUFFER_READ_LATENCY cycles later.
    if (BUFFER_READ_LATENCY !== 2) throw new Error('buf_mem implements a read latency of 2');
    for (const port of p.readPorts) {
      const en = m.input(`${port.name}_rd_en`, Bool);
      const addr = m.input(`${port.name}_rd_addr`, UInt(AW));
      const out = m.output(`${port.name}_rd_data`, UInt(32 * port.lanes));
      const r = rowBank(m, `${port.name}_rd`, addr, B, RW);
      const data = banks.map((mem, j) => mem.read(`${port.name}_q_${j}`, rowOf(j, r.bank, r.row), en));
      const s1 = m.reg(`${port.name}_start_bank`, UInt(BW), { enable: en, reset: null });
      s1.assign(r.bank);
      const lanes: Expr[] = [];
      for (let i = 0; i < port.lanes; i++) {
        // Lane i comes from bank (s + i) mod B.
        const src = m.wire(`${port.name}_src_${i}`, UInt(BW), s1.ext(BW + 1).add(i).ext(BW + 2).sub(mux(s1.ext(BW + 1).add(i).ge(B), lit(B, UInt(BW + 2)), lit0(BW + 2))).trunc(BW));
        const raw = B === 1 ? data[0]! : select(src, data);
        lanes.push(p.signed ? raw.asSInt().ext(32).asUInt() : raw.ext(32));
      }
      const q = m.reg(`${port.name}_data`, UInt(32 * port.lanes), { reset: null });
      q.assign(pack(lanes));
      out.assign(q);
    }

    if (p.rowRead) {
      const en = m.input('row_rd_en', Bool);
      const addr = m.input('row_rd_addr', UInt(RW));
      m.output('row_rd_data', UInt(B * p.bits)).assign(pack(banks.map((mem, j) => mem.read(`row_q_${j}`, addr, en))));
    }
  },
);
