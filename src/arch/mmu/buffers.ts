/**
 * The accelerator's on-chip buffers, defined once: element widths, banking, which engine may
 * touch which buffer, and the port widths. The top (src/arch/top), the engines (LD/ST, SFU,
 * MX) and the golden model read this table, so a buffer is changed here and nowhere else.
 *
 * Every buffer but weight and meta is an element-addressed, banked memory: element address
 * a lives in bank a mod B at row floor(a / B), so any run of up to B consecutive elements
 * touches each bank at most once and can be read or written in one cycle at any alignment.
 * The weight and meta buffers are addressed in beats (C x L lanes, one row) and written
 * whole by the LD engine's beat assembler.
 */
import type { GenConfig } from '../config.ts';
import { BUFFERS } from '../../isa/table.ts';
import { indexWidth, modeTable } from '../../sparsity/pattern.ts';

export type BufferName = (typeof BUFFERS)[number];

/** Cycles from a read request (rd_en with its address) to its data on every element read port. */
export const BUFFER_READ_LATENCY = 2;
/** Elements the ST engine reads per cycle (at most every element buffer's bank count). */
export const ST_LANES_MAX = 8;
/** Banks of the INT32 buffers (global, scale, bias, the acc mirror): one 256-bit AXI beat. */
export const WORD_BANKS = 8;

export interface BufferGeometry {
  readonly name: BufferName;
  /** ISA code (index in BUFFERS). */
  readonly code: number;
  /** Stored bits per element; reads sign-extend (zero-extend when !signed) to 32 bits. */
  readonly bits: number;
  readonly signed: boolean;
  /** Elements the ISA may address (range checks use this, not rows x banks). */
  readonly elements: number;
  /** Banks B (= lanes of a row); a row is B consecutive elements. */
  readonly banks: number;
  readonly rows: number;
  /** Written only in whole rows (beats) by the LD engine (weight, meta). */
  readonly beatOnly: boolean;
  /** Which engines may access it; anything else is an `access` error (ERR.access). */
  readonly ld: boolean;
  readonly st: boolean;
  readonly sfuRead: boolean;
  readonly sfuWrite: boolean;
  /** Row read port for the MPE (act windows, weight/meta/KV beats). */
  readonly mxRow: boolean;
  /** Elements the LD engine writes per cycle (element buffers): min(banks, bytes per AXI beat). */
  readonly ldLanes: number;
  /** Lanes of the buffer's write port: max(ldLanes, SFU lanes when the SFU may write it). */
  readonly writeLanes: number;
}

export interface AccelGeometry {
  readonly C: number;
  readonly L: number;
  /** C x L: lanes of a weight beat. */
  readonly CL: number;
  readonly sfuLanes: number;
  readonly stLanes: number;
  /** Width of the LD engine's element write port: the most any buffer takes per cycle. */
  readonly ldLanes: number;
  /** Bytes per external memory beat. */
  readonly axiBytes: number;
  readonly buffers: Record<BufferName, BufferGeometry>;
}

const log2 = (n: number) => Math.max(1, Math.ceil(Math.log2(n)));

/** The buffer table for a configuration (checkAccelGeometry says whether the top can be built). */
export function accelGeometry(c: GenConfig): AccelGeometry {
  const C = c.chains;
  const L = c.chainLength;
  const CL = C * L;
  const stLanes = Math.min(ST_LANES_MAX, L);
  const mk = (name: BufferName, bits: number, signed: boolean, elements: number, banks: number, o: Partial<BufferGeometry>): BufferGeometry => ({
    name,
    code: BUFFERS.indexOf(name),
    bits,
    signed,
    elements,
    banks,
    rows: Math.ceil(elements / banks),
    beatOnly: false,
    ld: true,
    st: true,
    sfuRead: true,
    sfuWrite: true,
    mxRow: false,
    ldLanes: 0,
    writeLanes: 0,
    ...o,
  });
  const beat = { beatOnly: true, st: false, sfuRead: false, sfuWrite: false, mxRow: true };
  const buffers: Record<BufferName, BufferGeometry> = {
    weight: mk('weight', c.weightWidth, true, c.weightDepth * CL, CL, beat),
    meta: mk('meta', indexWidth(modeTable(c.sparsity)) || 1, false, c.weightDepth * CL, CL, beat),
    scale: mk('scale', 32, true, c.accDepth, WORD_BANKS, {}),
    bias: mk('bias', 32, true, c.biasDepth, WORD_BANKS, {}),
    act: mk('act', c.actWidth, true, c.actDepth * L, L, { mxRow: true }),
    kv: mk('kv', c.actWidth, true, c.kvDepth, CL, { mxRow: true }),
    // The MPE owns the accumulators; the top keeps a banked mirror for SFU and ST reads.
    acc: mk('acc', 32, true, c.accDepth, WORD_BANKS, { ld: false, sfuWrite: false }),
    global: mk('global', 32, true, c.globalDepth, WORD_BANKS, {}),
  };
  const axiBytes = c.axiDataBits / 8;
  for (const [k, b] of Object.entries(buffers) as [BufferName, BufferGeometry][]) {
    const ldLanes = b.ld && !b.beatOnly ? Math.min(b.banks, axiBytes) : 0;
    buffers[k] = { ...b, ldLanes, writeLanes: Math.max(ldLanes, b.sfuWrite ? c.sfuLanes : 0) };
  }
  const ldLanes = Math.max(...Object.values(buffers).map((b) => b.ldLanes));
  const g: AccelGeometry = { C, L, CL, sfuLanes: c.sfuLanes, stLanes, ldLanes, axiBytes, buffers };
  return g;
}

/** Throws a RangeError if the element ports do not fit the banks (the SFU and ST lanes). */
export function checkAccelGeometry(g: AccelGeometry): void {
  for (const b of Object.values(g.buffers)) {
    if (!b.beatOnly && (b.banks < g.sfuLanes || b.banks < g.stLanes)) throw new RangeError(`the ${b.name} buffer has ${b.banks} banks, fewer than the SFU lanes (${g.sfuLanes}) or ST lanes (${g.stLanes})`);
  }
}

/** Address bits of a buffer's rows. */
export function rowAddrBits(b: BufferGeometry): number {
  return log2(b.rows);
}
