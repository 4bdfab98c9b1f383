/**
 * Static activation scales: one per quantized activation tensor and layer, from the largest
 * magnitude seen on calibration sequences run through the float reference.
 */
import type { ModelConfig } from '../model/config.ts';
import { FloatEngine, type Observer } from '../model/float-ref.ts';
import type { ModelWeights } from '../model/weights.ts';
import { generate } from '../model/engine.ts';
import { activationScale } from '../numerics/quant.ts';
import { Rng } from '../util/random.ts';

/** Calibrated tensors: rmsnorm outputs (xn, xn2, xf), q/k after RoPE, v, attention output ao, FFN product hm. */
export const LAYER_TENSORS = ['xn', 'q', 'k', 'v', 'ao', 'xn2', 'hm'] as const;
export type LayerTensor = (typeof LAYER_TENSORS)[number];

export interface ActStats {
  readonly layers: Record<LayerTensor, number>[];
  readonly xf: number;
  /** sum x x^T of each matrix input (`xn.3`, `ao.3`, `xn2.3`, `hm.3`, `xf`), for GPTQ. */
  readonly hessians?: ReadonlyMap<string, Float64Array>;
}

/** Matrix inputs whose second moments GPTQ uses. */
const HESSIAN_INPUTS = new Set(['xn', 'ao', 'xn2', 'hm', 'xf']);

/** Scales (float value of one integer step) of each quantized tensor. */
export type ActScales = Omit<ActStats, 'hessians'>;

export interface CalibrationOptions {
  /** Sequences (each starts from BOS and one random token). */
  readonly sequences: number;
  readonly tokens: number;
  readonly seed: number;
}

export const DEFAULT_CALIBRATION: CalibrationOptions = { sequences: 4, tokens: 64, seed: 7 };

/** Largest |value| of every tensor over greedy generations from random one-token prompts. */
export function calibrate(w: ModelWeights, opts: CalibrationOptions = DEFAULT_CALIBRATION): ActStats {
  const c = w.config;
  const layers = Array.from({ length: c.nLayers }, () => Object.fromEntries(LAYER_TENSORS.map((t) => [t, 0])) as Record<LayerTensor, number>);
  let xf = 0;
  const hessians = new Map<string, Float64Array>();
  const observe: Observer = (tensor, layer, v) => {
    if (HESSIAN_INPUTS.has(tensor)) {
      const key = tensor === 'xf' ? 'xf' : `${tensor}.${layer}`;
      const n = v.length;
      let h = hessians.get(key);
      if (!h) hessians.set(key, (h = new Float64Array(n * n)));
      for (let i = 0; i < n; i++) {
        const vi = v[i]!;
        if (vi === 0) continue;
        for (let j = 0; j < n; j++) h[i * n + j] += vi * v[j]!;
      }
    }
    let m = 0;
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
    if (tensor === 'xf') xf = Math.max(xf, m);
    else layers[layer]![tensor] = Math.max(layers[layer]![tensor], m);
  };
  const rng = new Rng(opts.seed);
  const n = Math.min(opts.tokens, c.seqLen - 2);
  for (let s = 0; s < opts.sequences; s++) {
    const engine = new FloatEngine(w, observe);
    generate(engine, { tokens: n, promptIds: [rng.int(2, c.vocabSize - 1)] });
  }
  return { layers, xf, hessians };
}

/** Placeholder statistics for compiling without weights (scales only change multiplier values). */
export function unitStats(c: ModelConfig): ActStats {
  return { layers: Array.from({ length: c.nLayers }, () => Object.fromEntries(LAYER_TENSORS.map((t) => [t, 1])) as Record<LayerTensor, number>), xf: 1 };
}

/** Per-tensor scales; `margin` > 1 leaves headroom above the calibration maximum. */
/** Tensors quantized at the attention width (the rest at the activation width). */
const ATTENTION_TENSORS = new Set<LayerTensor>(['q', 'k', 'v']);

export function scalesFromStats(st: ActStats, bits: number, attnBits = bits): ActScales {
  const f = (m: number, b: number) => activationScale(m, b, b >= 16 ? 2 : 1);
  return {
    layers: st.layers.map((l) => Object.fromEntries(LAYER_TENSORS.map((t) => [t, f(l[t], ATTENTION_TENSORS.has(t) ? attnBits : bits)])) as Record<LayerTensor, number>),
    xf: f(st.xf, bits),
  };
}
