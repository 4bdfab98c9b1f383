/**
 * The host side of running a block: the length registers written before starting the decode
 * block (one token at position p0) or the prefill block (T tokens at p0..p0+T-1), and the staged
 * embedding rows. One block serves every position (docs/compiler.md). Shared by the golden
 * engine and the RTL harness so both start the machine identically.
 */
import type { Plan } from './plan.ts';

/** Length registers of the decode block. */
export const REG = {
  /** Position p0 of the block's first token. */
  POS: 0,
  /** Context length after the block, p0 + T (rows of the score MVs). */
  CTX: 1,
  /** That length rounded up to whole windows (softmax length, V columns). */
  CTXPAD: 2,
  /** Scratch: the prefill block's running row offset inside its attention loop. */
  ROW: 3,
  /** Byte offset of row p0 of the K cache. */
  KOFF: 4,
  /** Byte offset of column p0 of the transposed V cache. */
  VOFF: 5,
  /** K row batches to load: ceil((p0 + T) / C). */
  KBATCH: 6,
  /** V windows to load: ceil((p0 + T) / L). */
  VWIN: 7,
} as const;

/** Registers for a block of `T` tokens starting at position `p0`. */
export function blockRegisters(plan: Plan, p0: number, T: number): number[] {
  const { model, C, L, kv, ab } = plan;
  if (!Number.isInteger(p0) || p0 < 0 || p0 + T > model.seqLen) throw new RangeError(`positions ${p0}..${p0 + T - 1} are outside 0..${model.seqLen - 1}`);
  const r = new Array<number>(8).fill(0);
  r[REG.POS] = p0;
  r[REG.CTX] = p0 + T;
  r[REG.CTXPAD] = Math.ceil((p0 + T) / L) * L;
  r[REG.KOFF] = p0 * kv * ab;
  r[REG.VOFF] = p0 * ab;
  r[REG.KBATCH] = Math.ceil((p0 + T) / C);
  r[REG.VWIN] = Math.ceil((p0 + T) / L);
  return r;
}

/** Checks token ids against the vocabulary. */
export function checkTokens(plan: Plan, tokens: readonly number[]): void {
  for (const t of tokens) if (!Number.isInteger(t) || t < 0 || t >= plan.model.vocabSize) throw new RangeError(`token id ${t} is outside the vocabulary 0..${plan.model.vocabSize - 1}`);
}
