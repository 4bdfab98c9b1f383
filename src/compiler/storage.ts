/**
 * Instruction storage with and without length-adaptive compilation, counting every byte that
 * must be stored to serve every prompt length and every decode position up to seqLen.
 *
 * Without length registers a compiler emits one static stream per decode position (each the
 * size of our decode block: the same instructions with constants where we have registers), and
 * one static prefill stream per prompt length. Our prefill runs the prompt through the same
 * decode block one position at a time, so a static prefill stream for length T is T decode
 * streams. With length registers, one block serves all of them.
 */
import { patternName } from '../sparsity/pattern.ts';
import type { Compiled } from './compile.ts';

export interface StorageReport {
  readonly sparsity: string;
  readonly instructionBytes: number;
  readonly naiveInstructionBytes: number;
  readonly naiveDecodeBytes: number;
  readonly naivePrefillBytes: number;
  readonly storageRatio: number;
  readonly maxLength: number;
  readonly paddingWaste: { readonly meanPaddedFraction: number; readonly note: string };
}

export function lengthAdaptiveReport(c: Compiled): StorageReport {
  const n = c.plan.model.seqLen;
  const decode = c.blocks.find((b) => b.name === 'decode')!.bytes;
  const naiveDecode = n * decode;
  const naivePrefill = ((n * (n + 1)) / 2) * decode;
  const naive = naiveDecode + naivePrefill;
  // Padding: the attention operands are rounded up to whole windows of L positions.
  const L = c.plan.L;
  let padded = 0;
  for (let p = 1; p <= n; p++) padded += (Math.ceil(p / L) * L - p) / (Math.ceil(p / L) * L);
  return {
    sparsity: patternName(c.plan.options.pattern),
    instructionBytes: c.program.length,
    naiveInstructionBytes: naive,
    naiveDecodeBytes: naiveDecode,
    naivePrefillBytes: naivePrefill,
    storageRatio: naive / c.program.length,
    maxLength: n,
    paddingWaste: { meanPaddedFraction: padded / n, note: `attention MVs round the context up to whole ${L}-position windows (zero probabilities); nothing else is padded` },
  };
}
