/**
 * The host side of running a block: the length registers written before starting the decode
 * block (one token at position p0) or the prefill block (T tokens at p0..p0+T-1), and the staged
 * embedding rows. One block serves every position (docs/compiler.md). Shared by the golden
 * engine and the RTL harness so both start the machine identically.
 */
import type { Plan } from './plan.ts';
import type { MemoryImage } from './memory.ts';

/** Length registers of the decode block. */
export const REG = {
  /** Position p0 of the block's first token. */
  POS: 0,
  /** Context length after the block, p0 + T (rows of the score MVs). */
  CTX: 1,
  /** That length rounded up to whole windows, or V^T chunks (plan.ctxAlign): softmax length, V columns. */
  CTXPAD: 2,
  /** Scratch: the prefill block's running row offset inside its attention loop. */
  ROW: 3,
  /** Byte offset of row p0 of the K cache. */
  KOFF: 4,
  /** Byte offset of column p0 of the transposed V cache (a scratch position counter inside chunked P x V, restored after). */
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
  r[REG.CTXPAD] = Math.ceil((p0 + T) / plan.ctxAlign) * plan.ctxAlign;
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

/**
 * The host's writes before a block of `size` tokens: each token's fx embedding row (copied from
 * the embedding table in `memory`) into the DDR `input` rows; missing tokens are 0 (padding).
 */
export function stagedInputs(plan: Plan, memory: MemoryImage, tokens: readonly number[], size: number): { addr: number; bytes: Uint8Array } {
  const emb = plan.layout.get('embedding');
  const input = plan.layout.get('input');
  const rowBytes = plan.model.dim * 4;
  const bytes = new Uint8Array(size * rowBytes);
  for (let t = 0; t < size; t++) {
    const id = tokens[t] ?? 0;
    bytes.set(memory.ddr.subarray(emb.addr + id * rowBytes, emb.addr + (id + 1) * rowBytes), t * rowBytes);
  }
  return { addr: input.addr, bytes };
}

/** One block run of a prefill request: `tokens` at positions pos.. through the named block. */
export interface BlockRun {
  readonly block: 'decode' | 'prefill';
  readonly tokens: readonly number[];
  readonly pos: number;
}

/**
 * How a prefill of `tokens` at positions pos.. runs: chunks of the prefill block's size T (the
 * last padded), except that a chunk which would run past seq_len, or which holds fewer than
 * T / 2 tokens, goes token by token through the decode block; with T = 0 (no prefill block)
 * everything is decoded. The T / 2 rule: a padded chunk measured about T / 2 decode steps on
 * both designs we run (docs/compiler.md), so a shorter remainder is cheaper decoded.
 */
export function prefillRuns(plan: Plan, tokens: readonly number[], pos: number): BlockRun[] {
  const T = plan.prefillTokens;
  const runs: BlockRun[] = [];
  const decode = (chunk: readonly number[], p0: number) => chunk.forEach((t, j) => runs.push({ block: 'decode', tokens: [t], pos: p0 + j }));
  if (T === 0) return decode(tokens, pos), runs;
  for (let i = 0; i < tokens.length; i += T) {
    const chunk = tokens.slice(i, i + T);
    if (pos + i + T > plan.model.seqLen || 2 * chunk.length < T) decode(chunk, pos + i);
    else runs.push({ block: 'prefill', tokens: chunk, pos: pos + i });
  }
  return runs;
}
