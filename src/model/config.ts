/**
 * Transformer model descriptions: the shapes the compiler, the golden model and the float
 * reference agree on. LLaMA-family models use RMSNorm, RoPE and a SwiGLU FFN; OPT uses
 * LayerNorm, learned positions and a ReLU FFN (only its shapes matter here: it is compiled
 * without weights for the performance figures).
 */
export type ModelFamily = 'llama' | 'opt';

export interface ModelConfig {
  readonly name: string;
  readonly family: ModelFamily;
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  /** Key/value heads (grouped-query attention: nHeads / nKvHeads query heads share one). */
  readonly nKvHeads: number;
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated) the model supports. */
  readonly seqLen: number;
  /** The classifier reuses the token embedding (llama2.c: positive vocab_size in the header). */
  readonly sharedClassifier: boolean;
  /** RMSNorm / LayerNorm epsilon. */
  readonly normEps: number;
  readonly ropeTheta: number;
}

export const headSize = (c: ModelConfig): number => c.dim / c.nHeads;
export const kvDim = (c: ModelConfig): number => (c.dim * c.nKvHeads) / c.nHeads;

const llama = (x: Omit<ModelConfig, 'family' | 'normEps' | 'ropeTheta'>): ModelConfig => ({ family: 'llama', normEps: 1e-5, ropeTheta: 10000, ...x });

/** Named configurations (`--model NAME`). */
export const MODEL_PRESETS: Readonly<Record<string, ModelConfig>> = {
  // Meta LLaMA 2 7B (params.json of the release).
  'llama2-7b': llama({ name: 'llama2-7b', dim: 4096, hiddenDim: 11008, nLayers: 32, nHeads: 32, nKvHeads: 32, vocabSize: 32000, seqLen: 2048, sharedClassifier: false }),
  // Meta OPT-6.7B (config.json: hidden 4096, ffn 16384, 32 layers, 32 heads, 2048 positions).
  'opt-6.7b': { name: 'opt-6.7b', family: 'opt', dim: 4096, hiddenDim: 16384, nLayers: 32, nHeads: 32, nKvHeads: 32, vocabSize: 50272, seqLen: 2048, sharedClassifier: true, normEps: 1e-5, ropeTheta: 0 },
  // The llama2.c TinyStories checkpoint in ../shared/models (its header).
  stories260K: llama({ name: 'stories260K', dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512, sharedClassifier: true }),
  // Smallest shape that still exercises GQA, several layers and a non-multiple-of-16 FFN.
  tiny: llama({ name: 'tiny', dim: 32, hiddenDim: 56, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, seqLen: 64, sharedClassifier: true }),
};

/** Throws a RangeError naming the first inconsistent field. */
export function validateModel(c: ModelConfig): void {
  const pos = (k: keyof ModelConfig) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`model ${c.name}: ${String(k)} must be a positive integer, got ${v}`);
  };
  for (const k of ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'vocabSize', 'seqLen'] as const) pos(k);
  if (c.dim % c.nHeads !== 0) throw new RangeError(`model ${c.name}: dim ${c.dim} is not a multiple of n_heads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) throw new RangeError(`model ${c.name}: n_heads ${c.nHeads} is not a multiple of n_kv_heads ${c.nKvHeads}`);
  if (headSize(c) % 2 !== 0) throw new RangeError(`model ${c.name}: head size ${headSize(c)} must be even for RoPE`);
}
