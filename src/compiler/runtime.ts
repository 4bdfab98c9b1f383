/**
 * The host side of a decode step: the length registers the runtime writes before starting the
 * decode block (one block serves every position; see docs/compiler.md). Shared by the golden
 * engine and the RTL harness so both start the machine identically.
 */
import type { Plan } from './plan.ts';

/** Length registers of the decode block. */
export const REG = {
  /** Position p of the token. */
  POS: 0,
  /** Context length p + 1 (rows of the score MV). */
  CTX: 1,
  /** Context length rounded up to whole windows (softmax length, V columns). */
  CTXPAD: 2,
  /** Byte offset of the token's embedding row. */
  EMB: 3,
  /** Byte offset of row p of the K cache. */
  KOFF: 4,
  /** Byte offset of column p of the transposed V cache. */
  VOFF: 5,
  /** K row batches to load: ceil((p + 1) / C). */
  KBATCH: 6,
  /** V windows to load: ceil((p + 1) / L). */
  VWIN: 7,
} as const;

export function decodeRegisters(plan: Plan, token: number, pos: number): number[] {
  const { model, C, L, kv, ab } = plan;
  if (!Number.isInteger(token) || token < 0 || token >= model.vocabSize) throw new RangeError(`token id ${token} is outside the vocabulary 0..${model.vocabSize - 1}`);
  if (!Number.isInteger(pos) || pos < 0 || pos >= model.seqLen) throw new RangeError(`position ${pos} is outside 0..${model.seqLen - 1}`);
  const r = new Array<number>(8).fill(0);
  r[REG.POS] = pos;
  r[REG.CTX] = pos + 1;
  r[REG.CTXPAD] = Math.ceil((pos + 1) / L) * L;
  r[REG.EMB] = token * model.dim * 4;
  r[REG.KOFF] = pos * kv * ab;
  r[REG.VOFF] = pos * ab;
  r[REG.KBATCH] = Math.ceil((pos + 1) / C);
  r[REG.VWIN] = Math.ceil((pos + 1) / L);
  return r;
}
