import type { ModelConfig } from './config.ts';

/** One transformer layer's float weights; matrices row-major [out][in] (y = W x). */
export interface LayerWeights {
  readonly rmsAtt: Float32Array; // [dim]
  readonly wq: Float32Array; // [dim][dim]
  readonly wk: Float32Array; // [kvDim][dim]
  readonly wv: Float32Array; // [kvDim][dim]
  readonly wo: Float32Array; // [dim][dim]
  readonly rmsFfn: Float32Array; // [dim]
  readonly w1: Float32Array; // [hidden][dim]
  readonly w2: Float32Array; // [dim][hidden]
  readonly w3: Float32Array; // [hidden][dim]
}

export interface ModelWeights {
  readonly config: ModelConfig;
  readonly tokenEmbedding: Float32Array; // [vocab][dim]
  readonly layers: readonly LayerWeights[];
  readonly rmsFinal: Float32Array; // [dim]
  /** Classifier [vocab][dim]; the token embedding itself when shared. */
  readonly wcls: Float32Array;
}
