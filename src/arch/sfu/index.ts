/**
 * The special function unit (docs/sfu.md): element-wise unit, softmax, RMSNorm/LayerNorm and
 * RoPE row units, their building blocks, and the cycle counts the performance model uses.
 */
import { SFU_OPS } from '../../isa/table.ts';
import { ELEM_LATENCY } from './elem.ts';
import { NORM_OUT_LATENCY, normRowCycles } from './rmsnorm.ts';
import { ROPE_LATENCY } from './rope.ts';
import { SOFTMAX_OUT_LATENCY, softmaxRowCycles } from './softmax.ts';

export { sfuElem, ELEM_LATENCY, ELEM_FNS, fnCode, type SfuElemParams } from './elem.ts';
export { sfuSoftmax, SOFTMAX_GAP, SOFTMAX_OUT_LATENCY, softmaxRowCycles, type SfuRowParams } from './softmax.ts';
export { sfuRmsnorm, NORM_GAP, NORM_MEAN_GAP, NORM_OUT_LATENCY, normRowCycles } from './rmsnorm.ts';
export { sfuRope, sfuCosLookup, ROPE_LATENCY, type SfuRopeParams } from './rope.ts';
export { sfuPow2neg, POW2NEG_LATENCY } from './pow2neg.ts';
export { sfuRecip, RECIP_LATENCY } from './recip.ts';
export { sfuScale, SCALE_LATENCY } from './scale.ts';
export { sfuDivSeq, sfuIsqrtSeq, divCycles, sqrtCycles } from './seq.ts';
export { elemRef, convert, otypeBits } from './model.ts';

/** RoPE pairs per beat in an SFU of `lanes` lanes (a pair needs two elements; 1 lane still rotates one pair per beat). */
export const ropePairs = (lanes: number): number => Math.max(1, Math.floor(lanes / 2));

/**
 * Cycles of one SFU instruction (`rows` rows of `len` elements) on units of `lanes` lanes, with
 * the operands streamed at one beat per cycle whenever the unit accepts one: from the first
 * start/beat to the last result. Element-wise functions and RoPE stream rows back to back; the
 * row units run row after row (each row's passes, its scalar gap, the next row's start in the
 * cycle after its last beat), plus the output latency of the last row.
 */
export function sfuInstrCycles(fn: (typeof SFU_OPS)[number], len: number, rows: number, lanes: number): number {
  if (len === 0 || rows === 0) return 0;
  switch (fn) {
    case 'softmax':
      return rows * softmaxRowCycles(len, lanes) + SOFTMAX_OUT_LATENCY;
    case 'rmsnorm':
    case 'layernorm':
      return rows * normRowCycles(len, lanes, fn === 'layernorm') + NORM_OUT_LATENCY;
    case 'rope':
      return rows * Math.ceil(len / (2 * ropePairs(lanes))) + ROPE_LATENCY;
    default:
      return rows * Math.ceil(len / lanes) + ELEM_LATENCY;
  }
}
