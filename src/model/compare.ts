/**
 * Comparing an engine with the float reference: teacher-forced top-1 agreement and mean KL over
 * the reference's own greedy sequence (the figures BENCHMARKS.md reports), and N:M pruning of a
 * whole model (to compare a sparse engine with the float model of the same pruned weights).
 */
import { pruneNM } from '../numerics/quant.ts';
import type { Pattern } from '../sparsity/pattern.ts';
import { argmax, generate, type Engine } from './engine.ts';
import { FloatEngine } from './float-ref.ts';
import type { ModelWeights } from './weights.ts';

function softmax(x: Float32Array): number[] {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Top-1 agreement and mean KL(reference || engine) over `positions` teacher-forced positions. */
export function teacherForced(ref: ModelWeights, engine: Engine, positions: number): { top1: number; meanKl: number } {
  const refLogits: Float32Array[] = [];
  const toks = generate(new FloatEngine(ref), { tokens: positions, onLogits: (_, l) => refLogits.push(Float32Array.from(l)) });
  const forced = [1, ...toks];
  let agree = 0;
  let kl = 0;
  for (let p = 0; p < positions; p++) {
    const l = engine.forward(forced[p]!, p);
    if (argmax(l) === argmax(refLogits[p]!)) agree++;
    const P = softmax(refLogits[p]!);
    const Q = softmax(l);
    kl += P.reduce((a, pv, i) => a + (pv > 0 ? pv * Math.log(pv / Math.max(Q[i]!, 1e-30)) : 0), 0);
  }
  return { top1: agree / positions, meanKl: kl / positions };
}

/** The model with every linear layer (and the classifier) N:M pruned by magnitude. */
export function pruneModel(w: ModelWeights, pattern: Pattern): ModelWeights {
  const c = w.config;
  const kv = (c.dim * c.nKvHeads) / c.nHeads;
  const pr = (m: Float32Array, rows: number, K: number) => pruneNM(m, rows, K, pattern);
  return {
    ...w,
    layers: w.layers.map((l) => ({ ...l, wq: pr(l.wq, c.dim, c.dim), wk: pr(l.wk, kv, c.dim), wv: pr(l.wv, kv, c.dim), wo: pr(l.wo, c.dim, c.dim), w1: pr(l.w1, c.hiddenDim, c.dim), w3: pr(l.w3, c.hiddenDim, c.dim), w2: pr(l.w2, c.dim, c.hiddenDim) })),
    wcls: pr(w.wcls, c.vocabSize, c.dim),
  };
}
