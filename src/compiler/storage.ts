/**
 * Instruction storage with and without length-adaptive compilation, counting every byte that
 * must be stored to serve every prompt length 1..seqLen and every decode position.
 *
 * With length registers the program is two blocks: decode (any position) and a prefill chunk
 * of T tokens (any chunk start), so a prompt of P tokens runs ceil(P/T) chunks, the last one
 * padded. Without them a compiler must store one static stream per decode position (each the
 * size of our decode block) and one static prefill stream per prompt length. For the latter we
 * count P/T chunk streams for length P (proportional: a static stream for a partial chunk would
 * be shorter), which is the *smallest* plausible naive size, so the ratio is not inflated.
 */
import { patternName } from '../sparsity/pattern.ts';
import type { Compiled } from './compile.ts';

export interface StorageReport {
  readonly sparsity: string;
  readonly prefillTokens: number;
  readonly instructionBytes: number;
  readonly naiveInstructionBytes: number;
  readonly naiveDecodeBytes: number;
  readonly naivePrefillBytes: number;
  readonly storageRatio: number;
  readonly maxLength: number;
  readonly paddingWaste: {
    /** Mean over prompt lengths 1..seqLen of the padded fraction of prefill token slots. */
    readonly prefill: number;
    /** Mean over positions of the padded fraction of attention positions (whole windows). */
    readonly attention: number;
  };
}

export function lengthAdaptiveReport(c: Compiled): StorageReport {
  const n = c.plan.model.seqLen;
  const decode = c.blocks.find((b) => b.name === 'decode')!.bytes;
  const prefillBlock = c.blocks.find((b) => b.name === 'prefill');
  const T = prefillBlock?.tokens ?? 1;
  const chunk = prefillBlock?.bytes ?? decode;
  const naiveDecode = n * decode;
  const naivePrefill = ((n * (n + 1)) / 2 / T) * chunk;
  const naive = naiveDecode + naivePrefill;
  const L = c.plan.L;
  let padPrefill = 0;
  let padAttn = 0;
  for (let p = 1; p <= n; p++) {
    padPrefill += (Math.ceil(p / T) * T - p) / (Math.ceil(p / T) * T);
    padAttn += (Math.ceil(p / L) * L - p) / (Math.ceil(p / L) * L);
  }
  return {
    sparsity: patternName(c.plan.options.pattern),
    prefillTokens: prefillBlock?.tokens ?? 0,
    instructionBytes: c.program.length,
    naiveInstructionBytes: naive,
    naiveDecodeBytes: naiveDecode,
    naivePrefillBytes: naivePrefill,
    storageRatio: naive / c.program.length,
    maxLength: n,
    paddingWaste: { prefill: padPrefill / n, attention: padAttn / n },
  };
}
